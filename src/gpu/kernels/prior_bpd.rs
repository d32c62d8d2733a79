//! Host side of `shaders/prior_bpd.wgsl` (then `shaders/sample_mean.wgsl`); CPU twin
//! `crate::cpu::kernels::prior_bpd`.

use super::u32_len;
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::elementwise;
use crate::gpu::runtime::params::ElementParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// Record KL(q(x_{T-1} | x_0) || N(0, I)) per sample in bits/dim; shape \[B\].
pub fn prior_bpd(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    tables: &GpuTables,
    x_start: &GpuTensor,
) -> Result<GpuTensor> {
    if x_start.shape().is_empty() {
        return Err(Error::ShapeMismatch(
            "x_start needs a batch dimension".into(),
        ));
    }
    let terms = GpuTensor::zeros(ctx, x_start.shape())?;
    let n = u32_len(x_start.len());
    let params = ElementParams::new(
        n,
        n,
        u32_len(tables.num_timesteps()),
        &ModelOptions::default(),
    );
    elementwise(
        ctx,
        encoder,
        Kernel::PriorBpd,
        &params,
        &[tables.buffer(), x_start.buffer(), terms.buffer()],
    )?;
    crate::gpu::kernels::sample_mean::sample_mean(
        ctx,
        encoder,
        &terms,
        1.0 / std::f64::consts::LN_2,
    )
}
