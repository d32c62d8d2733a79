//! `ResnetBlock2D`: norm1, SiLU, conv1 (3x3), + the projected time embedding, norm2, SiLU,
//! conv2 (3x3), + the (1x1-projected where channels change) input, / `output_scale_factor`.

use super::conv2d::{Conv2d, Padding};
use super::group_norm::GroupNorm;
use super::linear::Linear;
use super::weights::VarBuilder;
use crate::error::Result;

/// How a resnet takes the time embedding (`resnet_time_scale_shift`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeEmbeddingNorm {
    /// "default": h = norm2(conv1(.) + proj(silu(temb))).
    Default,
    /// "scale_shift": proj gives 2 x out channels (scale, shift): h = norm2(conv1(.)) x (1 +
    /// scale) + shift.
    ScaleShift,
}

/// diffusers' `ResnetBlock2D` as UNet2DModel builds it (pre-norm, no up/down, SiLU).
#[derive(Clone, Debug, PartialEq)]
pub struct ResnetBlock2D {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Over the input.
    pub norm1: GroupNorm,
    /// in -> out, 3x3, padding 1.
    pub conv1: Conv2d,
    /// temb -> out (Default) or 2 x out (ScaleShift), applied to silu(temb).
    pub time_emb_proj: Linear,
    /// Over conv1's output.
    pub norm2: GroupNorm,
    /// out -> out, 3x3, padding 1.
    pub conv2: Conv2d,
    /// in -> out, 1x1, where in != out; the identity otherwise.
    pub conv_shortcut: Option<Conv2d>,
    /// (shortcut + h) is divided by this.
    pub output_scale_factor: f64,
    /// Default or ScaleShift.
    pub time_embedding_norm: TimeEmbeddingNorm,
}

/// The hyper-parameters a block passes to each of its resnets.
#[derive(Clone, Copy, Debug)]
pub struct ResnetParams {
    /// Width of the time embedding.
    pub temb_channels: usize,
    /// Groups of both norms.
    pub groups: usize,
    /// Epsilon of both norms.
    pub eps: f64,
    /// Divides the output.
    pub output_scale_factor: f64,
    /// Default or ScaleShift.
    pub time_embedding_norm: TimeEmbeddingNorm,
}

impl ResnetBlock2D {
    /// Reads the block below `vb`.
    pub fn new(
        vb: &VarBuilder,
        in_channels: usize,
        out_channels: usize,
        p: ResnetParams,
    ) -> Result<Self> {
        let proj_out = match p.time_embedding_norm {
            TimeEmbeddingNorm::Default => out_channels,
            TimeEmbeddingNorm::ScaleShift => 2 * out_channels,
        };
        let same = Padding::uniform(1);
        Ok(ResnetBlock2D {
            in_channels,
            out_channels,
            norm1: GroupNorm::new(&vb.pp("norm1"), p.groups, in_channels, p.eps)?,
            conv1: Conv2d::new(&vb.pp("conv1"), in_channels, out_channels, 3, 1, same)?,
            time_emb_proj: Linear::new(&vb.pp("time_emb_proj"), p.temb_channels, proj_out)?,
            norm2: GroupNorm::new(&vb.pp("norm2"), p.groups, out_channels, p.eps)?,
            conv2: Conv2d::new(&vb.pp("conv2"), out_channels, out_channels, 3, 1, same)?,
            conv_shortcut: (in_channels != out_channels)
                .then(|| {
                    let vb = vb.pp("conv_shortcut");
                    Conv2d::new(&vb, in_channels, out_channels, 1, 1, Padding::uniform(0))
                })
                .transpose()?,
            output_scale_factor: p.output_scale_factor,
            time_embedding_norm: p.time_embedding_norm,
        })
    }

    /// FLOPs of one sample at (h, w): both convs, the shortcut and the time projection.
    pub fn flops(&self, h: usize, w: usize) -> u64 {
        [
            self.conv1.flops(h, w),
            self.conv2.flops(h, w),
            self.conv_shortcut.as_ref().map_or(0, |c| c.flops(h, w)),
            self.time_emb_proj.flops(1),
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    /// Weights and biases.
    pub fn num_parameters(&self) -> usize {
        self.norm1.num_parameters()
            + self.conv1.num_parameters()
            + self.time_emb_proj.num_parameters()
            + self.norm2.num_parameters()
            + self.conv2.num_parameters()
            + self
                .conv_shortcut
                .as_ref()
                .map_or(0, |c| c.num_parameters())
    }
}
