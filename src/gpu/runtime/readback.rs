//! Reading a buffer back in two halves: [`stage`] records the copy into a staging buffer in the
//! caller's encoder (so it rides in a submission the caller makes anyway, as the sampling
//! loop's last steps), [`Staged::read`] maps it once that work is done.

use crate::error::{Error, Result};
use crate::gpu::Context;
use std::marker::PhantomData;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A copy of `len` values of `T` recorded into a staging buffer, not yet read.
pub struct Staged<T> {
    staging: wgpu::Buffer,
    out: Vec<T>,
    len: usize,
    _t: PhantomData<T>,
}

/// Record copying the first `len` values of `T` in `buffer` into a new staging buffer. The
/// host vector is reserved here, fallibly, so a read-back too large for the host's memory is
/// [`Error::OutOfMemory`] before any work is submitted, not an abort after it.
pub fn stage<T: bytemuck::Pod>(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    buffer: &wgpu::Buffer,
    len: usize,
) -> Result<Staged<T>> {
    let size = crate::gpu::runtime::alloc::array_bytes("read-back", len, std::mem::size_of::<T>())?;
    let mut out: Vec<T> = Vec::new();
    out.try_reserve_exact(len).map_err(|e| {
        Error::OutOfMemory(format!("host memory for {size} bytes of read-back: {e}"))
    })?;
    let staging = ctx.create_buffer(&wgpu::BufferDescriptor {
        label: Some("read-back staging"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })?;
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
    Ok(Staged {
        staging,
        out,
        len,
        _t: PhantomData,
    })
}

impl<T: bytemuck::Pod> Staged<T> {
    /// Map the staging buffer (after the submission holding the copy) and copy it out.
    pub fn read(self, ctx: &Context) -> Result<Vec<T>> {
        let Staged {
            staging,
            mut out,
            len,
            ..
        } = self;
        let (tx, rx) = std::sync::mpsc::channel();
        // In scopes: on a lost device map_async reports a validation error, which an embedding
        // application's default handler would turn into a panic.
        ctx.checked(|| {
            staging.map_async(wgpu::MapMode::Read, .., move |r| {
                // The receiver outlives the poll below; a failed send only means we stopped
                // waiting.
                let _ = tx.send(r);
            })
        })?;
        ctx.wait()?;
        callback(ctx, &rx)?.map_err(|e| Error::Readback(e.to_string()))?;
        {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| Error::Readback(e.to_string()))?;
            // The staging buffer is 4-byte aligned, a Vec<T> aligned for T: copy bytewise.
            out.resize(len, T::zeroed());
            let dst: &mut [u8] = bytemuck::cast_slice_mut(&mut out);
            let src = view.get(..dst.len()).ok_or_else(|| {
                Error::Readback(format!(
                    "mapped {} bytes, expected {}",
                    view.len(),
                    dst.len()
                ))
            })?;
            dst.copy_from_slice(src);
        }
        ctx.checked(|| staging.unmap())?;
        Ok(out)
    }
}

/// How long a read-back waits for its map callback after the device is idle.
const CALLBACK_WAIT: Duration = Duration::from_secs(30);

/// The map callback's result. The wait before this normally runs the callback itself, but
/// where another thread polls the same device at the same moment, wgpu may run it on that
/// thread just after this thread's wait returned (seen under load in tests/threads.rs): wait
/// for it, polling again, for at most [`CALLBACK_WAIT`], never forever.
fn callback<R>(ctx: &Context, rx: &Receiver<R>) -> Result<R> {
    let deadline = Instant::now() + CALLBACK_WAIT;
    loop {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(r) => return Ok(r),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Error::Readback(
                    "the map callback was dropped without running".into(),
                ))
            }
            Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => ctx.wait()?,
            Err(RecvTimeoutError::Timeout) => {
                return Err(Error::Readback("the map callback did not run".into()))
            }
        }
    }
}
