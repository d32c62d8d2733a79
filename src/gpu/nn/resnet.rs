//! `ResnetBlock2D` on the device (CPU twin: src/cpu/nn/resnet.rs) as the layer kernels: norm1
//! with SiLU fused, conv1 with the time projection added in its epilogue (default), norm2 with
//! the scale-shift (scale_shift) and SiLU fused, the 1x1 shortcut where the channels change,
//! and conv2 whose epilogue adds the shortcut and divides by output_scale_factor. The time
//! projection itself is one column range of the model's stacked projections (every resnet's
//! `time_emb_proj` in one linear over silu(temb), see `time_embedding.rs`).

use super::conv2d::GpuConv2d;
use super::conv2d_op::ConvOp;
use super::conv2d_tiled::ConvSelection;
use super::graph::{Graph, View};
use super::group_norm::{GpuGroupNorm, NormOp};
use super::linear::LinearOp;
use crate::error::{Error, Result};
use crate::gpu::Context;
use crate::nn::{ResnetBlock2D, TimeEmbeddingNorm};

/// A resnet block on the device.
#[derive(Debug)]
pub struct GpuResnet {
    name: String,
    in_channels: usize,
    out_channels: usize,
    norm1: GpuGroupNorm,
    conv1: GpuConv2d,
    norm2: GpuGroupNorm,
    conv2: GpuConv2d,
    shortcut: Option<GpuConv2d>,
    output_scale_factor: f32,
    scale_shift: bool,
    /// Where its time projection starts in the stacked projections.
    temb_col: usize,
}

impl GpuResnet {
    /// Upload `block` (`name` labels it); its time projection is column `temb_col` on of the
    /// stacked projections; its convs as `sel` says.
    pub fn new(
        ctx: &Context,
        block: &ResnetBlock2D,
        name: &str,
        temb_col: usize,
        sel: ConvSelection,
    ) -> Result<Self> {
        let proj_out = match block.time_embedding_norm {
            TimeEmbeddingNorm::Default => block.out_channels,
            TimeEmbeddingNorm::ScaleShift => 2 * block.out_channels,
        };
        let sizes = block.time_emb_proj.out_features == proj_out
            && block.conv1.in_channels == block.in_channels
            && block.conv1.out_channels == block.out_channels
            && block.conv2.in_channels == block.out_channels
            && block.conv2.out_channels == block.out_channels
            && block.norm1.channels == block.in_channels
            && block.norm2.channels == block.out_channels
            && (block.conv_shortcut.is_some() || block.in_channels == block.out_channels);
        if !sizes {
            return Err(Error::ShapeMismatch(format!(
                "{name}: its weights do not match its declared sizes"
            )));
        }
        let sub = |s: &str| format!("{name}.{s}");
        Ok(GpuResnet {
            name: name.to_string(),
            in_channels: block.in_channels,
            out_channels: block.out_channels,
            norm1: GpuGroupNorm::stored_as(ctx, &block.norm1, &sub("norm1"), sel.precision)?,
            conv1: sel.upload(ctx, &block.conv1, &sub("conv1"), true)?,
            norm2: GpuGroupNorm::stored_as(ctx, &block.norm2, &sub("norm2"), sel.precision)?,
            conv2: sel.upload(ctx, &block.conv2, &sub("conv2"), true)?,
            shortcut: block
                .conv_shortcut
                .as_ref()
                .map(|c| sel.upload(ctx, c, &sub("conv_shortcut"), false))
                .transpose()?,
            output_scale_factor: block.output_scale_factor as f32,
            scale_shift: block.time_embedding_norm == TimeEmbeddingNorm::ScaleShift,
            temb_col,
        })
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Bytes of its weights on the device.
    pub fn device_bytes(&self) -> u64 {
        self.norm1.device_bytes()
            + self.conv1.device_bytes()
            + self.norm2.device_bytes()
            + self.conv2.device_bytes()
            + self.shortcut.as_ref().map_or(0, GpuConv2d::device_bytes)
    }

    /// Append the block's ops reading `x` and writing `out`; the graph's time projections must
    /// be set.
    pub(crate) fn emit<'m>(&'m self, g: &mut Graph<'m>, x: View, out: View) -> Result<()> {
        if x.channels != self.in_channels || out.channels != self.out_channels {
            return Err(Error::ShapeMismatch(format!(
                "{} takes {} channels to {}, got {} to {}",
                self.name, self.in_channels, self.out_channels, x.channels, out.channels
            )));
        }
        let (c, h, w) = (self.out_channels, x.h, x.w);
        let h1 = g.activation(&format!("{} norm1", self.name), x.channels, h, w);
        g.push(NormOp {
            norm: &self.norm1,
            input: x,
            output: h1,
            silu: true,
            scale_shift: None,
        });
        let c1 = g.activation(&format!("{} conv1", self.name), c, h, w);
        ConvOp {
            temb: (!self.scale_shift).then_some(self.temb_col),
            ..ConvOp::new(&self.conv1, h1, c1)
        }
        .emit(g);
        let h2 = g.activation(&format!("{} norm2", self.name), c, h, w);
        g.push(NormOp {
            norm: &self.norm2,
            input: c1,
            output: h2,
            silu: true,
            scale_shift: self.scale_shift.then_some(self.temb_col),
        });
        let residual = match &self.shortcut {
            Some(conv) => {
                let s = g.activation(&format!("{} shortcut", self.name), c, h, w);
                ConvOp::new(conv, x, s).emit(g);
                s
            }
            None => x,
        };
        ConvOp {
            residual: Some((residual, self.output_scale_factor)),
            ..ConvOp::new(&self.conv2, h2, out)
        }
        .emit(g);
        Ok(())
    }
}

/// Run `block` once on `x` ([B, C, H, W]) with the time embedding `temb` ([B, temb_channels]):
/// uploads, runs, reads back. silu(temb) is taken on the host here (in the UNet it is fused into
/// the time MLP's last layer).
pub fn forward(
    ctx: &Context,
    block: &ResnetBlock2D,
    x: &[f32],
    shape: [usize; 4],
    temb: &[f32],
) -> Result<Vec<f32>> {
    let [n, c, h, w] = shape;
    let layer = GpuResnet::new(ctx, block, "resnet", 0, ConvSelection::default())?;
    let proj = super::linear::GpuLinear::new(ctx, &block.time_emb_proj, "resnet.time_emb_proj")?;
    let tw = block.time_emb_proj.in_features;
    if temb.len() != n * tw {
        return Err(Error::ShapeMismatch(format!(
            "resnet time embedding has {} values for {n} samples of {tw}",
            temb.len()
        )));
    }
    let silu: Vec<f32> = temb.iter().map(|&v| v / (1.0 + (-v).exp())).collect();
    let mut g = Graph::default();
    let t = g.tensor("temb", tw, super::graph::Home::Internal);
    let p = g.tensor(
        "projection",
        proj.out_features(),
        super::graph::Home::Internal,
    );
    g.push(LinearOp {
        lin: &proj,
        input: Some(t),
        output: p,
        class: false,
        silu: false,
    });
    g.temb = Some(p);
    let input = g.activation("resnet input", c, h, w);
    let output = g.activation("resnet output", layer.out_channels, h, w);
    layer.emit(&mut g, input, output)?;
    super::plan::run_layer(ctx, &g, &[(input.tensor, x), (t, &silu)], output.tensor, n)
}
