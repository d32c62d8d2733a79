//! Host side of `shaders/sample_mean.wgsl`; CPU twin `crate::cpu::kernels::sample_mean`.

use crate::error::{Error, Result};
use crate::gpu::{Context, GpuTensor};

/// Record the per-sample mean of `values` (shape [B, ...]) times `scale`; returns shape \[B\].
pub fn sample_mean(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    values: &GpuTensor,
    scale: f64,
) -> Result<GpuTensor> {
    let batch = *values
        .shape()
        .first()
        .ok_or_else(|| Error::ShapeMismatch("a per-sample mean needs a batch dimension".into()))?;
    let means = GpuTensor::zeros(ctx, &[batch])?;
    crate::gpu::runtime::launch::sample_mean(
        ctx,
        encoder,
        values,
        values.len() / batch,
        scale,
        &means,
    )?;
    Ok(means)
}
