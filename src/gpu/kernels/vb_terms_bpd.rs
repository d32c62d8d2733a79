//! Host side of `shaders/vb_terms_bpd.wgsl` (then `shaders/sample_mean.wgsl`); CPU twin
//! `crate::cpu::kernels::vb_terms_bpd`.

use super::{u32_len, GpuModelOut};
use crate::error::Result;
use crate::gpu::runtime::launch::{batch_layout, elementwise};
use crate::gpu::runtime::params::ElementParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuSteps, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// `_vb_terms_bpd` outputs.
#[derive(Debug)]
pub struct VbTerms {
    /// Per sample, bits/dim, shape \[B\].
    pub output: GpuTensor,
    /// The predicted x_0, x's shape.
    pub pred_xstart: GpuTensor,
}

/// Record one variational-bound term per sample in bits/dim: the decoder NLL where t = 0, else
/// KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)).
#[allow(clippy::too_many_arguments)] // the original's arguments plus the device handles
pub fn vb_terms_bpd(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    opts: &ModelOptions,
    t: &GpuSteps,
    x_start: &GpuTensor,
    x_t: &GpuTensor,
    model: GpuModelOut<'_>,
) -> Result<VbTerms> {
    let model_var = model.var_binding(opts)?;
    let sample_len = batch_layout(
        t,
        &[
            ("x_start", x_start),
            ("x_t", x_t),
            ("model_output", model.output),
            ("model_var", model_var),
        ],
    )?;
    let terms = GpuTensor::zeros(ctx, x_start.shape())?;
    let pred_xstart = GpuTensor::zeros(ctx, x_start.shape())?;
    let params = ElementParams::new(
        u32_len(x_start.len()),
        u32_len(sample_len),
        u32_len(tables.num_timesteps()),
        opts,
    );
    elementwise(
        ctx,
        encoder,
        Kernel::VbTermsBpd,
        &params,
        &[
            tables.buffer(),
            t.buffer(),
            x_start.buffer(),
            x_t.buffer(),
            model.output.buffer(),
            model_var.buffer(),
            terms.buffer(),
            pred_xstart.buffer(),
        ],
    )?;
    let output = crate::gpu::kernels::sample_mean::sample_mean(
        ctx,
        encoder,
        &terms,
        1.0 / std::f64::consts::LN_2,
    )?;
    Ok(VbTerms {
        output,
        pred_xstart,
    })
}
