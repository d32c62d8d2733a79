//! Host side of `shaders/discretized_gaussian_log_likelihood.wgsl`; CPU twin
//! `crate::cpu::kernels::discretized_gaussian_log_likelihood`.

use super::u32_len;
use crate::error::Result;
use crate::gpu::runtime::launch::{elementwise, same_shapes};
use crate::gpu::runtime::params::ElementParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuTensor};
use crate::options::ModelOptions;

/// Record the per-element log-likelihood (nats) of 8-bit-binned `x` in [-1, 1].
pub fn discretized_gaussian_log_likelihood(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    x: &GpuTensor,
    means: &GpuTensor,
    log_scales: &GpuTensor,
) -> Result<GpuTensor> {
    same_shapes(&[("x", x), ("means", means), ("log_scales", log_scales)])?;
    let log_probs = GpuTensor::zeros(ctx, x.shape())?;
    let n = u32_len(x.len());
    let params = ElementParams::new(n, n, 1, &ModelOptions::default());
    elementwise(
        ctx,
        encoder,
        Kernel::DiscretizedGaussianLogLikelihood,
        &params,
        &[
            x.buffer(),
            means.buffer(),
            log_scales.buffer(),
            log_probs.buffer(),
        ],
    )?;
    Ok(log_probs)
}
