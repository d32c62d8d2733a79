//! Host side of `shaders/q_sample.wgsl` and `shaders/q_sample_vec4.wgsl` (picked when the
//! sample length is a multiple of 4), and `shaders/q_sample_f16.wgsl` for f16 storage; CPU twin
//! `crate::cpu::kernels::q_sample`.

use super::u32_len;
use crate::error::Result;
use crate::gpu::runtime::launch::{
    batch_layout, elementwise_vec4_or_scalar, output_shape, record_with,
};
use crate::gpu::runtime::params::{ElementParams, PipelineConstants};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::tensor_f16::{f16_grid, GpuTensorF16};
use crate::gpu::{Context, GpuSteps, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// Record forward noising x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise into a new tensor.
pub fn q_sample(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    t: &GpuSteps,
    x_start: &GpuTensor,
    noise: &GpuTensor,
) -> Result<GpuTensor> {
    batch_layout(t, &[("x_start", x_start), ("noise", noise)])?;
    let x_t = GpuTensor::zeros(ctx, x_start.shape())?;
    q_sample_into(ctx, encoder, tables, t, x_start, noise, &x_t)?;
    Ok(x_t)
}

/// [`q_sample`] into the caller's `x_t` (x_start's shape): no allocation per call, for loops
/// and embedders that reuse their buffers.
pub fn q_sample_into(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    t: &GpuSteps,
    x_start: &GpuTensor,
    noise: &GpuTensor,
    x_t: &GpuTensor,
) -> Result<()> {
    let sample_len = batch_layout(t, &[("x_start", x_start), ("noise", noise)])?;
    output_shape("x_t", x_t, x_start)?;
    let params = ElementParams::new(
        u32_len(x_start.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        &ModelOptions::default(),
    );
    elementwise_vec4_or_scalar(
        ctx,
        encoder,
        (Kernel::QSampleVec4, Kernel::QSample),
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x_start.buffer(),
            noise.buffer(),
            x_t.buffer(),
        ],
    )
}

/// [`q_sample_into`] on f16 storage: inputs and output rounded to half precision, the
/// arithmetic in f32. Half the bytes of f32 storage; each stored value carries a rounding of
/// up to 2^-11 relative.
pub fn q_sample_f16(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    t: &GpuSteps,
    x_start: &GpuTensorF16,
    noise: &GpuTensorF16,
    x_t: &GpuTensorF16,
) -> Result<()> {
    let sample_len = batch_layout(t, &[("x_start", x_start), ("noise", noise), ("x_t", x_t)])?;
    let params = ElementParams::new(
        u32_len(x_start.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        &ModelOptions::default(),
    );
    let batch = x_start.len() / sample_len.max(1);
    let (groups, grid) = f16_grid(ctx, Kernel::QSampleF16, batch, sample_len);
    record_with(
        ctx,
        encoder,
        Kernel::QSampleF16,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x_start.buffer(),
            noise.buffer(),
            x_t.buffer(),
        ],
        groups,
        PipelineConstants::on_grid(grid),
    )
}
