//! `UNetConfig`: a diffusers `UNet2DModel` config.json, parsed with diffusers' defaults and
//! validated: everything the DDPM family uses is accepted, anything else is a one-line
//! [`Error::UnsupportedModel`] naming the option.

use super::blocks::{DownBlockKind, UpBlockKind};
use super::class_embedding::ClassEmbedType;
use super::json::JsonObject;
use super::resnet::TimeEmbeddingNorm;
use crate::error::{Error, Result};

/// A validated `UNet2DModel` config. Field names and meanings are diffusers' own.
#[derive(Clone, Debug, PartialEq)]
pub struct UNetConfig {
    /// `sample_size` as (height, width), if the config gives one (informational: any size
    /// divisible by 2^(number of downsamplers) runs).
    pub sample_size: Option<(usize, usize)>,
    /// Channels of the input sample.
    pub in_channels: usize,
    /// Channels of the output (2 x in_channels for a learned variance).
    pub out_channels: usize,
    /// Whether the input is mapped to 2 x - 1 first.
    pub center_input_sample: bool,
    /// `time_embedding_dim`; `None`: 4 x `block_out_channels[0]` (see [`Self::time_embed_dim`]).
    pub time_embedding_dim: Option<usize>,
    /// `freq_shift` (diffusers' `downscale_freq_shift` of the sinusoid).
    pub freq_shift: f64,
    /// Whether the sinusoid is ordered [cos, sin] instead of [sin, cos].
    pub flip_sin_to_cos: bool,
    /// One per level, top first ("UNetRes" prefixes removed, as diffusers does).
    pub down_block_types: Vec<DownBlockKind>,
    /// Whether there is a `UNetMidBlock2D` (`mid_block_type` is not null).
    pub mid_block: bool,
    /// One per level, bottom first.
    pub up_block_types: Vec<UpBlockKind>,
    /// Output channels of each level, top first.
    pub block_out_channels: Vec<usize>,
    /// Resnets per down block (up blocks have one more).
    pub layers_per_block: usize,
    /// The mid block's resnet `output_scale_factor` and attention `rescale_output_factor`.
    pub mid_block_scale_factor: f64,
    /// 1: a padded stride-2 conv; 0: pad right and bottom by one, then an unpadded one.
    pub downsample_padding: usize,
    /// Channels per attention head; `None`: one head over all channels.
    pub attention_head_dim: Option<usize>,
    /// Groups of every resnet norm, the attention norms of the down and up blocks, the output norm.
    pub norm_num_groups: usize,
    /// Groups of the mid block's attention norm; `None`: norm_num_groups with the default time
    /// scale shift, and no norm at all with scale_shift (diffusers' rule).
    pub attn_norm_num_groups: Option<usize>,
    /// Epsilon of every group norm.
    pub norm_eps: f64,
    /// How resnets take the time embedding.
    pub resnet_time_scale_shift: TimeEmbeddingNorm,
    /// Whether the mid block has its attention.
    pub add_attention: bool,
    /// `class_embed_type`: `None` (null) is a table where `num_class_embeds` is given and no
    /// class embedding otherwise, as in diffusers.
    pub class_embed_type: Option<ClassEmbedType>,
    /// `num_class_embeds`: with `class_embed_type` null, a class-conditional model whose
    /// `class_embedding` is a table of this many rows of the time-embedding width (`None`: no
    /// class embedding). diffusers' model ignores it for the other kinds; for `timestep` it
    /// gives the default null class (num_class_embeds - 1) here.
    pub num_class_embeds: Option<usize>,
}

/// The keys as read, before validation.
struct Raw {
    in_channels: usize,
    out_channels: usize,
    center_input_sample: bool,
    time_embedding_type: String,
    time_embedding_dim: Option<usize>,
    freq_shift: f64,
    flip_sin_to_cos: bool,
    down_block_types: Vec<String>,
    mid_block_type: Option<String>,
    up_block_types: Vec<String>,
    block_out_channels: Vec<usize>,
    layers_per_block: usize,
    mid_block_scale_factor: f64,
    downsample_padding: usize,
    downsample_type: String,
    upsample_type: String,
    act_fn: String,
    attention_head_dim: Option<usize>,
    norm_num_groups: Option<usize>,
    attn_norm_num_groups: Option<usize>,
    norm_eps: f64,
    resnet_time_scale_shift: String,
    add_attention: bool,
    class_embed_type: Option<String>,
    num_class_embeds: Option<usize>,
}

fn unsupported(what: String) -> Error {
    Error::UnsupportedModel(what)
}

fn strip_unet_res(name: &str) -> &str {
    name.strip_prefix("UNetRes").unwrap_or(name)
}

fn sample_size(v: &serde_json::Value) -> Option<(usize, usize)> {
    let dim = |v: &serde_json::Value| v.as_u64().and_then(|d| usize::try_from(d).ok());
    match v {
        serde_json::Value::Array(a) => match a.as_slice() {
            [h, w] => Some((dim(h)?, dim(w)?)),
            _ => None,
        },
        v => dim(v).map(|d| (d, d)),
    }
}

impl UNetConfig {
    /// Parse and validate the text of a config.json; `file` names it in errors. Absent keys
    /// take diffusers' defaults, except the ones `save_pretrained` always writes that define the
    /// architecture (`_class_name`, the block types, `block_out_channels`).
    pub fn from_json(text: &str, file: &str) -> Result<Self> {
        let o = JsonObject::parse(text, file)?;
        let class_name: String = o.required("_class_name")?;
        if class_name != "UNet2DModel" {
            return Err(unsupported(format!(
                "_class_name '{class_name}' (only UNet2DModel is supported)"
            )));
        }
        let sample_size =
            match o.get::<serde_json::Value>("sample_size")? {
                None | Some(serde_json::Value::Null) => None,
                Some(v) => Some(sample_size(&v).ok_or_else(|| {
                    o.error("sample_size", format!("{v} is not a size or [h, w]"))
                })?),
            };
        let raw = Raw {
            in_channels: o.or("in_channels", 3)?,
            out_channels: o.or("out_channels", 3)?,
            center_input_sample: o.or("center_input_sample", false)?,
            time_embedding_type: o.or("time_embedding_type", "positional".into())?,
            time_embedding_dim: o.or("time_embedding_dim", None)?,
            freq_shift: o.or("freq_shift", 0.0)?,
            flip_sin_to_cos: o.or("flip_sin_to_cos", true)?,
            down_block_types: o.required("down_block_types")?,
            mid_block_type: o.or("mid_block_type", Some("UNetMidBlock2D".into()))?,
            up_block_types: o.required("up_block_types")?,
            block_out_channels: o.required("block_out_channels")?,
            layers_per_block: o.or("layers_per_block", 2)?,
            mid_block_scale_factor: o.or("mid_block_scale_factor", 1.0)?,
            downsample_padding: o.or("downsample_padding", 1)?,
            downsample_type: o.or("downsample_type", "conv".into())?,
            upsample_type: o.or("upsample_type", "conv".into())?,
            act_fn: o.or("act_fn", "silu".into())?,
            attention_head_dim: o.or("attention_head_dim", Some(8))?,
            norm_num_groups: o.or("norm_num_groups", Some(32))?,
            attn_norm_num_groups: o.or("attn_norm_num_groups", None)?,
            norm_eps: o.or("norm_eps", 1e-5)?,
            resnet_time_scale_shift: o.or("resnet_time_scale_shift", "default".into())?,
            add_attention: o.or("add_attention", true)?,
            class_embed_type: o.or("class_embed_type", None)?,
            num_class_embeds: o.or("num_class_embeds", None)?,
        };
        Self::validate(raw, sample_size)
    }

    fn validate(raw: Raw, sample_size: Option<(usize, usize)>) -> Result<Self> {
        if raw.time_embedding_type != "positional" {
            let what = match raw.time_embedding_type.as_str() {
                "fourier" => " (Gaussian Fourier projection)",
                "learned" => " (learned nn.Embedding of timesteps)",
                _ => "",
            };
            return Err(unsupported(format!(
                "time_embedding_type '{}'{what}; only 'positional' is supported",
                raw.time_embedding_type
            )));
        }
        // diffusers' UNet2DModel builds these two; any other name would silently build no
        // class embedding there (the condition model's kinds), so it is refused by name here.
        let class_embed_type = match raw.class_embed_type.as_deref() {
            None => None,
            Some("timestep") => Some(ClassEmbedType::Timestep),
            Some("identity") => Some(ClassEmbedType::Identity),
            Some(other) => {
                return Err(unsupported(format!(
                    "class_embed_type '{other}' (UNet2DModel builds null, timestep and identity)"
                )))
            }
        };
        // A table of no rows; the other kinds ignore num_class_embeds (as diffusers does).
        if class_embed_type.is_none() && raw.num_class_embeds == Some(0) {
            return Err(unsupported("num_class_embeds 0".into()));
        }
        if !matches!(raw.act_fn.to_lowercase().as_str(), "silu" | "swish") {
            return Err(unsupported(format!("act_fn '{}' (only silu)", raw.act_fn)));
        }
        let levels = raw.block_out_channels.len();
        if levels == 0 || raw.down_block_types.len() != levels || raw.up_block_types.len() != levels
        {
            return Err(unsupported(format!(
                "{} block_out_channels with {} down and {} up block types (they must be equal and non-zero)",
                levels,
                raw.down_block_types.len(),
                raw.up_block_types.len()
            )));
        }
        if raw.in_channels == 0 || raw.out_channels == 0 || raw.block_out_channels.contains(&0) {
            return Err(unsupported("a channel count of 0".into()));
        }
        let down_block_types = raw
            .down_block_types
            .iter()
            .map(|n| match strip_unet_res(n) {
                "DownBlock2D" => Ok(DownBlockKind::DownBlock2D),
                "AttnDownBlock2D" => Ok(DownBlockKind::AttnDownBlock2D),
                other => Err(unsupported(format!(
                    "down block type '{other}' (supported: DownBlock2D, AttnDownBlock2D)"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let up_block_types = raw
            .up_block_types
            .iter()
            .map(|n| match strip_unet_res(n) {
                "UpBlock2D" => Ok(UpBlockKind::UpBlock2D),
                "AttnUpBlock2D" => Ok(UpBlockKind::AttnUpBlock2D),
                other => Err(unsupported(format!(
                    "up block type '{other}' (supported: UpBlock2D, AttnUpBlock2D)"
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let mid_block = match raw.mid_block_type.as_deref() {
            None => false,
            Some("UNetMidBlock2D") => true,
            Some(other) => {
                return Err(unsupported(format!(
                    "mid block type '{other}' (supported: UNetMidBlock2D or null)"
                )))
            }
        };
        // diffusers passes the down/upsample type only to the attention blocks, and only where
        // they resample; elsewhere the value is ignored, so only there is it checked.
        let attn_down = (0..levels.saturating_sub(1))
            .any(|i| down_block_types[i] == DownBlockKind::AttnDownBlock2D);
        if attn_down && raw.downsample_type != "conv" {
            return Err(unsupported(format!(
                "downsample_type '{}' (only conv)",
                raw.downsample_type
            )));
        }
        let attn_up =
            (0..levels.saturating_sub(1)).any(|i| up_block_types[i] == UpBlockKind::AttnUpBlock2D);
        if attn_up && raw.upsample_type != "conv" {
            return Err(unsupported(format!(
                "upsample_type '{}' (only conv)",
                raw.upsample_type
            )));
        }
        if raw.downsample_padding > 1 {
            return Err(unsupported(format!(
                "downsample_padding {} (only 0 and 1)",
                raw.downsample_padding
            )));
        }
        let resnet_time_scale_shift = match raw.resnet_time_scale_shift.as_str() {
            "default" => TimeEmbeddingNorm::Default,
            "scale_shift" => TimeEmbeddingNorm::ScaleShift,
            other => {
                return Err(unsupported(format!(
                    "resnet_time_scale_shift '{other}' (supported: default, scale_shift)"
                )))
            }
        };
        let norm_num_groups = raw.norm_num_groups.ok_or_else(|| {
            unsupported("norm_num_groups null (the resnet blocks need a group count)".into())
        })?;
        if norm_num_groups == 0 || raw.attn_norm_num_groups == Some(0) {
            return Err(unsupported("a group norm with 0 groups".into()));
        }
        if raw.attention_head_dim == Some(0) || raw.time_embedding_dim == Some(0) {
            return Err(unsupported(
                "attention_head_dim or time_embedding_dim 0".into(),
            ));
        }
        if raw.layers_per_block == 0 {
            return Err(unsupported("layers_per_block 0".into()));
        }
        let usable = raw.norm_eps.is_finite()
            && raw.norm_eps > 0.0
            && raw.mid_block_scale_factor.is_finite()
            && raw.mid_block_scale_factor != 0.0
            && raw.freq_shift.is_finite();
        if !usable {
            return Err(unsupported(format!(
                "norm_eps {}, mid_block_scale_factor {}, freq_shift {} (need finite, eps > 0, factor != 0)",
                raw.norm_eps, raw.mid_block_scale_factor, raw.freq_shift
            )));
        }
        Ok(UNetConfig {
            sample_size,
            in_channels: raw.in_channels,
            out_channels: raw.out_channels,
            center_input_sample: raw.center_input_sample,
            time_embedding_dim: raw.time_embedding_dim,
            freq_shift: raw.freq_shift,
            flip_sin_to_cos: raw.flip_sin_to_cos,
            down_block_types,
            mid_block,
            up_block_types,
            block_out_channels: raw.block_out_channels,
            layers_per_block: raw.layers_per_block,
            mid_block_scale_factor: raw.mid_block_scale_factor,
            downsample_padding: raw.downsample_padding,
            attention_head_dim: raw.attention_head_dim,
            norm_num_groups,
            attn_norm_num_groups: raw.attn_norm_num_groups,
            norm_eps: raw.norm_eps,
            resnet_time_scale_shift,
            add_attention: raw.add_attention,
            class_embed_type,
            num_class_embeds: raw.num_class_embeds,
        })
    }

    /// Width of the time embedding: `time_embedding_dim` or 4 x `block_out_channels[0]`.
    pub fn time_embed_dim(&self) -> usize {
        self.time_embedding_dim
            .unwrap_or_else(|| 4 * self.block_out_channels.first().copied().unwrap_or(0))
    }

    /// Number of stride-2 downsamplers (levels - 1): H and W must be multiples of 2^this.
    pub fn num_downsamples(&self) -> usize {
        self.block_out_channels.len().saturating_sub(1)
    }
}
