//! Winograd F(2x2, 3x3) for the 3x3 stride-1 convs (host side of
//! shaders/nn/winograd_input.wgsl and winograd_output.wgsl; the layer's CPU twin is the conv's,
//! src/cpu/nn/conv2d.rs, and the tests compare against it): per 2x2 output tile, 16 products
//! of transformed values instead of 36 multiply-adds. The weights' transform U = G g G^T is
//! computed in f64 here and stored as 16 matrices [C_in][C_out padded]; the input transform
//! writes 16 planes of B^T d B; the conv kernel multiplies them as 16 1x1 convs in one dispatch
//! (`ConvParams::o_tiles` and the product strides); the output transform takes A^T m A and the
//! conv's epilogue (bias, time projection, residual, split).
//!
//! An option (`UNetOptions::winograd`), off by default: on llvmpipe, where loads bound the
//! convs (see conv2d.rs), the products run at about half the direct kernel's FLOP rate (an
//! input load serves one tap instead of three), so the 2.25x fewer of them left the cifar10
//! forward where it was (see `UNetOptions`) with 3.4x the activation memory.

use super::conv2d::{BufView, GpuConv2d};
use super::params::WinogradParams;
use super::{u32_of, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::Grid;
use crate::gpu::runtime::shaders::flags;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::Context;

/// Invocations per workgroup of the transforms.
const WINOGRAD_WG: usize = 64;

/// G of F(2x2, 3x3): U = G g G^T.
const G: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];

/// The 16 transformed weights of every (out, in) pair of `weight` ([out][in][3][3]), as
/// [xi][in][cout_padded] (xi = 4 row + column of U), zero in the padding channels.
pub(crate) fn transform_weights(
    weight: &[f32],
    cin: usize,
    cout: usize,
    cout_padded: usize,
) -> Vec<f32> {
    let mut u = vec![0.0f32; 16 * cin * cout_padded];
    for o in 0..cout {
        for i in 0..cin {
            let g = &weight[(o * cin + i) * 9..][..9];
            // G g (4 x 3), then (G g) G^T (4 x 4), in f64.
            let mut gg = [[0.0f64; 3]; 4];
            for (r, row) in G.iter().enumerate() {
                for c in 0..3 {
                    gg[r][c] = (0..3).map(|k| row[k] * g[k * 3 + c] as f64).sum();
                }
            }
            for r in 0..4 {
                for (c, grow) in G.iter().enumerate() {
                    let v: f64 = (0..3).map(|k| gg[r][k] * grow[k]).sum();
                    u[((r * 4 + c) * cin + i) * cout_padded + o] = v as f32;
                }
            }
        }
    }
    u
}

/// Tiles of an oh x ow output: (rows, columns).
pub(crate) fn tiles(oh: usize, ow: usize) -> (usize, usize) {
    (oh.div_ceil(2), ow.div_ceil(2))
}

/// Geometry shared by the two transforms of one conv.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub batch: usize,
    /// Input as stored (before upsampling).
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    /// Elements between the 16 planes (the planned sub-batch's: batch x C x tiles).
    pub xstride: usize,
}

fn base(conv: &GpuConv2d, g: &Geometry, channels: usize) -> Result<WinogradParams> {
    let v = |n: usize| u32_of("winograd", n);
    let (ty, tx) = tiles(g.oh, g.ow);
    let (pad_top, pad_left) = conv.pads();
    Ok(WinogradParams {
        batch: v(g.batch)?,
        channels: v(channels)?,
        h: v(g.h)?,
        w: v(g.w)?,
        oh: v(g.oh)?,
        ow: v(g.ow)?,
        ty: v(ty)?,
        tx: v(tx)?,
        pad_top: v(pad_top)?,
        pad_left: v(pad_left)?,
        xstride: v(g.xstride)?,
        split: u32::MAX,
        out_scale: 1.0,
        ..WinogradParams::default()
    })
}

fn grid(ctx: &Context, items: usize) -> Result<Grid> {
    let groups = u32_of("winograd workgroups", items.div_ceil(WINOGRAD_WG))?;
    let max = ctx.limits().max_compute_workgroups_per_dimension;
    let x = groups.clamp(1, max);
    let y = groups.div_ceil(x).max(1);
    if y > max {
        return Err(Error::Unsupported(format!("winograd over {items} tiles")));
    }
    Ok(Grid(x, y, 1))
}

/// The input transform of `conv` from `input` into the planes `v`.
pub(crate) fn input_stage(
    ctx: &Context,
    conv: &GpuConv2d,
    g: &Geometry,
    input: BufView<'_>,
    v: &wgpu::Buffer,
    (upsample, center): (bool, bool),
) -> Result<Stage> {
    let cin = conv.in_channels();
    let p = WinogradParams {
        in_offset: input.offset,
        in_bstride: input.bstride,
        ..base(conv, g, cin)?
    };
    let mut bits = 0;
    if upsample {
        bits |= flags::UPSAMPLE;
    }
    if center {
        bits |= flags::CENTER;
    }
    let (ty, tx) = tiles(g.oh, g.ow);
    let grid = grid(ctx, g.batch * cin * ty * tx)?;
    Stage::new(
        ctx,
        Kernel::WinogradInput,
        bits,
        &p,
        &[input.buffer, v],
        grid,
    )
}

/// The output side of one conv: the products' planes, the output view, the epilogue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutputArgs<'a> {
    pub m: &'a wgpu::Buffer,
    pub output: BufView<'a>,
    pub temb: Option<(&'a wgpu::Buffer, u32, u32)>,
    pub residual: Option<(BufView<'a>, f32)>,
    pub split: Option<(u32, BufView<'a>)>,
    pub keep: usize,
    pub dummy: &'a wgpu::Buffer,
}

/// The output transform and epilogue of `conv`.
pub(crate) fn output_stage(
    ctx: &Context,
    conv: &GpuConv2d,
    g: &Geometry,
    a: &OutputArgs<'_>,
) -> Result<Stage> {
    let keep = a.keep.min(conv.out_channels());
    let p = WinogradParams {
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
        cstride: u32_of("winograd channels", conv.gemm_channels())?,
        ..base(conv, g, keep)?
    };
    let mut bits = 0;
    for (on, bit) in [
        (a.temb.is_some(), flags::TEMB),
        (a.residual.is_some(), flags::RESIDUAL),
        (a.split.is_some(), flags::SPLIT),
    ] {
        if on {
            bits |= bit;
        }
    }
    let buffers = [
        a.m,
        conv.bias(),
        a.temb.map_or(a.dummy, |t| t.0),
        a.residual.map_or(a.dummy, |r| r.0.buffer),
        a.output.buffer,
        a.split.map_or(a.output.buffer, |s| s.1.buffer),
    ];
    let (ty, tx) = tiles(g.oh, g.ow);
    let grid = grid(ctx, g.batch * keep * ty * tx)?;
    Stage::new(ctx, Kernel::WinogradOutput, bits, &p, &buffers, grid)
}
