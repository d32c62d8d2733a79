//! A guided forward of [`UNetDenoiser`](super::UNetDenoiser): classifier-free guidance
//! as one forward of 2B samples, the loop's x_t and timesteps copied twice on the device each
//! step (the conditional half with the given labels, the unconditional half with the null
//! class), then the combination (shaders/nn/guidance.wgsl) into the loop's model_output and,
//! for a learned variance, model_var (the conditional pass's).

use crate::error::Result;
use crate::gpu::nn::class_embedding::{DeviceClasses, GpuClassEmbedding};
use crate::gpu::nn::guidance;
use crate::gpu::nn::{scratch, Stage};
use crate::gpu::Context;
use crate::nn::{ClassLabels, Guidance};

/// The buffers and the combining stage of a guided run over `batch` samples.
#[derive(Debug)]
pub(crate) struct GuidedRun {
    /// [2B, in_channels, H, W]: x_t twice.
    pub x2: wgpu::Buffer,
    /// [2B] u32: the timesteps twice.
    pub t2: wgpu::Buffer,
    /// The labels, then the null class (2B samples).
    pub classes2: DeviceClasses,
    /// [2B, out_channels, H, W]: the forward's output.
    pub out2: wgpu::Buffer,
    /// The learned variance when the sampler does not read it (written, never read).
    var_scratch: Option<wgpu::Buffer>,
    combine: Option<Stage>,
    batch: usize,
    null: u32,
    x_bytes: u64,
}

/// A u32 storage buffer of `len` values, `init` or zeros, rewritable by the queue.
fn u32_buffer(ctx: &Context, label: &str, init: &[u32]) -> Result<wgpu::Buffer> {
    let mut bytes: Vec<u8> = bytemuck::cast_slice(init).to_vec();
    bytes.resize(bytes.len().max(16), 0);
    ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    })
}

/// The 2B labels of a guided forward: `labels` (B of them), then `null` B times.
fn both_halves(labels: &[u32], batch: usize, null: u32) -> Vec<u32> {
    let mut both = labels.to_vec();
    both.resize(2 * batch, null);
    both
}

impl GuidedRun {
    /// The buffers of a guided run of `batch` samples of `sample` values in and `out` values
    /// out (per sample), the labels `labels` and the null class `null` of `class`.
    pub(crate) fn new(
        ctx: &Context,
        (batch, sample, out): (usize, usize, usize),
        (class, labels): (&GpuClassEmbedding, &[u32]),
        null: u32,
    ) -> Result<Self> {
        let two = 2 * batch;
        let both = both_halves(labels, batch, null);
        let x2 = ctx.create_buffer(&wgpu::BufferDescriptor {
            label: Some("guided x_t (twice)"),
            size: crate::gpu::runtime::alloc::array_bytes("guided x_t", two * sample, 4)?,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })?;
        Ok(GuidedRun {
            x2,
            t2: u32_buffer(ctx, "guided timesteps (twice)", &vec![0; two])?,
            classes2: DeviceClasses::new(ctx, class, ClassLabels::Ids(&both))?,
            out2: scratch(ctx, "guided model output (2B)", (two * out) as u64)?,
            var_scratch: None,
            combine: None,
            batch,
            null,
            x_bytes: (batch * sample * 4) as u64,
        })
    }

    /// Make the combining stage into `mean_out` and `var_out` (or a scratch of its own where
    /// the model has a variance the sampler does not read): `mean_len` and `var_len` values
    /// per sample.
    pub(crate) fn combine_into(
        &mut self,
        ctx: &Context,
        g: Guidance,
        (mean_len, var_len): (usize, usize),
        (mean_out, var_out): (&wgpu::Buffer, Option<&wgpu::Buffer>),
    ) -> Result<()> {
        if var_out.is_none() && var_len > 0 {
            let n = (self.batch * var_len) as u64;
            self.var_scratch = Some(scratch(ctx, "guided variance (unread)", n)?);
        }
        let var = match (var_out, &self.var_scratch) {
            (Some(v), _) => v,
            (None, Some(v)) => v,
            (None, None) => mean_out,
        };
        let dims = (self.batch, mean_len, var_len);
        self.combine = Some(guidance::stage(ctx, g, dims, &self.out2, (mean_out, var))?);
        Ok(())
    }

    /// Rewrite the conditional half's labels (a batch of the same size).
    pub(crate) fn write_labels(
        &self,
        ctx: &Context,
        class: &GpuClassEmbedding,
        labels: &[u32],
    ) -> Result<()> {
        let both = both_halves(labels, self.batch, self.null);
        self.classes2.write(ctx, class, ClassLabels::Ids(&both))
    }

    /// Samples per half.
    pub(crate) fn batch(&self) -> usize {
        self.batch
    }

    /// Record the copies of x_t and the timesteps into both halves.
    pub(crate) fn record_inputs(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        x_t: &wgpu::Buffer,
        timesteps: &wgpu::Buffer,
    ) {
        let t_bytes = (self.batch * 4) as u64;
        for half in 0..2 {
            encoder.copy_buffer_to_buffer(x_t, 0, &self.x2, half * self.x_bytes, self.x_bytes);
            encoder.copy_buffer_to_buffer(timesteps, 0, &self.t2, half * t_bytes, t_bytes);
        }
    }

    /// The combining stage (made by [`GuidedRun::combine_into`]).
    pub(crate) fn combine(&self) -> Option<&Stage> {
        self.combine.as_ref()
    }

    /// Bytes it holds on the device.
    pub(crate) fn device_bytes(&self) -> u64 {
        self.x2.size()
            + self.t2.size()
            + self.classes2.device_bytes()
            + self.out2.size()
            + self.var_scratch.as_ref().map_or(0, wgpu::Buffer::size)
    }
}
