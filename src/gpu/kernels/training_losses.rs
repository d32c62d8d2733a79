//! Host side of `shaders/training_losses.wgsl` (then `shaders/sample_mean.wgsl`); CPU twin
//! `crate::cpu::kernels::training_losses`.

use super::{u32_len, GpuModelOut};
use crate::cpu::kernels::training_losses::check_loss;
use crate::error::Result;
use crate::gpu::runtime::launch::{batch_layout, elementwise};
use crate::gpu::runtime::params::{loss_type_code, ElementParams};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuSteps, GpuTables, GpuTensor};
use crate::options::{LossType, ModelOptions};

/// Record the per-sample training loss, shape \[B\]: mse against the mean type's target, or the
/// vb term in bits/dim (kl). The original uses clip_denoised = false here.
#[allow(clippy::too_many_arguments)] // the original's arguments plus the device handles
pub fn training_losses(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    opts: &ModelOptions,
    loss: LossType,
    t: &GpuSteps,
    x_start: &GpuTensor,
    noise: &GpuTensor,
    model: GpuModelOut<'_>,
) -> Result<GpuTensor> {
    check_loss(opts, loss)?;
    let model_var = model.var_binding(opts)?;
    let sample_len = batch_layout(
        t,
        &[
            ("x_start", x_start),
            ("noise", noise),
            ("model_output", model.output),
            ("model_var", model_var),
        ],
    )?;
    let terms = GpuTensor::zeros(ctx, x_start.shape())?;
    let mut params = ElementParams::new(
        u32_len(x_start.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        opts,
    );
    params.loss_type = loss_type_code(loss);
    elementwise(
        ctx,
        encoder,
        Kernel::TrainingLosses,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x_start.buffer(),
            noise.buffer(),
            model.output.buffer(),
            model_var.buffer(),
            terms.buffer(),
        ],
    )?;
    let scale = match loss {
        LossType::Kl => 1.0 / std::f64::consts::LN_2,
        LossType::Mse => 1.0,
    };
    crate::gpu::kernels::sample_mean::sample_mean(ctx, encoder, &terms, scale)
}
