//! The one place the library creates device buffers. Every size is checked against the
//! device's limits before wgpu sees it: `max_buffer_size` for any buffer, and the binding-size
//! limit of each binding kind the usage allows (storage, uniform), since the library binds its
//! buffers whole. An over-limit request is an [`Error::BufferTooLarge`] naming the buffer and the
//! excess; wgpu would otherwise hand back an invalid buffer, and `create_buffer_init` panics on
//! mapping one.
//!
//! Uploads use `queue.write_buffer` into an unmapped buffer rather than `mapped_at_creation`:
//! if the allocation fails anyway (out of memory), the write is a captured error, not a panic on
//! the mapped range of an invalid buffer.
//!
//! Counts of what was created here feed [`Context::memory`] (the soak test reads them).

use crate::error::{Error, Result};
use crate::gpu::Context;
use std::sync::atomic::Ordering;

/// Bytes of `count` items of `item_bytes` each, exactly (no wrap-around): an error naming `what`
/// when it does not fit in u64.
pub fn array_bytes(what: &str, count: usize, item_bytes: usize) -> Result<u64> {
    let bytes = count as u128 * item_bytes as u128;
    u64::try_from(bytes).map_err(|_| Error::BufferTooLarge {
        what: what.into(),
        bytes,
        limit_name: "u64 byte count",
        limit: u64::MAX,
    })
}

/// Elements of `shape` (1 for `[]`), or an error naming `what` when their f32 bytes could not
/// be one host allocation (past `isize::MAX`), so `n * 4` fits in usize and u64 afterwards.
pub fn elements(what: &str, shape: &[usize]) -> Result<usize> {
    let n = shape
        .iter()
        .try_fold(1u128, |a, &d| a.checked_mul(d as u128))
        .unwrap_or(u128::MAX);
    let bytes = n.saturating_mul(4);
    match usize::try_from(n) {
        Ok(n) if bytes <= isize::MAX as u128 => Ok(n),
        _ => Err(Error::BufferTooLarge {
            what: what.into(),
            bytes,
            limit_name: "host allocation limit (isize::MAX)",
            limit: isize::MAX as u64,
        }),
    }
}

/// Device memory as the library and wgpu see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceMemory {
    /// Buffers the library created on this context since it was made.
    pub buffers_created: u64,
    /// Their sizes, added up.
    pub bytes_created: u64,
    /// Buffers alive on the device now (all of them, the application's too), by wgpu's own
    /// counters; freed buffers leave this count once wgpu has retired them (after a poll).
    pub live_buffers: u64,
    /// Device memory bound to live buffers, where wgpu counts it (Vulkan, DX12); `None` on
    /// backends that do not (GL, Metal).
    pub live_buffer_bytes: Option<u64>,
}

impl Context {
    /// Check that a buffer of `bytes` with `usage`, named `what` in the error, is within the
    /// device's limits, without creating it: callers use it before building large host data.
    pub fn check_buffer(&self, what: &str, bytes: u128, usage: wgpu::BufferUsages) -> Result<()> {
        self.check_alive()?;
        let l = self.limits();
        let mut checks = vec![("max_buffer_size", l.max_buffer_size)];
        if usage.contains(wgpu::BufferUsages::STORAGE) {
            let binding = l.max_storage_buffer_binding_size;
            checks.push(("max_storage_buffer_binding_size", binding));
        }
        if usage.contains(wgpu::BufferUsages::UNIFORM) {
            let binding = l.max_uniform_buffer_binding_size;
            checks.push(("max_uniform_buffer_binding_size", binding));
        }
        // The tightest limit exceeded, so the message says what would have to change.
        let exceeded = checks
            .into_iter()
            .filter(|&(_, limit)| bytes > u128::from(limit))
            .min_by_key(|&(_, limit)| limit);
        match exceeded {
            Some((limit_name, limit)) => Err(Error::BufferTooLarge {
                what: what.into(),
                bytes,
                limit_name,
                limit,
            }),
            None => Ok(()),
        }
    }

    /// `wgpu::Device::create_buffer`, checked against the limits and inside error scopes.
    pub fn create_buffer(&self, desc: &wgpu::BufferDescriptor<'_>) -> Result<wgpu::Buffer> {
        let what = desc.label.unwrap_or("buffer");
        self.check_buffer(what, u128::from(desc.size), desc.usage)?;
        let buffer = self.checked(|| self.device.create_buffer(desc))?;
        self.count(desc.size);
        Ok(buffer)
    }

    /// A buffer holding `desc.contents` (padded with zeros to a multiple of 4 bytes), checked
    /// like [`Context::create_buffer`]; `COPY_DST` is added to the usage for the upload.
    pub fn create_buffer_init(
        &self,
        desc: &wgpu::util::BufferInitDescriptor<'_>,
    ) -> Result<wgpu::Buffer> {
        let align = wgpu::COPY_BUFFER_ALIGNMENT as usize;
        let contents = desc.contents;
        let size = contents.len().div_ceil(align) * align;
        let buffer = self.create_buffer(&wgpu::BufferDescriptor {
            label: desc.label,
            size: size as u64,
            usage: desc.usage | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })?;
        if size > 0 {
            self.checked(|| {
                if contents.len() == size {
                    self.queue.write_buffer(&buffer, 0, contents);
                } else {
                    let mut padded = contents.to_vec();
                    padded.resize(size, 0);
                    self.queue.write_buffer(&buffer, 0, &padded);
                }
            })?;
        }
        Ok(buffer)
    }

    /// A uniform buffer holding `params`. Parameter structs are at most a few hundred bytes,
    /// far below the 16 KiB every WebGPU device must allow per uniform binding (asserted at
    /// compile time), so this cannot exceed a limit and needs no `Result` for it; it still goes
    /// through the counts. A failed allocation (out of memory, lost device) is reported by the
    /// error scope around the caller's bind group and dispatch, as every use of it is.
    pub(crate) fn uniform_buffer<P: bytemuck::Pod>(&self, params: &P) -> wgpu::Buffer {
        const { assert!(std::mem::size_of::<P>() <= 16 << 10) };
        let bytes = bytemuck::bytes_of(params);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: bytes.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buffer, 0, bytes);
        self.count(bytes.len() as u64);
        buffer
    }

    fn count(&self, bytes: u64) {
        let counts = self.alloc_counts();
        counts.buffers.fetch_add(1, Ordering::Relaxed);
        counts.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// What the library created on this context, and what wgpu holds on its device now.
    pub fn memory(&self) -> DeviceMemory {
        let counts = self.alloc_counts();
        let hal = self.device.get_internal_counters().hal;
        let counted = matches!(
            self.adapter_info().backend,
            wgpu::Backend::Vulkan | wgpu::Backend::Dx12
        );
        let non_negative = |v: isize| u64::try_from(v).unwrap_or(0);
        DeviceMemory {
            buffers_created: counts.buffers.load(Ordering::Relaxed),
            bytes_created: counts.bytes.load(Ordering::Relaxed),
            live_buffers: non_negative(hal.buffers.read()),
            live_buffer_bytes: counted.then(|| non_negative(hal.buffer_memory.read())),
        }
    }
}
