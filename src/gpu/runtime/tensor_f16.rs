//! Device tensors stored as IEEE half floats (f16), math done in f32 by the kernels that read
//! them: half the memory traffic of f32 storage, at a rounding of 2^-11 relative per stored
//! value; values beyond f16's range (+-65504) are not representable. Packed two to a u32
//! (`pack2x16float`/`unpack2x16float` in WGSL: wgpu's downlevel SHADER_F16_IN_F32, which Vulkan
//! and GLES 3.1 have, not the SHADER_F16 feature that llvmpipe's GL lacks), the buffer padded to
//! whole 16-byte groups of eight values so the kernels can load `vec4<u32>`.

use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{groups_2d, vec4_grid, Grid, Shaped};
use crate::gpu::runtime::params::GRID_FLAT;
use crate::gpu::runtime::shaders::{Kernel, WG_SIZE};
use crate::gpu::runtime::tensor::read_buffer;
use crate::gpu::Context;
use half::f16;

/// Values per 16-byte group, the unit the f16 kernels load and store.
pub const F16_GROUP: usize = 8;

/// An f16 tensor in a storage buffer, C order, batch dimension first.
#[derive(Debug)]
pub struct GpuTensorF16 {
    buffer: wgpu::Buffer,
    shape: Vec<usize>,
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Elements in `shape`, with the same limits as f32 tensors (so indices stay below 2^31), and
/// the packed buffer (whole groups of eight halves) within one storage binding.
fn checked_len(ctx: &Context, shape: &[usize]) -> Result<usize> {
    let n = shape
        .iter()
        .try_fold(1u128, |a, &d| a.checked_mul(d as u128))
        .unwrap_or(u128::MAX);
    if n == 0 {
        return Err(Error::ShapeMismatch(format!(
            "tensor of shape {shape:?} is empty"
        )));
    }
    let bytes = n.div_ceil(F16_GROUP as u128).saturating_mul(16);
    ctx.check_buffer(&format!("f16 tensor of shape {shape:?}"), bytes, USAGE)?;
    match usize::try_from(n) {
        Ok(n) if n < 1 << 31 => Ok(n),
        _ => Err(Error::TooManyItems {
            what: "tensor elements",
            count: n,
            limit: 1 << 31,
        }),
    }
}

impl GpuTensorF16 {
    /// Round `data` to f16 (nearest, ties to even; beyond +-65504 to infinity) and upload it.
    pub fn from_slice(ctx: &Context, shape: &[usize], data: &[f32]) -> Result<Self> {
        let n = checked_len(ctx, shape)?;
        if n != data.len() {
            return Err(Error::ShapeMismatch(format!(
                "shape {shape:?} needs {n} elements, data has {}",
                data.len()
            )));
        }
        let mut halves: Vec<f16> = data.iter().map(|&v| f16::from_f32(v)).collect();
        halves.resize(n.div_ceil(F16_GROUP) * F16_GROUP, f16::ZERO);
        let buffer = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("f16 tensor"),
            contents: bytemuck::cast_slice(&halves),
            usage: USAGE,
        })?;
        Ok(GpuTensorF16 {
            buffer,
            shape: shape.to_vec(),
        })
    }

    /// A zero-filled tensor.
    pub fn zeros(ctx: &Context, shape: &[usize]) -> Result<Self> {
        let n = checked_len(ctx, shape)?;
        let buffer = ctx.create_buffer(&wgpu::BufferDescriptor {
            label: Some("f16 tensor"),
            size: (n.div_ceil(F16_GROUP) * 16) as u64,
            usage: USAGE,
            mapped_at_creation: false,
        })?;
        Ok(GpuTensorF16 {
            buffer,
            shape: shape.to_vec(),
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Always false: empty tensors cannot be created.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The storage buffer (`array<vec4<u32>>` of packed halves).
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Copy the tensor back as f32 (exact: every f16 is an f32).
    pub fn to_vec(&self, ctx: &Context) -> Result<Vec<f32>> {
        let bytes = read_buffer(ctx, &self.buffer, self.buffer.size())?;
        let halves: Vec<f16> = bytemuck::pod_collect_to_vec(&bytes);
        Ok(halves[..self.len()].iter().map(|h| h.to_f32()).collect())
    }
}

/// The grid of an f16 kernel over `batch` samples of `sample_len` values, and its `GRID`
/// constant: `vec4_grid`'s choice over groups of eight when each group lies inside one sample
/// (sample_len a multiple of 8), else the flat grid over every group, where each value finds its
/// own row.
pub(crate) fn f16_grid(
    ctx: &Context,
    kernel: Kernel,
    batch: usize,
    sample_len: usize,
) -> (Grid, u32) {
    if sample_len.is_multiple_of(F16_GROUP) {
        let len8 = (sample_len / F16_GROUP) as u32;
        vec4_grid(ctx, kernel, batch as u32, len8)
    } else {
        let groups = (batch * sample_len).div_ceil(F16_GROUP) as u32;
        let tile = WG_SIZE * kernel.vec4s_per_invocation();
        (Grid::from(groups_2d(ctx, groups.div_ceil(tile))), GRID_FLAT)
    }
}

impl Shaped for GpuTensorF16 {
    fn shape(&self) -> &[usize] {
        GpuTensorF16::shape(self)
    }
}
