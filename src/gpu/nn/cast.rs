//! Host side of shaders/nn/cast.wgsl (CPU twin: src/cpu/nn/cast.rs): where the UNet stores f16
//! (`Precision::F16`), the forward's conversions at its two ends, the loop's x_t (f32) into
//! the UNet's storage before conv_in and conv_out's output back into the loop's f32
//! model_output and model_var. An f32 forward has none.

use super::graph::{LayerOp, Places, View};
use super::params::CastParams;
use super::{grid_xz, scratch_as, u32_of, upload_as, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::{Context, Precision};

/// Which way a conversion goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastDirection {
    /// f32 into the UNet's storage (`cast_in`).
    In,
    /// The UNet's storage into f32 (`cast_out`).
    Out,
}

impl CastDirection {
    fn kernel(self) -> Kernel {
        match self {
            CastDirection::In => Kernel::CastIn,
            CastDirection::Out => Kernel::CastOut,
        }
    }
}

/// One conversion between views of the same size per sample.
#[derive(Debug)]
pub(crate) struct CastOp {
    pub input: View,
    pub output: View,
    pub direction: CastDirection,
    pub precision: Precision,
}

/// The stage converting `len` values of each of `batch` samples, views as (buffer, offset,
/// batch stride).
fn stage(
    ctx: &Context,
    (direction, precision): (CastDirection, Precision),
    (batch, len): (usize, usize),
    (src, in_offset, in_bstride): (&wgpu::Buffer, u32, u32),
    (dst, out_offset, out_bstride): (&wgpu::Buffer, u32, u32),
) -> Result<Stage> {
    let p = CastParams {
        batch: u32_of("cast samples", batch)?,
        len: u32_of("cast values", len)?,
        in_offset,
        in_bstride,
        out_offset,
        out_bstride,
        ..CastParams::default()
    };
    let groups = u32_of("cast workgroups", len.div_ceil(64))?;
    let grid = grid_xz(ctx, groups, p.batch)?;
    Stage::new(
        ctx,
        direction.kernel(),
        precision.bits(),
        &p,
        &[src, dst],
        grid,
    )
}

impl LayerOp for CastOp {
    fn tensors(&self) -> Vec<usize> {
        vec![self.input.tensor, self.output.tensor]
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let len = self.input.channels * self.input.h * self.input.w;
        if len != self.output.channels * self.output.h * self.output.w {
            return Err(Error::ShapeMismatch(format!(
                "a conversion of {len} values per sample into {}",
                self.output.channels * self.output.h * self.output.w
            )));
        }
        let (i, o) = (at.view(self.input)?, at.view(self.output)?);
        stage(
            ctx,
            (self.direction, self.precision),
            (at.samples().1, len),
            (i.buffer, i.offset, i.bstride),
            (o.buffer, o.offset, o.bstride),
        )
    }
}

/// `x` into `precision`'s storage and back on the device (`cast_in`, then `cast_out`): each
/// value as the UNet stores it. For tests and single calls.
pub fn round_trip(ctx: &Context, x: &[f32], precision: Precision) -> Result<Vec<f32>> {
    precision.check(ctx)?;
    let n = x.len();
    let src = upload_as(ctx, "cast input", x, Precision::F32)?;
    let mid = scratch_as(ctx, "cast stored", n as u64, precision)?;
    let out = scratch_as(ctx, "cast output", n as u64, Precision::F32)?;
    let whole = |b| (b, 0, 0);
    let stages = [
        stage(
            ctx,
            (CastDirection::In, precision),
            (1, n),
            whole(&src),
            whole(&mid),
        )?,
        stage(
            ctx,
            (CastDirection::Out, precision),
            (1, n),
            whole(&mid),
            whole(&out),
        )?,
    ];
    super::run_stages(ctx, &stages)?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let bytes = crate::gpu::runtime::tensor::read_buffer(ctx, &out, n as u64 * 4)?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}
