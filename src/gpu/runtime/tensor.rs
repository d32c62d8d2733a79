//! Device tensors: f32 data with a shape, and per-sample timesteps. Upload, allocate, read back.

use crate::error::{Error, Result};
use crate::gpu::runtime::tables::GpuTables;
use crate::gpu::Context;

/// Indices in the kernels are u32 and advance by a grid stride; keeping element counts below
/// 2^31 means `i + stride` can never wrap.
const MAX_ELEMENTS: usize = 1 << 31;

/// An f32 tensor in a storage buffer, C order, batch dimension first.
#[derive(Debug)]
pub struct GpuTensor {
    buffer: wgpu::Buffer,
    shape: Vec<usize>,
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// Elements in `shape`, rejecting empty tensors, ones whose indices would pass
/// [`MAX_ELEMENTS`], and ones larger than the device binds as one storage buffer.
fn checked_len(ctx: &Context, shape: &[usize]) -> Result<usize> {
    checked_len_of(ctx, "tensor", shape)
}

/// [`checked_len`] with `what` naming the tensor in the errors.
fn checked_len_of(ctx: &Context, what: &str, shape: &[usize]) -> Result<usize> {
    let n = shape
        .iter()
        .try_fold(1u128, |a, &d| a.checked_mul(d as u128))
        .unwrap_or(u128::MAX);
    if n == 0 {
        return Err(Error::ShapeMismatch(format!(
            "tensor of shape {shape:?} is empty"
        )));
    }
    ctx.check_buffer(
        &format!("{what} of shape {shape:?}"),
        n.saturating_mul(4),
        USAGE,
    )?;
    match usize::try_from(n) {
        Ok(n) if n < MAX_ELEMENTS => Ok(n),
        _ => Err(Error::TooManyItems {
            what: "tensor elements",
            count: n,
            limit: MAX_ELEMENTS as u64,
        }),
    }
}

impl GpuTensor {
    /// Upload `data` with `shape`.
    pub fn from_slice(ctx: &Context, shape: &[usize], data: &[f32]) -> Result<Self> {
        Self::from_slice_named(ctx, "tensor", shape, data)
    }

    /// [`GpuTensor::from_slice`], with `what` naming it in a size error.
    pub fn from_slice_named(
        ctx: &Context,
        what: &str,
        shape: &[usize],
        data: &[f32],
    ) -> Result<Self> {
        let n = checked_len_of(ctx, what, shape)?;
        if n != data.len() {
            return Err(Error::ShapeMismatch(format!(
                "shape {shape:?} needs {n} elements, data has {}",
                data.len()
            )));
        }
        let buffer = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("tensor"),
            contents: bytemuck::cast_slice(data),
            usage: USAGE,
        })?;
        Ok(GpuTensor {
            buffer,
            shape: shape.to_vec(),
        })
    }

    /// A zero-filled tensor (wgpu zero-initialises new buffers).
    pub fn zeros(ctx: &Context, shape: &[usize]) -> Result<Self> {
        Self::zeros_named(ctx, "tensor", shape)
    }

    /// [`GpuTensor::zeros`], with `what` naming it in a size error (e.g. "mixture weights").
    pub fn zeros_named(ctx: &Context, what: &str, shape: &[usize]) -> Result<Self> {
        let n = checked_len_of(ctx, what, shape)?;
        let buffer = ctx.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tensor"),
            size: n as u64 * 4,
            usage: USAGE,
            mapped_at_creation: false,
        })?;
        Ok(GpuTensor {
            buffer,
            shape: shape.to_vec(),
        })
    }

    /// Wrap an application's buffer of at least `shape`'s element count of f32 (embedding). It
    /// needs STORAGE usage, and COPY_SRC to be read back with [`GpuTensor::to_vec`].
    pub fn from_buffer(ctx: &Context, buffer: wgpu::Buffer, shape: &[usize]) -> Result<Self> {
        let n = checked_len(ctx, shape)?;
        if buffer.size() < n as u64 * 4 {
            return Err(Error::ShapeMismatch(format!(
                "buffer of {} bytes is too small for shape {shape:?}",
                buffer.size()
            )));
        }
        Ok(GpuTensor {
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

    /// The storage buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Copy the tensor back to the host (submits and waits).
    pub fn to_vec(&self, ctx: &Context) -> Result<Vec<f32>> {
        read_buffer_as(ctx, &self.buffer, self.len())
    }
}

/// Copy `size` bytes of `buffer` to the host through a staging buffer.
pub fn read_buffer(ctx: &Context, buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
    let len = usize::try_from(size).map_err(|_| Error::OutOfMemory(format!("{size} bytes")))?;
    read_buffer_as(ctx, buffer, len)
}

/// Copy the first `len` values of `T` in `buffer` to the host through a staging buffer. The
/// host vector is reserved fallibly: a read-back too large for the host's memory is
/// [`Error::OutOfMemory`], not an abort.
pub fn read_buffer_as<T: bytemuck::Pod>(
    ctx: &Context,
    buffer: &wgpu::Buffer,
    len: usize,
) -> Result<Vec<T>> {
    let mut encoder = ctx.encoder();
    let staged = crate::gpu::runtime::readback::stage(ctx, &mut encoder, buffer, len)?;
    ctx.submit(encoder)?;
    staged.read(ctx)
}

/// One timestep per sample, as u32, validated against T when created.
#[derive(Debug)]
pub struct GpuSteps {
    buffer: wgpu::Buffer,
    len: usize,
}

impl GpuSteps {
    /// Upload `t`, each entry checked to lie in [0, T) of `tables`.
    pub fn new(ctx: &Context, tables: &GpuTables, t: &[u32]) -> Result<Self> {
        Self::below(ctx, tables.num_timesteps(), t)
    }

    /// Upload `t`, each entry checked to lie in [0, num_timesteps).
    pub fn below(ctx: &Context, num_timesteps: usize, t: &[u32]) -> Result<Self> {
        if t.is_empty() {
            return Err(Error::ShapeMismatch("t is empty".into()));
        }
        crate::cpu::kernels::common::check_timesteps(t, num_timesteps)?;
        let buffer = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("timesteps"),
            contents: bytemuck::cast_slice(t),
            usage: USAGE,
        })?;
        Ok(GpuSteps {
            buffer,
            len: t.len(),
        })
    }

    /// B.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: empty step arrays cannot be created.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `array<u32>` storage buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}
