//! Winograd F(2x2, 3x3) for the 3x3 stride-1 convs (host side of
//! shaders/nn/winograd_input.wgsl and winograd_output.wgsl; the layer's CPU twin is the conv's,
//! src/cpu/nn/conv2d.rs, and the tests compare against it): per 2x2 output tile, 16 products
//! of transformed values instead of 36 multiply-adds. The weights' transform U = G g G^T is
//! computed in f64 when the conv is uploaded (`conv2d.rs`) and stored as 16 matrices [C_in][C_out padded]; the input transform
//! writes 16 planes of B^T d B; the conv kernel multiplies them as 16 1x1 convs in one dispatch
//! (`ConvParams::o_tiles` and the product strides); the output transform takes A^T m A and the
//! conv's epilogue (bias, time projection, residual, split).
//!
//! An option (`UNetOptions::winograd`), off by default: on llvmpipe, where loads bound the
//! convs (see conv2d.rs), the products run at about half the direct kernel's FLOP rate (an
//! input load serves one tap instead of three), so the 2.25x fewer of them left the cifar10
//! forward where it was (see `UNetOptions`) with 3.4x the activation memory.

use super::conv2d::{epilogue, ConvArgs, GpuConv2d};
use super::graph::{BufView, LayerOp, Places, View};
use super::params::WinogradParams;
use super::{u32_of, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::Grid;
use crate::gpu::runtime::shaders::flags;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::Context;

/// Invocations per workgroup of the transforms.
const WINOGRAD_WG: usize = 64;

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
fn input_stage(
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
    let mut bits = conv.precision.bits();
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
struct OutputArgs<'a> {
    pub m: &'a wgpu::Buffer,
    pub output: BufView<'a>,
    pub temb: Option<(&'a wgpu::Buffer, u32, u32)>,
    pub residual: Option<(BufView<'a>, f32)>,
    pub split: Option<(u32, BufView<'a>)>,
    pub keep: usize,
    pub dummy: &'a wgpu::Buffer,
}

/// The output transform and epilogue of `conv`.
fn output_stage(
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
    let mut bits = conv.precision.bits();
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

/// The transforms' geometry for the planes tensor `planes` (16 planes of the planned
/// sub-batch) of a conv from (h, w) to `out`.
fn geometry(
    at: &dyn Places,
    planes: usize,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
) -> Geometry {
    Geometry {
        batch: at.samples().1,
        h,
        w,
        oh,
        ow,
        xstride: at.sub_batch() * at.per_sample(planes) / 16,
    }
}

/// Winograd's input transform of `conv` from `input` into the 16 planes `v`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WinogradIn<'m> {
    pub conv: &'m GpuConv2d,
    pub input: View,
    pub v: usize,
    pub upsample: bool,
    pub center: bool,
    /// Output height and width of the conv.
    pub out: (usize, usize),
}

impl LayerOp for WinogradIn<'_> {
    fn tensors(&self) -> Vec<usize> {
        vec![self.input.tensor, self.v]
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let g = geometry(at, self.v, (self.input.h, self.input.w), self.out);
        let planes = at.place(self.v)?.0;
        let input = at.view(self.input)?;
        input_stage(
            ctx,
            self.conv,
            &g,
            input,
            planes,
            (self.upsample, self.center),
        )
    }
}

/// Winograd's 16 products: `gemm` (a 1x1 conv over the transformed weights) from the planes
/// `v` into the planes `m`, `tiles` "pixels" each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WinogradProducts<'m> {
    pub gemm: &'m GpuConv2d,
    pub v: usize,
    pub m: usize,
    pub tiles: usize,
}

impl LayerOp for WinogradProducts<'_> {
    fn tensors(&self) -> Vec<usize> {
        vec![self.v, self.m]
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let plane = |t: usize| at.per_sample(t) / 16;
        let xstride = |t: usize| u32_of("winograd planes", at.sub_batch() * plane(t));
        let buf = |t: usize| -> Result<BufView<'_>> {
            Ok(BufView {
                buffer: at.place(t)?.0,
                offset: 0,
                bstride: u32_of("winograd planes", plane(t))?,
            })
        };
        let args = ConvArgs {
            batch: at.samples().1,
            h: 1,
            w: self.tiles,
            input: buf(self.v)?,
            output: buf(self.m)?,
            upsample: false,
            center: false,
            temb: None,
            residual: None,
            split: None,
            keep: self.gemm.out_channels(),
            products: Some((xstride(self.v)?, xstride(self.m)?)),
            dummy: at.dummy(),
        };
        self.gemm.stage(ctx, &args)
    }
}

/// Winograd's output transform of `conv` from the planes `m`, with the conv's epilogue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WinogradOut<'m> {
    pub conv: &'m GpuConv2d,
    pub m: usize,
    pub output: View,
    /// The input's stored size (before upsampling).
    pub input: (usize, usize),
    pub temb: Option<usize>,
    pub residual: Option<(View, f32)>,
    pub split: Option<(usize, View)>,
    pub keep: usize,
}

impl LayerOp for WinogradOut<'_> {
    fn tensors(&self) -> Vec<usize> {
        let mut t = vec![self.m, self.output.tensor];
        t.extend(self.residual.map(|r| r.0.tensor));
        t.extend(self.split.map(|s| s.1.tensor));
        t
    }

    fn uses_temb(&self) -> bool {
        self.temb.is_some()
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let g = geometry(at, self.m, self.input, (self.output.h, self.output.w));
        let (residual, split) = epilogue(at, self.residual, self.split)?;
        let args = OutputArgs {
            m: at.place(self.m)?.0,
            output: at.view(self.output)?,
            temb: at.temb(self.temb)?,
            residual,
            split,
            keep: self.keep,
            dummy: at.dummy(),
        };
        output_stage(ctx, self.conv, &g, &args)
    }
}
