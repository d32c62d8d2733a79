//! Host side of `shaders/normal_kl.wgsl`; CPU twin `crate::cpu::kernels::normal_kl`.

use super::u32_len;
use crate::error::Result;
use crate::gpu::runtime::launch::{elementwise, same_shapes};
use crate::gpu::runtime::params::ElementParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuTensor};
use crate::options::ModelOptions;

/// Record elementwise KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) in nats.
pub fn normal_kl(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    mean1: &GpuTensor,
    logvar1: &GpuTensor,
    mean2: &GpuTensor,
    logvar2: &GpuTensor,
) -> Result<GpuTensor> {
    same_shapes(&[
        ("mean1", mean1),
        ("logvar1", logvar1),
        ("mean2", mean2),
        ("logvar2", logvar2),
    ])?;
    let kl = GpuTensor::zeros(ctx, mean1.shape())?;
    let n = u32_len(mean1.len());
    let params = ElementParams::new(n, n, 1, &ModelOptions::default());
    elementwise(
        ctx,
        encoder,
        Kernel::NormalKl,
        &params,
        &[
            mean1.buffer(),
            logvar1.buffer(),
            mean2.buffer(),
            logvar2.buffer(),
            kl.buffer(),
        ],
    )?;
    Ok(kl)
}
