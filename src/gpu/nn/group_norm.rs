//! Host side of shaders/nn/group_norm.wgsl (CPU twin: src/cpu/nn/group_norm.rs): a
//! [`GroupNorm`] with its affine parameters uploaded, and the stage that normalises a view into
//! another, with the SiLU that follows every norm but the attention's fused, and the
//! scale-shift of `resnet_time_scale_shift = "scale_shift"`.

use super::graph::{BufView, LayerOp, Places, View};
use super::params::NormParams;
use super::{grid_xz, u32_of, upload, upload_as, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::Grid;
use crate::gpu::runtime::shaders::flags;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::Precision;
use crate::gpu::Context;
use crate::nn::GroupNorm;

/// Invocations per workgroup of the tree and any-size subgroup kernels (`NORM_WG` in
/// group_norm_sum.wgsl and group_norm_sum_subgroups.wgsl; the
/// subgroup one has 8): one workgroup per (sample, group).
pub const NORM_WG: usize = 64;

/// How a group norm's workgroup sums its partial sums (the kernel variants of the same norm;
/// the f64 twin is the reference for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormSum {
    /// A fixed tree over 64 invocations in workgroup memory (group_norm_sum.wgsl): any device.
    Tree,
    /// One subgroup of exactly 8 per workgroup, no barrier (group_norm_sum_subgroup.wgsl).
    Subgroup8,
    /// subgroupAdd within subgroups of any size, then once more over the subgroups' sums
    /// (group_norm_sum_subgroups.wgsl).
    Subgroups,
}

impl NormSum {
    /// The variant for `ctx`'s device: one subgroup of 8 where subgroups are exactly 8
    /// (lavapipe, measured fastest there: benches/unet.md), subgroups of any size where the
    /// device has subgroups of another or a varying size, else the tree.
    pub fn auto(ctx: &Context) -> Self {
        match ctx.subgroup_size() {
            Some(8) => NormSum::Subgroup8,
            _ if ctx.device.features().contains(wgpu::Features::SUBGROUP) => NormSum::Subgroups,
            _ => NormSum::Tree,
        }
    }

    /// Refuse a variant `ctx`'s device cannot run.
    pub fn check(self, ctx: &Context) -> Result<Self> {
        let subgroups = ctx.device.features().contains(wgpu::Features::SUBGROUP);
        let ok = match self {
            NormSum::Tree => true,
            NormSum::Subgroup8 => ctx.subgroup_size() == Some(8),
            NormSum::Subgroups => subgroups,
        };
        if ok {
            Ok(self)
        } else {
            Err(Error::Unsupported(format!(
                "group norm sums {self:?}: the device's subgroups ({:?}, enabled: {subgroups}) \
                 do not allow it",
                ctx.subgroup_size()
            )))
        }
    }

    fn kernel(self) -> Kernel {
        match self {
            NormSum::Tree => Kernel::GroupNorm,
            NormSum::Subgroup8 => Kernel::GroupNormSubgroup,
            NormSum::Subgroups => Kernel::GroupNormSubgroups,
        }
    }
}

/// A group norm on the device.
#[derive(Debug)]
pub struct GpuGroupNorm {
    name: String,
    sum: NormSum,
    groups: usize,
    channels: usize,
    eps: f32,
    gamma: wgpu::Buffer,
    beta: wgpu::Buffer,
    /// How its weights and the activations it reads and writes are stored.
    precision: Precision,
}

/// One run of a norm.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NormArgs<'a> {
    pub batch: usize,
    /// H x W.
    pub plane: usize,
    pub input: BufView<'a>,
    pub output: BufView<'a>,
    pub silu: bool,
    /// scale_shift: (projections, column of the scale, row length).
    pub scale_shift: Option<(&'a wgpu::Buffer, u32, u32)>,
    pub dummy: &'a wgpu::Buffer,
}

impl GpuGroupNorm {
    /// Upload `gn`'s weight and bias (`name` labels them).
    pub fn new(ctx: &Context, gn: &GroupNorm, name: &str) -> Result<Self> {
        Self::stored_as(ctx, gn, name, Precision::F32)
    }

    /// [`GpuGroupNorm::new`], its weights and the activations it reads and writes stored as
    /// `precision` (which the device must run).
    pub fn stored_as(
        ctx: &Context,
        gn: &GroupNorm,
        name: &str,
        precision: Precision,
    ) -> Result<Self> {
        precision.check(ctx)?;
        let ok = gn.num_groups > 0
            && gn.channels.is_multiple_of(gn.num_groups)
            && gn.weight.len() == gn.channels
            && gn.bias.len() == gn.channels;
        if !ok {
            return Err(Error::ShapeMismatch(format!(
                "{name}: {} channels, {} groups and {} / {} affine values do not fit",
                gn.channels,
                gn.num_groups,
                gn.weight.len(),
                gn.bias.len()
            )));
        }
        Ok(GpuGroupNorm {
            name: name.to_string(),
            sum: NormSum::auto(ctx),
            groups: gn.num_groups,
            channels: gn.channels,
            // torch keeps eps as a double but adds it to a float variance: the same rounding.
            eps: gn.eps as f32,
            gamma: upload_as(ctx, &format!("{name} weight"), &gn.weight, precision)?,
            beta: upload_as(ctx, &format!("{name} bias"), &gn.bias, precision)?,
            precision,
        })
    }

    /// This norm with its sums done as `sum` says instead of [`NormSum::auto`]'s choice;
    /// refused where the device cannot run it.
    pub fn with_sum(mut self, ctx: &Context, sum: NormSum) -> Result<Self> {
        self.sum = sum.check(ctx)?;
        Ok(self)
    }

    /// How its sums are done.
    pub fn sum(&self) -> NormSum {
        self.sum
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Bytes of its parameters on the device.
    pub fn device_bytes(&self) -> u64 {
        self.gamma.size() + self.beta.size()
    }

    /// The stage running this norm as `a` says.
    pub(crate) fn stage(&self, ctx: &Context, a: &NormArgs<'_>) -> Result<Stage> {
        let what = |s: &str| format!("{} {s}", self.name);
        let p = NormParams {
            batch: u32_of(&what("batch"), a.batch)?,
            channels: u32_of(&what("channels"), self.channels)?,
            groups: u32_of(&what("groups"), self.groups)?,
            plane: u32_of(&what("plane"), a.plane)?,
            in_offset: a.input.offset,
            in_bstride: a.input.bstride,
            out_offset: a.output.offset,
            out_bstride: a.output.bstride,
            temb_offset: a.scale_shift.map_or(0, |t| t.1),
            temb_stride: a.scale_shift.map_or(0, |t| t.2),
            eps: self.eps,
            _pad: 0,
        };
        let mut bits = self.precision.bits();
        if a.silu {
            bits |= flags::SILU;
        }
        if a.scale_shift.is_some() {
            bits |= flags::SCALE_SHIFT;
        }
        let aligned = |v: &BufView<'_>| v.offset.is_multiple_of(4) && v.bstride.is_multiple_of(4);
        if a.plane.is_multiple_of(4) && aligned(&a.input) && aligned(&a.output) {
            bits |= flags::VEC4;
        }
        let buffers = [
            a.input.buffer,
            &self.gamma,
            &self.beta,
            a.scale_shift.map_or(a.dummy, |t| t.0),
            a.output.buffer,
            a.input.buffer,
            a.output.buffer,
        ];
        // x: groups, y: samples.
        let grid = grid_xz(ctx, p.groups, p.batch)?;
        if grid.2 != 1 {
            return Err(Error::Unsupported(format!(
                "{}: {} groups exceed the device's workgroups per dimension",
                self.name, self.groups
            )));
        }
        Stage::new(
            ctx,
            self.sum.kernel(),
            bits,
            &p,
            &buffers,
            Grid(grid.0, grid.1, 1),
        )
    }
}

/// The norm from `input` into `output`, then SiLU if `silu`; with `scale_shift`, times
/// (1 + scale) plus shift from that column of the time projections.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NormOp<'m> {
    pub norm: &'m GpuGroupNorm,
    pub input: View,
    pub output: View,
    pub silu: bool,
    /// Column of the scale in the time projections (scale_shift).
    pub scale_shift: Option<usize>,
}

impl LayerOp for NormOp<'_> {
    fn tensors(&self) -> Vec<usize> {
        vec![self.input.tensor, self.output.tensor]
    }

    fn uses_temb(&self) -> bool {
        self.scale_shift.is_some()
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let args = NormArgs {
            batch: at.samples().1,
            plane: self.input.h * self.input.w,
            input: at.view(self.input)?,
            output: at.view(self.output)?,
            silu: self.silu,
            scale_shift: at.temb(self.scale_shift)?,
            dummy: at.dummy(),
        };
        self.norm.stage(ctx, &args)
    }
}

/// Run `gn` once on `x` ([B, C, H, W]), then SiLU if `silu`: uploads, runs, reads back.
pub fn forward(
    ctx: &Context,
    gn: &GroupNorm,
    x: &[f32],
    shape: [usize; 4],
    silu: bool,
) -> Result<Vec<f32>> {
    forward_with(ctx, gn, x, shape, silu, NormSum::auto(ctx))
}

/// [`forward`] with the sums done as `sum` says (every variant is tested against the twin).
pub fn forward_with(
    ctx: &Context,
    gn: &GroupNorm,
    x: &[f32],
    shape: [usize; 4],
    silu: bool,
    sum: NormSum,
) -> Result<Vec<f32>> {
    let [n, c, h, w] = shape;
    let g = GpuGroupNorm::new(ctx, gn, "group_norm")?.with_sum(ctx, sum)?;
    if c != g.channels || n == 0 || x.len() != n * c * h * w {
        return Err(Error::ShapeMismatch(format!(
            "group_norm takes [B, {}, H, W], got shape {shape:?} with {} values",
            g.channels,
            x.len()
        )));
    }
    let input = upload(ctx, "group_norm input", x)?;
    let out = super::scratch(ctx, "group_norm output", x.len() as u64)?;
    let dummy = upload(ctx, "group_norm dummy", &[0.0; 4])?;
    let bstride = u32_of("group_norm sample", c * h * w)?;
    let view = |buffer| BufView {
        buffer,
        offset: 0,
        bstride,
    };
    let args = NormArgs {
        batch: n,
        plane: h * w,
        input: view(&input),
        output: view(&out),
        silu,
        scale_shift: None,
        dummy: &dummy,
    };
    super::run_stages(ctx, &[g.stage(ctx, &args)?])?;
    let bytes = crate::gpu::runtime::tensor::read_buffer(ctx, &out, x.len() as u64 * 4)?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}
