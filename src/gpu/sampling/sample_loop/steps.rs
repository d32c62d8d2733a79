//! The sampling loop's device-side bookkeeping: the per-sample timesteps that advance on the
//! device, and the progressive snapshots.

use crate::error::Result;
use crate::gpu::Context;

/// The timesteps of the sampling loop, kept on the device: `timesteps` (B u32, read by the
/// denoiser and the step kernel) starts at the first step; the step kernel writes its row's
/// `next_t` into `next`, and a B-long copy after each step moves it into `timesteps` (or, with
/// the denoiser fused, the next step reads `next` and writes `timesteps`). The step kernel
/// cannot rewrite `timesteps` in place, since other invocations of the same sample still read
/// it. Unlike a [T, B] table of rows, nothing grows with T.
pub(crate) struct LoopSteps {
    /// The `array<u32>` of the current step, one entry per sample.
    pub timesteps: wgpu::Buffer,
    /// The next step's, written by the step kernel.
    pub next: wgpu::Buffer,
}

impl LoopSteps {
    /// Both buffers for `batch` samples, `timesteps` holding `first`.
    pub(crate) fn new(ctx: &Context, first: usize, batch: usize) -> Result<Self> {
        let rows = vec![first as u32; batch];
        Ok(LoopSteps {
            timesteps: ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("timesteps"),
                contents: bytemuck::cast_slice(&rows),
                // COPY_SRC: a guided denoiser copies them for its 2B forward.
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_DST
                    | wgpu::BufferUsages::COPY_SRC,
            })?,
            next: ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some("next timesteps"),
                size: crate::gpu::runtime::alloc::array_bytes("next timesteps", batch, 4)?,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })?,
        })
    }

    /// Record moving `next` into `timesteps`, after a step's kernels.
    pub(crate) fn record_advance(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.copy_buffer_to_buffer(&self.next, 0, &self.timesteps, 0, self.next.size());
    }

    /// Bytes of both buffers.
    pub(crate) fn device_bytes(&self) -> u64 {
        self.timesteps.size() + self.next.size()
    }
}

/// Progressive mode: x and pred_xstart after the kept steps, copied on the device into one
/// buffer, slot after slot, and read back at the end.
pub(crate) struct Snapshots {
    buffer: wgpu::Buffer,
    /// The kept visits' training timesteps, in visiting order (slot order).
    pub steps: Vec<usize>,
    /// Slot of each visit of the order (`usize::MAX` where it is not kept).
    slot: Vec<usize>,
}

impl Snapshots {
    /// Snapshots of `n` elements after every visit of `order` with a multiple of `keep_every`
    /// visits left after it. `None` without any.
    pub(crate) fn new(
        ctx: &Context,
        order: &[usize],
        keep_every: usize,
        n: usize,
    ) -> Result<Option<Self>> {
        let k = keep_every.max(1);
        let len = order.len();
        let kept: Vec<usize> = (0..len)
            .filter(|p| (len - 1 - p).is_multiple_of(k))
            .collect();
        if kept.is_empty() {
            return Ok(None);
        }
        let mut slot = vec![usize::MAX; len];
        for (s, &p) in kept.iter().enumerate() {
            slot[p] = s;
        }
        let steps = kept.iter().map(|&p| order[p]).collect::<Vec<_>>();
        let what = "progressive snapshots";
        let size = crate::gpu::runtime::alloc::array_bytes(what, n.saturating_mul(8), steps.len())?;
        let buffer = ctx.create_buffer(&wgpu::BufferDescriptor {
            label: Some(what),
            size,
            usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })?;
        Ok(Some(Snapshots {
            buffer,
            steps,
            slot,
        }))
    }

    /// The slot of visit k, if it is kept.
    pub(crate) fn slot(&self, k: usize) -> Option<usize> {
        self.slot.get(k).copied().filter(|&s| s != usize::MAX)
    }

    /// Record copying x and pred_xstart into visit k's slot, if k is kept.
    pub(crate) fn record(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        k: usize,
        x: &wgpu::Buffer,
        pred_xstart: &wgpu::Buffer,
    ) {
        if let Some(slot) = self.slot(k) {
            let bytes = x.size();
            let at = slot as u64 * 2 * bytes;
            encoder.copy_buffer_to_buffer(x, 0, &self.buffer, at, bytes);
            encoder.copy_buffer_to_buffer(pred_xstart, 0, &self.buffer, at + bytes, bytes);
        }
    }

    /// Bytes of the snapshot buffer.
    pub(crate) fn device_bytes(&self) -> u64 {
        self.buffer.size()
    }

    /// (t, x, pred_xstart) of every slot, for `n`-element chunks.
    pub(crate) fn read_back(
        &self,
        ctx: &Context,
        n: usize,
    ) -> Result<Vec<crate::gpu::sampling::sample_loop::Snapshot>> {
        let bytes =
            crate::gpu::runtime::tensor::read_buffer(ctx, &self.buffer, self.buffer.size())?;
        let all: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
        Ok(self
            .steps
            .iter()
            .zip(all.chunks_exact(2 * n))
            .map(|(&t, pair)| (t, pair[..n].to_vec(), pair[n..].to_vec()))
            .collect())
    }
}
