//! Host side of `shaders/q_posterior_mean_variance.wgsl`; CPU twin
//! `crate::cpu::kernels::q_posterior_mean_variance`.

use super::u32_len;
use crate::error::Result;
use crate::gpu::runtime::launch::{batch_layout, elementwise};
use crate::gpu::runtime::params::ElementParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuSteps, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// `q_posterior_mean_variance` outputs, each of x's shape.
#[derive(Debug)]
pub struct QPosterior {
    /// coef1 x_0 + coef2 x_t.
    pub posterior_mean: GpuTensor,
    /// beta tilde_t.
    pub posterior_variance: GpuTensor,
    /// log beta tilde_t, clipped at t = 0.
    pub posterior_log_variance_clipped: GpuTensor,
}

/// Record the moments of q(x_{t-1} | x_t, x_0).
pub fn q_posterior_mean_variance(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    t: &GpuSteps,
    x_start: &GpuTensor,
    x_t: &GpuTensor,
) -> Result<QPosterior> {
    let sample_len = batch_layout(t, &[("x_start", x_start), ("x_t", x_t)])?;
    let out = QPosterior {
        posterior_mean: GpuTensor::zeros(ctx, x_start.shape())?,
        posterior_variance: GpuTensor::zeros(ctx, x_start.shape())?,
        posterior_log_variance_clipped: GpuTensor::zeros(ctx, x_start.shape())?,
    };
    let params = ElementParams::new(
        u32_len(x_start.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        &ModelOptions::default(),
    );
    elementwise(
        ctx,
        encoder,
        Kernel::QPosteriorMeanVariance,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x_start.buffer(),
            x_t.buffer(),
            out.posterior_mean.buffer(),
            out.posterior_variance.buffer(),
            out.posterior_log_variance_clipped.buffer(),
        ],
    )?;
    Ok(out)
}
