//! Host side of `shaders/p_sample.wgsl`; CPU twin `crate::cpu::p_sample`.

use super::kernels::Kernel;
use super::launch::{batch_layout, elementwise};
use super::params::ElementParams;
use super::{u32_len, Context, GpuModelOut, GpuSteps, GpuTables, GpuTensor};
use crate::error::Result;
use crate::options::ModelOptions;

/// `p_sample` outputs, each of x's shape.
#[derive(Debug)]
pub struct PSample {
    /// x_{t-1}.
    pub sample: GpuTensor,
    /// The predicted x_0.
    pub pred_xstart: GpuTensor,
}

/// Record one reverse step x_{t-1} = mean + [t != 0] exp(0.5 logvar) noise.
#[allow(clippy::too_many_arguments)] // the original's arguments plus the device handles
pub fn p_sample(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    opts: &ModelOptions,
    t: &GpuSteps,
    x: &GpuTensor,
    model: GpuModelOut<'_>,
    noise: &GpuTensor,
) -> Result<PSample> {
    let model_var = model.var_binding(opts)?;
    let sample_len = batch_layout(
        t,
        &[
            ("x", x),
            ("model_output", model.output),
            ("model_var", model_var),
            ("noise", noise),
        ],
    )?;
    let out = PSample {
        sample: GpuTensor::zeros(ctx, x.shape())?,
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
        Kernel::PSample,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x.buffer(),
            model.output.buffer(),
            model_var.buffer(),
            noise.buffer(),
            out.sample.buffer(),
            out.pred_xstart.buffer(),
        ],
    )?;
    Ok(out)
}
