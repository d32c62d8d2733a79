//! `UNet2D`: diffusers' `UNet2DModel` as a tree of layers: conv_in, the time embedding, the down
//! blocks, the mid block, the up blocks, conv_norm_out, SiLU, conv_out. Built from a validated
//! [`UNetConfig`] and the weights under the model's root, with every shape checked.

use super::blocks::{AttentionParams, DownBlock, MidBlock, UpBlock, UpChannels};
use super::class_embedding::{ClassEmbedType, ClassEmbedding, ClassTable};
use super::config::UNetConfig;
use super::conv2d::{Conv2d, Padding};
use super::group_norm::GroupNorm;
use super::resnet::{ResnetParams, TimeEmbeddingNorm};
use super::time_embedding::{TimeEmbedding, Timesteps};
use super::weights::VarBuilder;
use crate::error::{Error, Result};

/// The whole model. Forward (see `cpu::nn::unet::forward`): x = 2x - 1 if
/// `center_input_sample`; emb = time_embedding(t), plus class_embedding(label) for a
/// class-conditional model (a table row, the class MLP of time_proj(label), or the caller's
/// row); h = conv_in(x), pushed on the skip stack;
/// each down block (pushing its skips); the mid block; each up block (popping them); then
/// conv_out(silu(conv_norm_out(h))).
#[derive(Clone, Debug, PartialEq)]
pub struct UNet2D {
    /// The config it was built from.
    pub config: UNetConfig,
    /// in_channels -> `block_out_channels[0]`, 3x3, padding 1.
    pub conv_in: Conv2d,
    /// The sinusoid and its MLP.
    pub time_embedding: TimeEmbedding,
    /// `class_embedding` of a class-conditional model, of the config's `class_embed_type`.
    pub class_embedding: Option<ClassEmbedding>,
    /// `down_blocks.{i}`, top level first.
    pub down_blocks: Vec<DownBlock>,
    /// `mid_block`, unless `mid_block_type` is null.
    pub mid_block: Option<MidBlock>,
    /// `up_blocks.{i}`, bottom level first.
    pub up_blocks: Vec<UpBlock>,
    /// Over `block_out_channels[0]` channels, followed by SiLU.
    pub conv_norm_out: GroupNorm,
    /// `block_out_channels[0]` -> out_channels, 3x3, padding 1.
    pub conv_out: Conv2d,
}

impl UNet2D {
    /// Builds the model of `config` from the weights at `vb` (the model's root). Every tensor
    /// is checked for presence and shape; a group count that does not divide its channels, an
    /// attention without a head, or skip channels that do not line up are errors.
    pub fn new(config: &UNetConfig, vb: &VarBuilder) -> Result<Self> {
        let boc = &config.block_out_channels;
        let (Some(&c0), Some(&c_last)) = (boc.first(), boc.last()) else {
            return Err(Error::UnsupportedModel("no block_out_channels".into()));
        };
        let levels = boc.len();
        if config.down_block_types.len() != levels || config.up_block_types.len() != levels {
            return Err(Error::UnsupportedModel(format!(
                "{levels} levels with {} down and {} up blocks",
                config.down_block_types.len(),
                config.up_block_types.len()
            )));
        }
        let same = Padding::uniform(1);
        let temb = config.time_embed_dim();
        let time_proj = Timesteps {
            num_channels: c0,
            flip_sin_to_cos: config.flip_sin_to_cos,
            downscale_freq_shift: config.freq_shift,
        };
        let resnet = ResnetParams {
            temb_channels: temb,
            groups: config.norm_num_groups,
            eps: config.norm_eps,
            output_scale_factor: 1.0,
            time_embedding_norm: config.resnet_time_scale_shift,
        };
        let attention = AttentionParams {
            head_dim: config.attention_head_dim,
            norm_groups: Some(config.norm_num_groups),
            eps: config.norm_eps,
            rescale_output_factor: 1.0,
        };
        let conv_in = Conv2d::new(&vb.pp("conv_in"), config.in_channels, c0, 3, 1, same)?;
        let time_embedding = TimeEmbedding::new(&vb.pp("time_embedding"), time_proj.clone(), temb)?;
        let vc = vb.pp("class_embedding");
        let class_embedding = match (config.class_embed_type, config.num_class_embeds) {
            (None, None) => None,
            (None, Some(n)) => Some(ClassEmbedding::Table(ClassTable::new(&vc, n, temb)?)),
            // diffusers: TimestepEmbedding(timestep_input_dim, time_embed_dim) over the
            // model's own time_proj (so the same sinusoid width and settings).
            (Some(ClassEmbedType::Timestep), num_class_embeds) => Some(ClassEmbedding::Timestep {
                mlp: TimeEmbedding::new(&vc, time_proj, temb)?,
                num_class_embeds,
            }),
            (Some(ClassEmbedType::Identity), _) => Some(ClassEmbedding::Identity { width: temb }),
        };

        let mut down_blocks = Vec::with_capacity(levels);
        let mut out = c0;
        for (i, (&kind, &c)) in config.down_block_types.iter().zip(boc).enumerate() {
            let input = out;
            out = c;
            let padding = (i + 1 < levels).then_some(config.downsample_padding);
            let vb = vb.pp("down_blocks").pp(i);
            let layers = config.layers_per_block;
            let block = DownBlock::new(&vb, kind, layers, input, out, resnet, attention, padding)?;
            down_blocks.push(block);
        }

        let mid_block = if config.mid_block {
            let mid_resnet = ResnetParams {
                output_scale_factor: config.mid_block_scale_factor,
                ..resnet
            };
            // diffusers: attn_groups = attn_norm_num_groups, else norm_num_groups with the
            // default time scale shift, else no norm.
            let default_shift = config.resnet_time_scale_shift == TimeEmbeddingNorm::Default;
            let mid_attention = config.add_attention.then_some(AttentionParams {
                norm_groups: config
                    .attn_norm_num_groups
                    .or(default_shift.then_some(config.norm_num_groups)),
                rescale_output_factor: config.mid_block_scale_factor,
                ..attention
            });
            Some(MidBlock::new(
                &vb.pp("mid_block"),
                c_last,
                mid_resnet,
                mid_attention,
            )?)
        } else {
            None
        };

        let rev: Vec<usize> = boc.iter().rev().copied().collect();
        let mut up_blocks = Vec::with_capacity(levels);
        let mut out = c_last;
        for (i, (&kind, &c)) in config.up_block_types.iter().zip(&rev).enumerate() {
            let ch = UpChannels {
                in_channels: rev.get((i + 1).min(levels - 1)).copied().unwrap_or(c),
                prev_output_channels: out,
                out_channels: c,
            };
            out = c;
            let vb = vb.pp("up_blocks").pp(i);
            let layers = config.layers_per_block + 1;
            let up = i + 1 < levels;
            up_blocks.push(UpBlock::new(&vb, kind, layers, ch, resnet, attention, up)?);
        }
        let groups = config.norm_num_groups;
        let conv_norm_out = GroupNorm::new(&vb.pp("conv_norm_out"), groups, c0, config.norm_eps)?;
        let conv_out = Conv2d::new(&vb.pp("conv_out"), c0, config.out_channels, 3, 1, same)?;
        let model = UNet2D {
            config: config.clone(),
            conv_in,
            time_embedding,
            class_embedding,
            down_blocks,
            mid_block,
            up_blocks,
            conv_norm_out,
            conv_out,
        };
        model.check_skips()?;
        Ok(model)
    }

    /// Channels of every skip activation, in the order they are pushed (conv_in's output, then
    /// each down block's resnet/attention outputs and its downsampler's output).
    pub fn skip_channels(&self) -> Vec<usize> {
        let mut skips = vec![self.conv_in.out_channels];
        for block in &self.down_blocks {
            skips.extend(block.resnets.iter().map(|r| r.out_channels));
            skips.extend(block.downsampler.iter().map(|d| d.conv.out_channels));
        }
        skips
    }

    /// diffusers sizes up-block resnets by a formula; check it against the skip stack so the
    /// forward can never meet a channel mismatch.
    fn check_skips(&self) -> Result<()> {
        let mut skips = self.skip_channels();
        let mut hidden = self
            .down_blocks
            .last()
            .map_or(0, |b| b.resnets.last().map_or(0, |r| r.out_channels));
        for (i, block) in self.up_blocks.iter().enumerate() {
            for (j, r) in block.resnets.iter().enumerate() {
                let skip = skips.pop().unwrap_or(0);
                if r.in_channels != hidden + skip {
                    return Err(Error::UnsupportedModel(format!(
                        "up_blocks.{i}.resnets.{j} takes {} channels but receives {hidden} + skip {skip}",
                        r.in_channels
                    )));
                }
                hidden = r.out_channels;
            }
        }
        if !skips.is_empty() || hidden != self.conv_norm_out.channels {
            return Err(Error::UnsupportedModel(format!(
                "the up blocks leave {} skip activations unused or end with {hidden} channels",
                skips.len()
            )));
        }
        Ok(())
    }

    /// 2^(downsamplers): what a sample's height and width must be multiples of (`None` where
    /// it does not fit a usize).
    pub fn size_factor(&self) -> Option<usize> {
        u32::try_from(self.downsamplers())
            .ok()
            .and_then(|d| 1usize.checked_shl(d))
    }

    /// The number of stride-2 downsamplers.
    pub fn downsamplers(&self) -> usize {
        self.down_blocks
            .iter()
            .filter(|b| b.downsampler.is_some())
            .count()
    }

    /// Ok when (height, width) runs through the model: both non-zero multiples of
    /// 2^(levels - 1), so that every skip meets an upsampled activation of its own size (as
    /// torch.cat requires in diffusers).
    pub fn check_sample_size(&self, height: usize, width: usize) -> Result<()> {
        let (downs, factor) = (self.downsamplers(), self.size_factor().unwrap_or(0));
        if factor == 0
            || height == 0
            || width == 0
            || !height.is_multiple_of(factor)
            || !width.is_multiple_of(factor)
        {
            return Err(Error::ShapeMismatch(format!(
                "sample size {height}x{width} is not a non-zero multiple of {factor} ({downs} downsamplers)"
            )));
        }
        Ok(())
    }

    /// FLOPs of one forward of one sample at (height, width): 2 per multiply-add of every conv,
    /// linear (the time MLP and projections included) and attention matmul (q k^T and p v).
    /// Not counted: group norms, SiLU, softmax, residual adds and scalings, the upsampling copy,
    /// the sinusoid, biases. The walk follows the forward's sizes.
    pub fn flops(&self, height: usize, width: usize) -> u64 {
        let (mut h, mut w) = (height, width);
        let class = self.class_embedding.as_ref().map_or(0, |c| c.flops());
        let mut f = vec![self.conv_in.flops(h, w), self.time_embedding.flops(), class];
        for block in &self.down_blocks {
            for (i, r) in block.resnets.iter().enumerate() {
                f.push(r.flops(h, w));
                f.extend(
                    block
                        .attentions
                        .get(i)
                        .map(|a| a.flops(h.saturating_mul(w))),
                );
            }
            if let Some(d) = &block.downsampler {
                f.push(d.conv.flops(h, w));
                (h, w) = d.conv.output_size(h, w).unwrap_or((0, 0));
            }
        }
        if let Some(mid) = &self.mid_block {
            f.extend(mid.resnets.iter().map(|r| r.flops(h, w)));
            f.extend(mid.attentions.iter().map(|a| a.flops(h.saturating_mul(w))));
        }
        for block in &self.up_blocks {
            for (i, r) in block.resnets.iter().enumerate() {
                f.push(r.flops(h, w));
                f.extend(
                    block
                        .attentions
                        .get(i)
                        .map(|a| a.flops(h.saturating_mul(w))),
                );
            }
            if let Some(u) = &block.upsampler {
                f.push(u.flops(h, w));
                (h, w) = (h.saturating_mul(2), w.saturating_mul(2));
            }
        }
        f.push(self.conv_out.flops(h, w));
        f.into_iter().fold(0, u64::saturating_add)
    }

    /// Every weight and bias of the model.
    pub fn num_parameters(&self) -> usize {
        let res = |r: &super::resnet::ResnetBlock2D| r.num_parameters();
        let att = |a: &super::attention::Attention| a.num_parameters();
        let mut n = self.conv_in.num_parameters() + self.time_embedding.num_parameters();
        n += self
            .class_embedding
            .as_ref()
            .map_or(0, |c| c.num_parameters());
        for b in &self.down_blocks {
            n += b.resnets.iter().map(res).sum::<usize>()
                + b.attentions.iter().map(att).sum::<usize>();
            n += b
                .downsampler
                .as_ref()
                .map_or(0, |d| d.conv.num_parameters());
        }
        if let Some(m) = &self.mid_block {
            n += m.resnets.iter().map(res).sum::<usize>()
                + m.attentions.iter().map(att).sum::<usize>();
        }
        for b in &self.up_blocks {
            n += b.resnets.iter().map(res).sum::<usize>()
                + b.attentions.iter().map(att).sum::<usize>();
            n += b.upsampler.as_ref().map_or(0, |u| u.conv.num_parameters());
        }
        n + self.conv_norm_out.num_parameters() + self.conv_out.num_parameters()
    }
}
