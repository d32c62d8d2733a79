//! The UNet's blocks: `DownBlock2D` / `AttnDownBlock2D` (resnets, each followed by an attention
//! in the Attn kind, then an optional downsampler), `UNetMidBlock2D` (resnet, then attention +
//! resnet pairs), `UpBlock2D` / `AttnUpBlock2D` (resnets over [hidden, skip] concatenated on
//! channels, skips taken last-in first-out, then an optional upsampler).

use super::attention::Attention;
use super::downsample::Downsample2D;
use super::resnet::{ResnetBlock2D, ResnetParams};
use super::upsample::Upsample2D;
use super::weights::VarBuilder;
use crate::error::Result;

/// Which down block diffusers builds ("UNetRes" prefixes already removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownBlockKind {
    /// Resnets only.
    DownBlock2D,
    /// Each resnet followed by an attention layer.
    AttnDownBlock2D,
}

/// Which up block diffusers builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpBlockKind {
    /// Resnets only.
    UpBlock2D,
    /// Each resnet followed by an attention layer.
    AttnUpBlock2D,
}

/// What every attention layer of a block shares.
#[derive(Clone, Copy, Debug)]
pub struct AttentionParams {
    /// `attention_head_dim`; `None`: one head.
    pub head_dim: Option<usize>,
    /// Groups of its norm; `None`: no norm.
    pub norm_groups: Option<usize>,
    /// Epsilon of its norm.
    pub eps: f64,
    /// Divides its output.
    pub rescale_output_factor: f64,
}

/// A down block. Every resnet output (after its attention, if any) and the downsampler's
/// output are pushed on the skip stack, in that order.
#[derive(Clone, Debug, PartialEq)]
pub struct DownBlock {
    /// DownBlock2D or AttnDownBlock2D.
    pub kind: DownBlockKind,
    /// `resnets.{i}`: the first takes the block's input channels, the rest its output channels.
    pub resnets: Vec<ResnetBlock2D>,
    /// `attentions.{i}`, one per resnet for AttnDownBlock2D; empty for DownBlock2D.
    pub attentions: Vec<Attention>,
    /// `downsamplers.0`, on every level but the last.
    pub downsampler: Option<Downsample2D>,
}

impl DownBlock {
    /// Reads the block below `vb` (`down_blocks.{level}`).
    #[allow(clippy::too_many_arguments)] // the config slice of one block, as diffusers passes it
    pub fn new(
        vb: &VarBuilder,
        kind: DownBlockKind,
        num_layers: usize,
        in_channels: usize,
        out_channels: usize,
        resnet: ResnetParams,
        attention: AttentionParams,
        downsample_padding: Option<usize>,
    ) -> Result<Self> {
        let mut resnets = Vec::with_capacity(num_layers);
        let mut attentions = Vec::new();
        for i in 0..num_layers {
            let c_in = if i == 0 { in_channels } else { out_channels };
            resnets.push(ResnetBlock2D::new(
                &vb.pp("resnets").pp(i),
                c_in,
                out_channels,
                resnet,
            )?);
            if kind == DownBlockKind::AttnDownBlock2D {
                attentions.push(attention_at(
                    &vb.pp("attentions").pp(i),
                    out_channels,
                    attention,
                )?);
            }
        }
        let downsampler = downsample_padding
            .map(|p| Downsample2D::new(&vb.pp("downsamplers").pp(0), out_channels, p))
            .transpose()?;
        Ok(DownBlock {
            kind,
            resnets,
            attentions,
            downsampler,
        })
    }
}

fn attention_at(vb: &VarBuilder, channels: usize, p: AttentionParams) -> Result<Attention> {
    Attention::new(
        vb,
        channels,
        p.head_dim,
        p.norm_groups,
        p.eps,
        p.rescale_output_factor,
    )
}

/// `UNetMidBlock2D` with num_layers = 1, as UNet2DModel builds it: `resnets[0]`, then
/// (`attentions[i]` if any, `resnets[i + 1]`).
#[derive(Clone, Debug, PartialEq)]
pub struct MidBlock {
    /// `resnets.{i}`, two of them, channels -> channels.
    pub resnets: Vec<ResnetBlock2D>,
    /// `attentions.{i}`: one, or none when `add_attention` is false.
    pub attentions: Vec<Attention>,
}

impl MidBlock {
    /// Reads the block below `vb` (`mid_block`).
    pub fn new(
        vb: &VarBuilder,
        channels: usize,
        resnet: ResnetParams,
        attention: Option<AttentionParams>,
    ) -> Result<Self> {
        let resnets = (0..2)
            .map(|i| ResnetBlock2D::new(&vb.pp("resnets").pp(i), channels, channels, resnet))
            .collect::<Result<Vec<_>>>()?;
        let attentions = attention
            .map(|a| attention_at(&vb.pp("attentions").pp(0), channels, a))
            .into_iter()
            .collect::<Result<Vec<_>>>()?;
        Ok(MidBlock {
            resnets,
            attentions,
        })
    }
}

/// An up block: resnet i takes [hidden, skip] where skip is popped from the stack.
#[derive(Clone, Debug, PartialEq)]
pub struct UpBlock {
    /// UpBlock2D or AttnUpBlock2D.
    pub kind: UpBlockKind,
    /// `resnets.{i}`, layers_per_block + 1 of them.
    pub resnets: Vec<ResnetBlock2D>,
    /// `attentions.{i}`, one per resnet for AttnUpBlock2D; empty for UpBlock2D.
    pub attentions: Vec<Attention>,
    /// `upsamplers.0`, on every level but the last.
    pub upsampler: Option<Upsample2D>,
}

/// Channel counts of one up block, as diffusers' `get_up_block` receives them.
#[derive(Clone, Copy, Debug)]
pub struct UpChannels {
    /// Channels of the skip that the last resnet takes (the next level's output).
    pub in_channels: usize,
    /// Channels coming from the block below.
    pub prev_output_channels: usize,
    /// This level's channels.
    pub out_channels: usize,
}

impl UpBlock {
    /// Reads the block below `vb` (`up_blocks.{i}`). Resnet i takes
    /// (i == 0 ? prev_output : out) + (i == last ? in : out) channels, diffusers' rule; the
    /// model checks that this matches the skip stack.
    pub fn new(
        vb: &VarBuilder,
        kind: UpBlockKind,
        num_layers: usize,
        ch: UpChannels,
        resnet: ResnetParams,
        attention: AttentionParams,
        add_upsample: bool,
    ) -> Result<Self> {
        let mut resnets = Vec::with_capacity(num_layers);
        let mut attentions = Vec::new();
        for i in 0..num_layers {
            let skip = if i + 1 == num_layers {
                ch.in_channels
            } else {
                ch.out_channels
            };
            let hidden = if i == 0 {
                ch.prev_output_channels
            } else {
                ch.out_channels
            };
            let vb_r = vb.pp("resnets").pp(i);
            resnets.push(ResnetBlock2D::new(
                &vb_r,
                hidden + skip,
                ch.out_channels,
                resnet,
            )?);
            if kind == UpBlockKind::AttnUpBlock2D {
                attentions.push(attention_at(
                    &vb.pp("attentions").pp(i),
                    ch.out_channels,
                    attention,
                )?);
            }
        }
        let upsampler = add_upsample
            .then(|| Upsample2D::new(&vb.pp("upsamplers").pp(0), ch.out_channels))
            .transpose()?;
        Ok(UpBlock {
            kind,
            resnets,
            attentions,
            upsampler,
        })
    }
}
