//! Host side of `shaders/q_mean_variance.wgsl`; CPU twin `crate::cpu::kernels::q_mean_variance`.

use super::u32_len;
use crate::error::Result;
use crate::gpu::runtime::launch::{batch_layout, elementwise};
use crate::gpu::runtime::params::ElementParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuSteps, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// `q_mean_variance` outputs, each of x's shape.
#[derive(Debug)]
pub struct QMeanVariance {
    /// sqrt(abar_t) x_0.
    pub mean: GpuTensor,
    /// 1 - abar_t.
    pub variance: GpuTensor,
    /// log(1 - abar_t).
    pub log_variance: GpuTensor,
}

/// Record the moments of q(x_t | x_0).
pub fn q_mean_variance(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    t: &GpuSteps,
    x_start: &GpuTensor,
) -> Result<QMeanVariance> {
    let sample_len = batch_layout(t, &[("x_start", x_start)])?;
    let out = QMeanVariance {
        mean: GpuTensor::zeros(ctx, x_start.shape())?,
        variance: GpuTensor::zeros(ctx, x_start.shape())?,
        log_variance: GpuTensor::zeros(ctx, x_start.shape())?,
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
        Kernel::QMeanVariance,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x_start.buffer(),
            out.mean.buffer(),
            out.variance.buffer(),
            out.log_variance.buffer(),
        ],
    )?;
    Ok(out)
}
