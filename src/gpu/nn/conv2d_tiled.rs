//! Host side of shaders/nn/conv2d_tiled.wgsl (CPU twin: src/cpu/nn/conv2d.rs, the direct
//! kernel's, since a conv is a conv): the workgroup-tiled implicit-GEMM conv, the variant for
//! hardware GPUs, where every fast convolution stages its operands in workgroup memory (see
//! /work/shared/anchors: llama.cpp's Vulkan conv2d_mm, gpu.cpp's matmul). It reads the same
//! uploaded weights (\[K\]\[cout_padded\]) and bias as the direct kernel and runs every fused
//! option of a conv's arguments (`ConvArgs`) but Winograd's products (which stay with the direct kernel: a
//! Winograd conv is three stages of its own).
//!
//! Which kernel a conv runs is data, [`ConvKernel`], chosen when the model is uploaded
//! (`UNetOptions::conv`, or `DDPM_KERNEL` through `UNetOptions::from_env`); the default is the
//! direct kernel, tuned for llvmpipe, with the bits it always had. The tiled variant is opt-in.

use super::conv2d::{ConvArgs, GpuConv2d};
use super::params::TiledConvParams;
use super::{grid_xz, u32_of, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::{flags, Kernel};
use crate::gpu::Context;

pub use crate::gpu::runtime::shaders::tiles::{ConvKernel, TileShape};

/// How the UNet's convs (and its attentions' products) run, handed down from `UNetOptions`
/// to every layer that uploads one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvSelection {
    /// 3x3 stride-1 convs as Winograd F(2x2, 3x3) (`UNetOptions::winograd`).
    pub winograd: bool,
    /// The kernel of every direct run (`UNetOptions::conv`).
    pub kernel: ConvKernel,
    /// The attentions' path where forced (`UNetOptions::attention`); else the device's.
    pub attention: Option<super::attention_flash::AttentionKind>,
    /// How weights and activations are stored (`UNetOptions::precision`).
    pub precision: crate::gpu::runtime::Precision,
}

impl ConvSelection {
    /// `conv` uploaded as selected; `winograd` where the layer may run as Winograd (its
    /// 1x1 shortcuts, downsamplers and attention projections never do).
    pub fn upload(
        &self,
        ctx: &Context,
        conv: &crate::nn::Conv2d,
        name: &str,
        winograd: bool,
    ) -> Result<GpuConv2d> {
        let w = self.winograd && winograd;
        GpuConv2d::stored_as(ctx, conv, name, (w, self.kernel), self.precision)
    }
}

/// Whether the tiled kernel runs every option `a` asks for: all but Winograd's products.
/// Where it cannot, the conv runs on the direct kernel (never with an option dropped).
pub(crate) fn supports(a: &ConvArgs<'_>) -> bool {
    a.products.is_none()
}

/// The stage running `conv` as `a` says on the tiled kernel with `shape` (checked against the
/// device's limits again here: a `GpuConv2d` may outlive the options it was made with).
pub(crate) fn stage(
    conv: &GpuConv2d,
    ctx: &Context,
    a: &ConvArgs<'_>,
    shape: TileShape,
    weights: &wgpu::Buffer,
) -> Result<Stage> {
    shape.check(ctx.limits())?;
    if !supports(a) {
        return Err(Error::Unsupported(format!(
            "{}: Winograd's products do not run on {}",
            conv.name, shape.name
        )));
    }
    let up = if a.upsample { 2 } else { 1 };
    let (eh, ew) = (a.h * up, a.w * up);
    let k = conv.kernel;
    let (oh, ow) = conv.output_size(eh, ew).ok_or_else(|| {
        Error::ShapeMismatch(format!(
            "{}: a {eh}x{ew} input is smaller than its {k}x{k} kernel",
            conv.name
        ))
    })?;
    let what = |s: &str| format!("{} {s}", conv.name);
    let n_total = a
        .batch
        .checked_mul(oh * ow)
        .ok_or_else(|| Error::Unsupported(what("has too many pixels")))?;
    let n_tiles = n_total.div_ceil(shape.bn as usize);
    let p = TiledConvParams {
        batch: u32_of(&what("batch"), a.batch)?,
        cin: u32_of(&what("channels"), conv.cin)?,
        h: u32_of(&what("height"), a.h)?,
        w: u32_of(&what("width"), a.w)?,
        cout: u32_of(&what("channels"), a.keep.min(conv.cout))?,
        oh: u32_of(&what("height"), oh)?,
        ow: u32_of(&what("width"), ow)?,
        cout_padded: u32_of(&what("channels"), conv.cout_padded)?,
        pad_top: u32_of(&what("padding"), conv.pad_top)?,
        pad_left: u32_of(&what("padding"), conv.pad_left)?,
        k_total: u32_of(&what("K"), conv.cin * k * k)?,
        n_total: u32_of(&what("pixels"), n_total)?,
        n_tiles: u32_of(&what("tiles"), n_tiles)?,
        in_offset: a.input.offset,
        in_bstride: a.input.bstride,
        out_offset: a.output.offset,
        out_bstride: a.output.bstride,
        res_offset: a.residual.map_or(0, |r| r.0.offset),
        res_bstride: a.residual.map_or(0, |r| r.0.bstride),
        temb_offset: a.temb.map_or(0, |t| t.1),
        temb_stride: a.temb.map_or(0, |t| t.2),
        split: a.split.map_or(u32::MAX, |s| s.0),
        out2_offset: a.split.map_or(0, |s| s.1.offset),
        out2_bstride: a.split.map_or(0, |s| s.1.bstride),
        out_scale: a.residual.map_or(1.0, |r| r.1),
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    let mut bits = a.option_bits() | conv.precision.bits();
    for (on, bit) in [
        (shape == TileShape::SMALL, flags::TILE_SMALL),
        (k == 3, flags::KSIZE3),
        (conv.stride == 2, flags::STRIDE2),
    ] {
        if on {
            bits |= bit;
        }
    }
    let buffers = a.bindings(weights, &conv.bias);
    let m_tiles = conv.cout_padded.div_ceil(shape.bm as usize);
    let grid = grid_xz(
        ctx,
        u32_of(&what("workgroups"), n_tiles)?,
        u32_of(&what("channel tiles"), m_tiles)?,
    )?;
    let flops = 2 * (a.batch * conv.cout * conv.cin * k * k * oh * ow) as u64;
    Ok(Stage::new(ctx, Kernel::Conv2dTiled, bits, &p, &buffers, grid)?.with_flops(flops))
}
