//! Host side of `shaders/sample_mean.wgsl`; CPU twin `crate::cpu::sample_mean`.

use super::{Context, GpuTensor};
use crate::error::{Error, Result};

/// Record the per-sample mean of `values` (shape [B, ...]) times `scale`; returns shape [B].
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
    super::launch::sample_mean(ctx, encoder, values, values.len() / batch, scale, &means)?;
    Ok(means)
}
