//! Host side of `shaders/p_mean_variance.wgsl`; CPU twin `crate::cpu::kernels::p_mean_variance`.

use super::{u32_len, GpuModelOut};
use crate::error::Result;
use crate::gpu::runtime::launch::{batch_layout, elementwise};
use crate::gpu::runtime::params::ElementParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuSteps, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// `p_mean_variance` outputs, each of x's shape.
#[derive(Debug)]
pub struct PMeanVariance {
    /// The reverse-step mean.
    pub model_mean: GpuTensor,
    /// The reverse-step variance.
    pub model_variance: GpuTensor,
    /// The reverse-step log-variance.
    pub model_log_variance: GpuTensor,
    /// The predicted x_0.
    pub pred_xstart: GpuTensor,
}

/// Record p(x_{t-1} | x_t)'s moments from the model's outputs.
pub fn p_mean_variance(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    opts: &ModelOptions,
    t: &GpuSteps,
    x: &GpuTensor,
    model: GpuModelOut<'_>,
) -> Result<PMeanVariance> {
    let model_var = model.var_binding(opts)?;
    let sample_len = batch_layout(
        t,
        &[
            ("x", x),
            ("model_output", model.output),
            ("model_var", model_var),
        ],
    )?;
    let out = PMeanVariance {
        model_mean: GpuTensor::zeros(ctx, x.shape())?,
        model_variance: GpuTensor::zeros(ctx, x.shape())?,
        model_log_variance: GpuTensor::zeros(ctx, x.shape())?,
        pred_xstart: GpuTensor::zeros(ctx, x.shape())?,
    };
    let params = ElementParams::new(
        u32_len(x.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        opts,
    );
    elementwise(
        ctx,
        encoder,
        Kernel::PMeanVariance,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x.buffer(),
            model.output.buffer(),
            model_var.buffer(),
            out.model_mean.buffer(),
            out.model_variance.buffer(),
            out.model_log_variance.buffer(),
            out.pred_xstart.buffer(),
        ],
    )?;
    Ok(out)
}
