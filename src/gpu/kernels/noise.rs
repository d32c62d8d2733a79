//! Host side of `shaders/noise.wgsl`; CPU twin `crate::cpu::kernels::noise`.

use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{groups_1d, record};
use crate::gpu::runtime::params::NoiseParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuTensor};

/// Record filling `out` ([B, ...]) with standard normals keyed by (seed, stream, step, global
/// sample, element); `first_sample` is the global index of `out`'s first sample.
pub fn noise_into(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    seed: u64,
    stream: u32,
    step: u32,
    first_sample: u32,
    out: &GpuTensor,
) -> Result<()> {
    noise_into_scaled(ctx, encoder, (seed, stream, step, first_sample), 1.0, out)
}

/// [`noise_into`] with every draw multiplied by `scale` in f32 (a sampler's x_T scale).
pub fn noise_into_scaled(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    (seed, stream, step, first_sample): (u64, u32, u32, u32),
    scale: f32,
    out: &GpuTensor,
) -> Result<()> {
    let batch = *out
        .shape()
        .first()
        .ok_or_else(|| Error::ShapeMismatch("noise needs a batch dimension".into()))?;
    let params = NoiseParams {
        scale,
        ..NoiseParams::new(seed, stream, step, first_sample, batch, out.len() / batch)
    };
    // One invocation per four elements of a sample (shaders/noise.wgsl).
    let quads = (params.n_elements / params.sample_len.max(1)) * params.sample_len.div_ceil(4);
    let groups = groups_1d(ctx, quads);
    record(
        ctx,
        encoder,
        Kernel::Noise,
        &params,
        &[out.buffer()],
        (groups, 1),
    )
}

/// Record a new tensor of `shape` filled with normals (see [`noise_into`]).
pub fn noise(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    seed: u64,
    stream: u32,
    step: u32,
    first_sample: u32,
    shape: &[usize],
) -> Result<GpuTensor> {
    let out = GpuTensor::zeros(ctx, shape)?;
    noise_into(ctx, encoder, seed, stream, step, first_sample, &out)?;
    Ok(out)
}
