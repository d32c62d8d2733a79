//! Host side of `shaders/philox_bits.wgsl`; CPU twin `crate::cpu::kernels::philox_bits`. A diagnostic:
//! the raw generator words, read back, for bit-for-bit comparison with Rust.

use crate::error::Result;
use crate::gpu::runtime::launch::{groups_1d, record};
use crate::gpu::runtime::params::NoiseParams;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::tensor::read_buffer;
use crate::gpu::Context;

/// The four Philox words of every element of `batch` samples of `sample_len`, computed on the
/// device and read back (submits and waits).
pub fn philox_bits(
    ctx: &Context,
    seed: u64,
    stream: u32,
    step: u32,
    first_sample: u32,
    batch: usize,
    sample_len: usize,
) -> Result<Vec<[u32; 4]>> {
    // NoiseParams holds the element count as u32; the kernel indexes below 2^31.
    let n = crate::gpu::runtime::alloc::elements("philox bits", &[batch, sample_len])?;
    if n >= 1 << 31 {
        return Err(crate::Error::TooManyItems {
            what: "philox elements",
            count: n as u128,
            limit: 1 << 31,
        });
    }
    let params = NoiseParams::new(seed, stream, step, first_sample, batch, sample_len);
    let size = crate::gpu::runtime::alloc::array_bytes("philox bits", n, 16)?;
    let out = ctx.create_buffer(&wgpu::BufferDescriptor {
        label: Some("philox bits"),
        size,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })?;
    let mut enc = ctx.encoder();
    let groups = groups_1d(ctx, params.n_elements);
    record(
        ctx,
        &mut enc,
        Kernel::PhiloxBits,
        &params,
        &[&out],
        (groups, 1),
    )?;
    ctx.submit(enc)?;
    let bytes = read_buffer(ctx, &out, size)?;
    let words: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes);
    Ok(words
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect())
}
