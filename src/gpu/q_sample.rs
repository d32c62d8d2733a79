//! Host side of `shaders/q_sample.wgsl`; CPU twin `crate::cpu::q_sample`.

use super::kernels::Kernel;
use super::launch::{batch_layout, elementwise};
use super::params::ElementParams;
use super::{u32_len, Context, GpuSteps, GpuTables, GpuTensor};
use crate::error::Result;
use crate::options::ModelOptions;

/// Record forward noising x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise.
pub fn q_sample(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    t: &GpuSteps,
    x_start: &GpuTensor,
    noise: &GpuTensor,
) -> Result<GpuTensor> {
    let sample_len = batch_layout(t, &[("x_start", x_start), ("noise", noise)])?;
    let x_t = GpuTensor::zeros(ctx, x_start.shape())?;
    let params = ElementParams::new(
        u32_len(x_start.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        &ModelOptions::default(),
    );
    elementwise(
        ctx,
        encoder,
        Kernel::QSample,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x_start.buffer(),
            noise.buffer(),
            x_t.buffer(),
        ],
    )?;
    Ok(x_t)
}
