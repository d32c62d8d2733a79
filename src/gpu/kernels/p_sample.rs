//! Host side of `shaders/p_sample.wgsl` and `shaders/p_sample_vec4.wgsl` (picked when the
//! sample length is a multiple of 4), and `shaders/p_sample_f16.wgsl` for f16 storage; CPU twin
//! `crate::cpu::kernels::p_sample`.

use super::{u32_len, GpuModelOut};
use crate::error::Result;
use crate::gpu::runtime::launch::{
    batch_layout, elementwise_vec4_or_scalar, output_shape, record_with,
};
use crate::gpu::runtime::params::{ElementParams, PipelineConstants};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::tensor_f16::{f16_grid, GpuTensorF16};
use crate::gpu::{Context, GpuSteps, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// `p_sample` outputs, each of x's shape.
#[derive(Debug)]
pub struct PSample {
    /// x_{t-1}.
    pub sample: GpuTensor,
    /// The predicted x_0.
    pub pred_xstart: GpuTensor,
}

/// Record one reverse step x_{t-1} = mean + [t != 0] exp(0.5 logvar) noise into new tensors.
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
    batch_layout(
        t,
        &[("x", x), ("model_output", model.output), ("noise", noise)],
    )?;
    let out = PSample {
        sample: GpuTensor::zeros(ctx, x.shape())?,
        pred_xstart: GpuTensor::zeros(ctx, x.shape())?,
    };
    p_sample_into(ctx, encoder, tables, opts, t, x, model, noise, &out)?;
    Ok(out)
}

/// [`p_sample`] into the caller's `out` (each of x's shape): no allocation per call.
#[allow(clippy::too_many_arguments)] // p_sample's arguments plus the output
pub fn p_sample_into(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    opts: &ModelOptions,
    t: &GpuSteps,
    x: &GpuTensor,
    model: GpuModelOut<'_>,
    noise: &GpuTensor,
    out: &PSample,
) -> Result<()> {
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
    output_shape("sample", &out.sample, x)?;
    output_shape("pred_xstart", &out.pred_xstart, x)?;
    let params = ElementParams::new(
        u32_len(x.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        opts,
    );
    elementwise_vec4_or_scalar(
        ctx,
        encoder,
        (Kernel::PSampleVec4, Kernel::PSample),
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
    )
}

/// The f16 tensors of [`p_sample_f16`]: the model's outputs in, the step's outputs out.
#[derive(Clone, Copy, Debug)]
pub struct PSampleF16<'a> {
    /// eps, x_0 or x_{t-1}, by mean type.
    pub model_output: &'a GpuTensorF16,
    /// The learned types' variance output; `None` for fixed types.
    pub model_var: Option<&'a GpuTensorF16>,
    /// Where x_{t-1} goes.
    pub sample: &'a GpuTensorF16,
    /// Where the predicted x_0 goes.
    pub pred_xstart: &'a GpuTensorF16,
}

/// [`p_sample_into`] on f16 storage: every tensor in half precision, the arithmetic in f32.
#[allow(clippy::too_many_arguments)] // p_sample's arguments, in f16
pub fn p_sample_f16(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    opts: &ModelOptions,
    t: &GpuSteps,
    x: &GpuTensorF16,
    noise: &GpuTensorF16,
    io: PSampleF16<'_>,
) -> Result<()> {
    let model_var = super::var_binding(opts, io.model_output, io.model_var)?;
    let sample_len = batch_layout(
        t,
        &[
            ("x", x),
            ("model_output", io.model_output),
            ("model_var", model_var),
            ("noise", noise),
            ("sample", io.sample),
            ("pred_xstart", io.pred_xstart),
        ],
    )?;
    let params = ElementParams::new(
        u32_len(x.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        opts,
    );
    let batch = x.len() / sample_len.max(1);
    let (groups, grid) = f16_grid(ctx, Kernel::PSampleF16, batch, sample_len);
    record_with(
        ctx,
        encoder,
        Kernel::PSampleF16,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x.buffer(),
            io.model_output.buffer(),
            model_var.buffer(),
            noise.buffer(),
            io.sample.buffer(),
            io.pred_xstart.buffer(),
        ],
        groups,
        PipelineConstants::on_grid(grid).with_model(&params),
    )
}
