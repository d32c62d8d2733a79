//! Host side of the attention's softmax kernels (CPU twin: src/cpu/nn/attention.rs, inside
//! its forward): in place over rows of logits, s <- exp(scale s - max) / sum. Three variants,
//! chosen by the device ([`SoftmaxKind::auto`]) and each tested against the twin
//! (tests/nn_attention.rs): a row per invocation (attention_softmax.wgsl; software adapters,
//! where it is the fastest: a lane's row stays in its cache), and a row per workgroup of 64
//! whose max and sum are reductions over the workgroup (attention_softmax_rows.wgsl; GPUs,
//! where consecutive lanes then read consecutive logits): with subgroup operations at any
//! size the device runs, else a tree in workgroup memory.

use super::graph::{LayerOp, Places};
use super::params::SoftmaxParams;
use super::{u32_of, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::Grid;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::Context;

/// Which softmax kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftmaxKind {
    /// A row per invocation (attention_softmax.wgsl): any device.
    RowPerInvocation,
    /// A row per workgroup, tree reductions in workgroup memory: any device.
    WorkgroupTree,
    /// A row per workgroup, subgroup reductions at any subgroup size (needs subgroups).
    WorkgroupSubgroups,
}

impl SoftmaxKind {
    /// Every variant.
    pub const ALL: [SoftmaxKind; 3] = [
        SoftmaxKind::RowPerInvocation,
        SoftmaxKind::WorkgroupTree,
        SoftmaxKind::WorkgroupSubgroups,
    ];

    /// The variant for `ctx`'s device: a row per invocation on software adapters (and
    /// adapters of unknown type), a row per workgroup on GPUs, with subgroups where the device
    /// has them enabled.
    pub fn auto(ctx: &Context) -> Self {
        let gpu = crate::gpu::runtime::capabilities::is_gpu(ctx.adapter_info().device_type);
        match gpu {
            false => SoftmaxKind::RowPerInvocation,
            true if Self::subgroups(ctx) => SoftmaxKind::WorkgroupSubgroups,
            true => SoftmaxKind::WorkgroupTree,
        }
    }

    /// Whether `ctx`'s device can run this variant.
    pub fn runs_on(self, ctx: &Context) -> bool {
        self != SoftmaxKind::WorkgroupSubgroups || Self::subgroups(ctx)
    }

    fn subgroups(ctx: &Context) -> bool {
        ctx.device.features().contains(wgpu::Features::SUBGROUP)
    }

    fn kernel(self) -> Kernel {
        match self {
            SoftmaxKind::RowPerInvocation => Kernel::AttentionSoftmax,
            SoftmaxKind::WorkgroupTree => Kernel::AttentionSoftmaxRows,
            SoftmaxKind::WorkgroupSubgroups => Kernel::AttentionSoftmaxRowsSubgroups,
        }
    }
}

/// Invocations per workgroup of every variant (`NORM_WG` in the reductions' preludes; the
/// row per invocation kernel's 64).
const ROW_WG: usize = 64;

/// The stage of a softmax over `rows` rows of `len` in `buffer`, in place.
fn softmax_stage(
    kind: SoftmaxKind,
    ctx: &Context,
    rows: usize,
    len: usize,
    (scale, precision): (f32, crate::gpu::runtime::Precision),
    buffer: &wgpu::Buffer,
) -> Result<Stage> {
    let p = SoftmaxParams {
        rows: u32_of("softmax rows", rows)?,
        len: u32_of("softmax length", len)?,
        scale,
        _pad: 0,
    };
    // Rows of workgroups: x then y (a row per invocation reads gid.y * x * 64 + gid.x; a
    // row per workgroup, wid.y * x + wid.x).
    let per_group = match kind {
        SoftmaxKind::RowPerInvocation => ROW_WG,
        _ => 1,
    };
    let groups = u32_of("softmax workgroups", rows.div_ceil(per_group))?;
    let max = ctx.limits().max_compute_workgroups_per_dimension;
    let x = groups.clamp(1, max);
    let y = groups.div_ceil(x).max(1);
    if y > max {
        return Err(Error::Unsupported(format!("softmax over {rows} rows")));
    }
    let grid = Grid(x, y, 1);
    Stage::new(ctx, kind.kernel(), precision.bits(), &p, &[buffer], grid)
}

/// Softmax in place over rows of `len`, `rows` rows per sample, of `scale` times the values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SoftmaxOp {
    pub tensor: usize,
    pub rows: usize,
    pub len: usize,
    pub scale: f32,
    pub kind: SoftmaxKind,
    pub precision: crate::gpu::runtime::Precision,
}

impl LayerOp for SoftmaxOp {
    fn tensors(&self) -> Vec<usize> {
        vec![self.tensor]
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let (buffer, _) = at.place(self.tensor)?;
        softmax_stage(
            self.kind,
            ctx,
            at.samples().1 * self.rows,
            self.len,
            (self.scale, self.precision),
            buffer,
        )
    }
}
