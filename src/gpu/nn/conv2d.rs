//! Host side of shaders/nn/conv2d.wgsl (CPU twin: src/cpu/nn/conv2d.rs): a [`Conv2d`] with its
//! weights uploaded once, transposed to \[K\]\[cout_padded\] (K = in x k x k, channels padded with
//! zeros to the 16-channel tile so that every weight load is aligned), and the stage
//! that runs it over views, with the fused options the UNet needs: Upsample2D's nearest 2x on
//! the input, center_input_sample, the resnets' time-embedding bias, a residual with its
//! output_scale_factor, and the learned-variance split of conv_out. Downsample2D is this conv
//! with stride 2 and its per-side padding.
//!
//! Why this shape (measurements in benches/unet.md, "Why the conv kernel is shaped as it
//! is"): on llvmpipe every storage load runs as a loop over the 8 lanes (1-2 ns of a core per
//! scalar, 3-5 per vec4: benches/load_cost.rs), `fma` is a multiply and an add, and a register
//! tile spills. So the tile is as large as keeps its accumulators cheap (16 channels x 8
//! pixels), each input value serves three kernel columns, the weights are loaded once per
//! subgroup of 8 (a vec4 per lane for two taps) and broadcast, and a row's edge values and the
//! rows a subgroup's output rows share come by shuffles. Workgroup-memory tiles, 32 channels,
//! 512-bit vectors, per-lane weights, Winograd F(2x2, 3x3): all slower or no faster there.

pub(crate) use super::conv_args::{epilogue, ConvArgs};
use super::params::ConvParams;
use super::{grid_xz, u32_of, upload_as, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::flags;
use crate::gpu::runtime::shaders::tiles::ConvKernel;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::Precision;
use crate::gpu::Context;
use crate::nn::Conv2d;

/// Output channels per invocation (`CONV_TM` in conv2d.wgsl).
pub const CONV_TM: usize = 16;
/// Output pixels (of one row) per invocation (`CONV_TN`).
pub const CONV_TN: usize = 8;
/// Invocations per workgroup (`CONV_WG`).
pub const CONV_WG: usize = 64;

/// A convolution on the device.
#[derive(Debug)]
pub struct GpuConv2d {
    pub(super) name: String,
    pub(super) cin: usize,
    pub(super) cout: usize,
    pub(super) kernel: usize,
    pub(super) stride: usize,
    pub(super) pad_top: usize,
    pub(super) pad_left: usize,
    padding: crate::nn::Padding,
    pub(super) cout_padded: usize,
    /// The direct kernel's weights ([K][cout_padded]); `None` where Winograd replaces them.
    pub(super) weights: Option<wgpu::Buffer>,
    pub(super) bias: wgpu::Buffer,
    /// Winograd F(2x2, 3x3): its 16 products as a 1x1 conv over the transformed weights.
    winograd: Option<Box<GpuConv2d>>,
    /// The kernel of its direct runs (conv2d_tiled.rs).
    conv_kernel: ConvKernel,
    /// How its weights, and the activations it reads and writes, are stored.
    pub(super) precision: Precision,
}

impl GpuConv2d {
    /// Upload `conv` (`name` labels its buffers and errors) for the direct kernel. Kernels
    /// 1x1 (stride 1, no padding) and 3x3 (stride 1 or 2) are what UNet2DModel builds; others
    /// are refused.
    pub fn new(ctx: &Context, conv: &Conv2d, name: &str) -> Result<Self> {
        Self::new_with(ctx, conv, name, false)
    }

    /// [`GpuConv2d::new`], as Winograd F(2x2, 3x3) where it is a 3x3 stride-1 conv and
    /// `winograd` (see `UNetOptions::winograd`).
    pub fn new_with(ctx: &Context, conv: &Conv2d, name: &str, winograd: bool) -> Result<Self> {
        Self::with_kernel(ctx, conv, name, winograd, ConvKernel::Direct)
    }

    /// [`GpuConv2d::new_with`], its direct runs on `kernel` (checked against the device's
    /// limits here); Winograd's products stay on the direct kernel.
    pub fn with_kernel(
        ctx: &Context,
        conv: &Conv2d,
        name: &str,
        winograd: bool,
        kernel: ConvKernel,
    ) -> Result<Self> {
        Self::stored_as(ctx, conv, name, (winograd, kernel), Precision::F32)
    }

    /// [`GpuConv2d::with_kernel`] with its weights, and the activations it reads and writes,
    /// stored as `precision` (which the device must run).
    pub fn stored_as(
        ctx: &Context,
        conv: &Conv2d,
        name: &str,
        (winograd, kernel): (bool, ConvKernel),
        precision: Precision,
    ) -> Result<Self> {
        kernel.check(ctx.limits())?;
        precision.check(ctx)?;
        let upload = |name: &str, data: &[f32]| upload_as(ctx, name, data, precision);
        let (k, cin, cout) = (conv.kernel, conv.in_channels, conv.out_channels);
        let pad = conv.padding;
        let supported = match k {
            1 => conv.stride == 1 && pad == crate::nn::Padding::uniform(0),
            3 => conv.stride == 1 || conv.stride == 2,
            _ => false,
        };
        if !supported {
            return Err(Error::UnsupportedModel(format!(
                "{name}: a {k}x{k} conv with stride {} and padding {pad:?} has no GPU kernel",
                conv.stride
            )));
        }
        let rows = cin * k * k;
        if cin == 0 || cout == 0 || conv.weight.len() != cout * rows || conv.bias.len() != cout {
            return Err(Error::ShapeMismatch(format!(
                "{name}: its weights do not match its declared sizes"
            )));
        }
        let cout_padded = cout.div_ceil(CONV_TM) * CONV_TM;
        let mut bias = conv.bias.clone();
        bias.resize(cout_padded, 0.0);
        let winograd = winograd && k == 3 && conv.stride == 1;
        let (weights, winograd) = if winograd {
            let u =
                super::winograd_weights::transform_weights(&conv.weight, cin, cout, cout_padded);
            let gemm = GpuConv2d {
                name: format!("{name} (winograd products)"),
                cin,
                cout,
                kernel: 1,
                stride: 1,
                pad_top: 0,
                pad_left: 0,
                padding: crate::nn::Padding::uniform(0),
                cout_padded,
                weights: Some(upload(&format!("{name} winograd weights"), &u)?),
                bias: upload(
                    &format!("{name} winograd zero bias"),
                    &vec![0.0; cout_padded],
                )?,
                winograd: None,
                conv_kernel: ConvKernel::Direct,
                precision,
            };
            (None, Some(Box::new(gemm)))
        } else {
            let mut wt = vec![0.0f32; rows * cout_padded];
            for (o, wo) in conv.weight.chunks_exact(rows).enumerate() {
                for (r, &v) in wo.iter().enumerate() {
                    wt[r * cout_padded + o] = v;
                }
            }
            (Some(upload(&format!("{name} weights"), &wt)?), None)
        };
        Ok(GpuConv2d {
            name: name.to_string(),
            cin,
            cout,
            kernel: k,
            stride: conv.stride,
            pad_top: pad.top,
            pad_left: pad.left,
            padding: pad,
            cout_padded,
            weights,
            bias: upload(&format!("{name} bias"), &bias)?,
            winograd,
            conv_kernel: kernel,
            precision,
        })
    }

    /// The kernel of its direct runs (conv2d_op.rs routes them).
    pub(crate) fn conv_kernel(&self) -> ConvKernel {
        self.conv_kernel
    }

    /// The Winograd products' conv, where this conv runs as Winograd.
    pub(crate) fn winograd(&self) -> Option<&GpuConv2d> {
        self.winograd.as_deref()
    }

    /// (top, left) padding.
    pub(crate) fn pads(&self) -> (usize, usize) {
        (self.pad_top, self.pad_left)
    }

    /// The bias, zero-padded to the channel tile.
    pub(crate) fn bias(&self) -> &wgpu::Buffer {
        &self.bias
    }

    /// Channels of the Winograd products (their per-sample stride in planes).
    pub(crate) fn gemm_channels(&self) -> usize {
        self.cout
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.cin
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.cout
    }

    /// Output (height, width) for an input of (h, w) (after any upsampling); `None` when the
    /// padded input is smaller than the kernel.
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let ph = h + self.padding.top + self.padding.bottom;
        let pw = w + self.padding.left + self.padding.right;
        let oh = ph.checked_sub(self.kernel)? / self.stride + 1;
        let ow = pw.checked_sub(self.kernel)? / self.stride + 1;
        Some((oh, ow))
    }

    /// Bytes of its weights and biases on the device.
    pub fn device_bytes(&self) -> u64 {
        self.weights.as_ref().map_or(0, wgpu::Buffer::size)
            + self.bias.size()
            + self.winograd.as_ref().map_or(0, |w| w.device_bytes())
    }

    /// The stage running this conv directly on the direct kernel as `a` says (a Winograd conv
    /// runs as three stages: `graph::Graph::push` expands it; the tiled kernel's stage is
    /// `conv2d_tiled::stage`, which `ConvOp` picks).
    pub(crate) fn stage(&self, ctx: &Context, a: &ConvArgs<'_>) -> Result<Stage> {
        let weights = self.weights.as_ref().ok_or_else(|| {
            Error::Unsupported(format!("{} runs as Winograd, not directly", self.name))
        })?;
        let up = if a.upsample { 2 } else { 1 };
        let (eh, ew) = (a.h * up, a.w * up);
        let (oh, ow) = self.output_size(eh, ew).ok_or_else(|| {
            Error::ShapeMismatch(format!(
                "{}: a {eh}x{ew} input is smaller than its {k}x{k} kernel",
                self.name,
                k = self.kernel
            ))
        })?;
        // 1x1 runs over flattened pixels: one "row" of H x W.
        let (h, w, oh, ow) = if self.kernel == 1 && !a.upsample {
            (1, a.h * a.w, 1, oh * ow)
        } else {
            (a.h, a.w, oh, ow)
        };
        let x_tiles = ow.div_ceil(CONV_TN);
        let tiles = a
            .batch
            .checked_mul(oh * x_tiles)
            .ok_or_else(|| Error::Unsupported(format!("{}: too many pixels", self.name)))?;
        let what = |s: &str| format!("{} {s}", self.name);
        let p = ConvParams {
            batch: u32_of(&what("batch"), a.batch)?,
            cin: u32_of(&what("channels"), self.cin)?,
            h: u32_of(&what("height"), h)?,
            w: u32_of(&what("width"), w)?,
            cout: u32_of(&what("channels"), a.keep.min(self.cout))?,
            oh: u32_of(&what("height"), oh)?,
            ow: u32_of(&what("width"), ow)?,
            cout_padded: u32_of(&what("channels"), self.cout_padded)?,
            pad_top: self.pad_top as u32,
            pad_left: self.pad_left as u32,
            x_tiles: u32_of(&what("tiles"), x_tiles)?,
            tiles: u32_of(&what("tiles"), tiles)?,
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
            o_tiles: (self.cout_padded / CONV_TM) as u32,
            w_xstride: match a.products {
                Some(_) => u32_of(&what("weights"), self.cin * self.cout_padded / 4)?,
                None => 0,
            },
            in_xstride: a.products.map_or(0, |x| x.0),
            out_xstride: a.products.map_or(0, |x| x.1),
        };
        // vec4 input loads where every row a tile reads starts 4-aligned: a width (of the
        // flattened row for 1x1, of the source row under Upsample2D) that is a multiple of 4
        // and 4-aligned views; at stride 1 with padding 1 for 3x3 (the tile's row then starts
        // one before an aligned column).
        let aligned = w.is_multiple_of(4)
            && a.input.offset.is_multiple_of(4)
            && a.input.bstride.is_multiple_of(4);
        let vec4_in = aligned
            && (self.kernel == 1 && !a.upsample
                || self.kernel == 3 && self.stride == 1 && self.pad_left == 1);
        // Subgroups of exactly 8: shared weights, nine taps at once (per-lane weight loads go a
        // kernel row at a time, 16 weights live instead of 144).
        let subgroup = ctx.subgroup_size() == Some(8);
        // A row's tiles all in one subgroup: the row's edge values by lane shuffles.
        let halo = subgroup && vec4_in && self.kernel == 3 && 8 % x_tiles == 0;
        // Several whole output rows per subgroup: they share input rows.
        let share_rows = halo && x_tiles < 8;
        let mut bits = a.option_bits() | self.precision.bits();
        for (on, bit) in [
            (vec4_in, flags::VEC4_IN),
            (halo, flags::HALO),
            (share_rows, flags::ROWS),
            (self.kernel == 3, flags::KSIZE3),
            (self.stride == 2, flags::STRIDE2),
        ] {
            if on {
                bits |= bit;
            }
        }
        let [b0, b1, b2, b3, b4, b5, b6] = a.bindings(weights, &self.bias);
        let buffers = [b0, b1, b2, b3, b4, b5, b6, a.input.buffer];
        let groups = u32_of(&what("workgroups"), tiles.div_ceil(CONV_WG))?;
        let rows = (self.cout_padded / CONV_TM) * if a.products.is_some() { 16 } else { 1 };
        let grid = grid_xz(ctx, groups, u32_of(&what("channel tiles"), rows)?)?;
        let flops =
            2 * (a.batch * self.cout * self.cin * self.kernel * self.kernel * oh * ow) as u64;
        // The subgroup kernel reads the weights as vec4s too (binding 9).
        let (kernel, buffers) = match subgroup {
            true => (Kernel::Conv2dSubgroup, [&buffers[..], &[weights]].concat()),
            false => (Kernel::Conv2d, buffers.to_vec()),
        };
        Ok(Stage::new(ctx, kernel, bits, &p, &buffers, grid)?.with_flops(flops))
    }
}
