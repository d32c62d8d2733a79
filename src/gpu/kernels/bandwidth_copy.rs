//! Host side of `shaders/bandwidth_copy.wgsl`; CPU twin `crate::cpu::kernels::bandwidth_copy`.

use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{groups_2d, record};
use crate::gpu::runtime::params::CopyParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::shaders::WG_SIZE;
use crate::gpu::{Context, GpuTensor};

/// Record a vec4 copy of `src` into `dst` (same length, a multiple of 4 elements).
pub fn bandwidth_copy(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    src: &GpuTensor,
    dst: &GpuTensor,
) -> Result<()> {
    if src.len() != dst.len() || !src.len().is_multiple_of(4) {
        return Err(Error::ShapeMismatch(format!(
            "copy needs equal lengths that are multiples of 4, got {} and {}",
            src.len(),
            dst.len()
        )));
    }
    let n_vec4 = (src.len() / 4) as u32;
    let params = CopyParams {
        n_vec4,
        ..Default::default()
    };
    // vec4s_per_invocation vec4s per invocation; rows of workgroups past the per-dimension
    // limit.
    let tile = WG_SIZE * Kernel::BandwidthCopy.vec4s_per_invocation();
    let groups = groups_2d(ctx, n_vec4.div_ceil(tile));
    record(
        ctx,
        encoder,
        Kernel::BandwidthCopy,
        &params,
        &[src.buffer(), dst.buffer()],
        groups,
    )
}
