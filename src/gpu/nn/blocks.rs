//! The UNet's blocks on the device (CPU twin: src/cpu/nn/blocks.rs), uploaded as the layer
//! tree of [`crate::nn::UNet2D`]: each block its resnets, attentions and resampler, and the whole
//! model's layers with the resnets' time projections stacked in the order their columns were
//! handed out (the walk of [`UNetLayers::new`]).

use super::attention::GpuAttention;
use super::conv2d::GpuConv2d;
use super::conv2d_tiled::ConvSelection;
use super::group_norm::GpuGroupNorm;
use super::resnet::GpuResnet;
use super::time_embedding::GpuTimeEmbedding;
use crate::error::Result;
use crate::gpu::Context;
use crate::nn::{Attention, Linear, ResnetBlock2D, UNet2D};

/// A down block: resnets (each followed by its attention in AttnDownBlock2D) and the
/// downsampler.
#[derive(Debug)]
pub(crate) struct GpuDownBlock {
    pub resnets: Vec<GpuResnet>,
    pub attentions: Vec<GpuAttention>,
    pub downsampler: Option<GpuConv2d>,
}

/// The mid block: resnets[0], then (attention, resnet) pairs.
#[derive(Debug)]
pub(crate) struct GpuMidBlock {
    pub resnets: Vec<GpuResnet>,
    pub attentions: Vec<GpuAttention>,
}

/// An up block: resnets over [hidden, skip] (each followed by its attention in AttnUpBlock2D)
/// and the upsampler (its conv reads the nearest 2x enlargement).
#[derive(Debug)]
pub(crate) struct GpuUpBlock {
    pub resnets: Vec<GpuResnet>,
    pub attentions: Vec<GpuAttention>,
    pub upsampler: Option<GpuConv2d>,
}

/// Every layer of the model on the device.
#[derive(Debug)]
pub(crate) struct UNetLayers {
    pub conv_in: GpuConv2d,
    pub time_embedding: GpuTimeEmbedding,
    pub down_blocks: Vec<GpuDownBlock>,
    pub mid_block: Option<GpuMidBlock>,
    pub up_blocks: Vec<GpuUpBlock>,
    pub conv_norm_out: GpuGroupNorm,
    pub conv_out: GpuConv2d,
    /// How every weight and activation is stored.
    pub precision: crate::gpu::runtime::Precision,
}

/// Hands out the columns of the stacked time projections as the resnets are uploaded.
struct Columns<'a> {
    next: usize,
    projections: Vec<&'a Linear>,
    sel: ConvSelection,
}

impl<'a> Columns<'a> {
    fn resnet(&mut self, ctx: &Context, r: &'a ResnetBlock2D, name: &str) -> Result<GpuResnet> {
        let col = self.next;
        self.next += r.time_emb_proj.out_features;
        self.projections.push(&r.time_emb_proj);
        GpuResnet::new(ctx, r, name, col, self.sel)
    }

    fn resnets(
        &mut self,
        ctx: &Context,
        rs: &'a [ResnetBlock2D],
        prefix: &str,
    ) -> Result<Vec<GpuResnet>> {
        rs.iter()
            .enumerate()
            .map(|(i, r)| self.resnet(ctx, r, &format!("{prefix}.resnets.{i}")))
            .collect()
    }
}

fn attentions(
    ctx: &Context,
    a: &[Attention],
    prefix: &str,
    sel: ConvSelection,
) -> Result<Vec<GpuAttention>> {
    a.iter()
        .enumerate()
        .map(|(i, a)| GpuAttention::new(ctx, a, &format!("{prefix}.attentions.{i}"), sel))
        .collect()
}

impl UNetLayers {
    /// Upload every layer of `model`, with a sinusoid table for `num_timesteps` timesteps; the
    /// convs as `sel` says (Winograd for the 3x3 stride-1 ones, and the kernel).
    pub fn new(
        ctx: &Context,
        model: &UNet2D,
        num_timesteps: usize,
        sel: ConvSelection,
    ) -> Result<Self> {
        let mut cols = Columns {
            next: 0,
            projections: Vec::new(),
            sel,
        };
        let conv = |c: &crate::nn::Conv2d, name: &str| sel.upload(ctx, c, name, true);
        let mut down_blocks = Vec::with_capacity(model.down_blocks.len());
        for (i, b) in model.down_blocks.iter().enumerate() {
            let p = format!("down_blocks.{i}");
            down_blocks.push(GpuDownBlock {
                resnets: cols.resnets(ctx, &b.resnets, &p)?,
                attentions: attentions(ctx, &b.attentions, &p, sel)?,
                downsampler: b
                    .downsampler
                    .as_ref()
                    .map(|d| sel.upload(ctx, &d.conv, &format!("{p}.downsamplers.0"), false))
                    .transpose()?,
            });
        }
        let mid_block = match &model.mid_block {
            Some(m) => Some(GpuMidBlock {
                resnets: cols.resnets(ctx, &m.resnets, "mid_block")?,
                attentions: attentions(ctx, &m.attentions, "mid_block", sel)?,
            }),
            None => None,
        };
        let mut up_blocks = Vec::with_capacity(model.up_blocks.len());
        for (i, b) in model.up_blocks.iter().enumerate() {
            let p = format!("up_blocks.{i}");
            up_blocks.push(GpuUpBlock {
                resnets: cols.resnets(ctx, &b.resnets, &p)?,
                attentions: attentions(ctx, &b.attentions, &p, sel)?,
                upsampler: b
                    .upsampler
                    .as_ref()
                    .map(|u| conv(&u.conv, &format!("{p}.upsamplers.0")))
                    .transpose()?,
            });
        }
        Ok(UNetLayers {
            conv_in: conv(&model.conv_in, "conv_in")?,
            time_embedding: GpuTimeEmbedding::new(
                ctx,
                (&model.time_embedding, model.class_embedding.as_ref()),
                num_timesteps,
                &cols.projections,
                sel.precision,
            )?,
            down_blocks,
            mid_block,
            up_blocks,
            conv_norm_out: GpuGroupNorm::stored_as(
                ctx,
                &model.conv_norm_out,
                "conv_norm_out",
                sel.precision,
            )?,
            conv_out: conv(&model.conv_out, "conv_out")?,
            precision: sel.precision,
        })
    }

    /// Bytes of every weight, bias and table on the device.
    pub fn device_bytes(&self) -> u64 {
        let res = |r: &[GpuResnet]| r.iter().map(GpuResnet::device_bytes).sum::<u64>();
        let att = |a: &[GpuAttention]| a.iter().map(GpuAttention::device_bytes).sum::<u64>();
        let conv = |c: &Option<GpuConv2d>| c.as_ref().map_or(0, GpuConv2d::device_bytes);
        let mut n = self.conv_in.device_bytes() + self.time_embedding.device_bytes();
        for b in &self.down_blocks {
            n += res(&b.resnets) + att(&b.attentions) + conv(&b.downsampler);
        }
        if let Some(m) = &self.mid_block {
            n += res(&m.resnets) + att(&m.attentions);
        }
        for b in &self.up_blocks {
            n += res(&b.resnets) + att(&b.attentions) + conv(&b.upsampler);
        }
        n + self.conv_norm_out.device_bytes() + self.conv_out.device_bytes()
    }
}
