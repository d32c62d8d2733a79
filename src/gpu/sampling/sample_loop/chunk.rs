//! Everything one chunk of the sampling loop allocates and binds before its first step, and the
//! recording of its steps. The sampler enters only through its rows, kernels and constants
//! ([`LoopPlan`]); the loop does not branch on which sampler it runs.

use crate::cpu::kernels::noise::stream;
use crate::error::{Error, Result};
use crate::gpu::kernels::noise::noise_into_scaled;
use crate::gpu::runtime::launch::{dispatch, uniform, vec4_or_scalar, Grid};
use crate::gpu::runtime::params::{
    ElementParams, MixtureParams, NoiseParams, NOISE_AUX, NOISE_PHILOX,
};
use crate::gpu::runtime::readback::{self, Staged};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::sampling::denoiser::{Denoiser, DenoiserIo, FusedDenoiser};
use crate::gpu::sampling::gaussian_denoiser::gaussian_params;
use crate::gpu::sampling::sample_loop::plan::LoopPlan;
use crate::gpu::sampling::sample_loop::step_groups::{step_groups, StepBuffers};
use crate::gpu::sampling::sample_loop::steps::{LoopSteps, Snapshots};
use crate::gpu::sampling::sample_loop::threshold::ThresholdPass;
use crate::gpu::sampling::sample_loop::{LoopOptions, NoiseSource, Samples};
use crate::gpu::{Context, GpuTensor};

/// One chunk's buffers, bind groups and snapshots. `ddpm bench` uses it to time the step
/// kernels alone and to report the loop's device memory.
pub(crate) struct ChunkLoop<'a> {
    plan: &'a LoopPlan<'a>,
    x: GpuTensor,
    pred_xstart: GpuTensor,
    model_output: GpuTensor,
    model_var: Option<GpuTensor>,
    steps: LoopSteps,
    /// [thresholds | host noise] read by the step kernel (binding 9).
    aux: wgpu::Buffer,
    /// Where the host noise starts in `aux`, in bytes.
    aux_noise_bytes: u64,
    kernel: Kernel,
    pipeline: wgpu::ComputePipeline,
    /// The step kernel's bind groups, used in turn from the first step on. Two-pass: one, and
    /// a copy after each step moves the next timesteps into the buffer the denoiser reads.
    /// Fused: two, the second with `timesteps` and `next` swapped, so no copy is needed.
    step_groups: Vec<wgpu::BindGroup>,
    /// The denoiser is computed inside the step kernel; its `record` is not called.
    fused: bool,
    /// Dynamic thresholding's passes, between the denoiser's and the step's.
    threshold: Option<ThresholdPass>,
    groups: Grid,
    snapshots: Option<Snapshots>,
    seed: u64,
    first_sample: u32,
}

impl<'a> ChunkLoop<'a> {
    /// Allocate and bind a chunk of `shape` ([B, ...]) whose first sample is `first_sample` of
    /// the whole batch, and let `denoiser` prepare over its buffers.
    pub(crate) fn new(
        ctx: &Context,
        plan: &'a LoopPlan<'a>,
        denoiser: &mut dyn Denoiser,
        shape: &[usize],
        first_sample: u32,
        opts: &LoopOptions,
    ) -> Result<Self> {
        let sampler = plan.sampler;
        if plan.times.is_some() && !denoiser.takes_times() {
            return Err(Error::Unsupported(format!(
                "{} calls the model at non-integer timesteps, which this denoiser does not take \
                 (the UNet does)",
                sampler.name()
            )));
        }
        let batch = shape[0];
        let big_t = plan.tables.num_timesteps();
        let x = GpuTensor::zeros(ctx, shape)?;
        let n = x.len();
        let sample_len = n / batch;
        // pred_xstart, then a multistep sampler's state (Sampler::state_slots), n values each.
        let state_shape = [&[1 + sampler.state_slots()], shape].concat();
        let pred_xstart = GpuTensor::zeros_named(ctx, "pred_xstart and state", &state_shape)?;
        let model_output = GpuTensor::zeros(ctx, shape)?;
        let model_var = if sampler.model().var_type.is_learned() {
            Some(GpuTensor::zeros(ctx, shape)?)
        } else {
            None
        };
        let first_t = plan.order.first().copied().unwrap_or(0);
        let steps = LoopSteps::new(ctx, first_t, batch)?;
        let host_noise = opts.noise == NoiseSource::Torch;
        // aux: the thresholds (B, padded to whole vec4s), then the host-drawn noise.
        let scales_len = if sampler.threshold().is_some() {
            batch.div_ceil(4) * 4
        } else {
            0
        };
        let aux_len = scales_len + if host_noise { n } else { 0 };
        let aux = ctx.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step aux"),
            size: crate::gpu::runtime::alloc::array_bytes("step aux", aux_len.max(4), 4)?,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })?;
        // Four elements per invocation where each vec4 lies inside one sample: the same draws
        // and arithmetic; 1.6x the steps/s at [16, 3, 32, 32] with the Gaussian denoiser on
        // lavapipe (ddpm bench --quick, three runs each). See `vec4_grid` for its grid.
        let mut params =
            ElementParams::new(n as u32, sample_len as u32, big_t as u32, sampler.model());
        params.aux_noise_offset = scales_len as u32;
        let (kernel, groups, grid) =
            vec4_or_scalar(ctx, sampler.gpu_kernels(), batch as u32, sample_len as u32);
        let mut constants = sampler.gpu_constants();
        constants.grid = grid.grid;
        constants.noise_source = if host_noise { NOISE_AUX } else { NOISE_PHILOX };
        constants.keep_xstart = u32::from(opts.keep_every.is_some());
        // An elementwise built-in denoiser that writes what the sampler reads is computed inside
        // the sampler's vec4 step kernel: one pass a step instead of two (see `FusedDenoiser`).
        // The fused kernel takes one vec4 per invocation like the unfused one: the same grid.
        let vec4 = kernel == sampler.gpu_kernels().0;
        let fused = match denoiser.fused() {
            Some(f) if vec4 => sampler.gpu_fused(&f).map(|k| (k, f)),
            _ => None,
        };
        let fused_params = match fused {
            Some((_, FusedDenoiser::Gaussian { data_var, model })) => {
                gaussian_params(data_var, &model, batch, sample_len, big_t)
            }
            None => MixtureParams::default(),
        };
        let kernel = fused.map_or(kernel, |(k, _)| k);
        let pipeline = ctx.pipeline_with(kernel, constants)?;
        let noise = NoiseParams::new(
            opts.seed,
            stream::SAMPLE,
            0,
            first_sample,
            batch,
            sample_len,
        );
        let step_groups = ctx.checked(|| {
            let uniforms = (
                uniform(ctx, &params),
                uniform(ctx, &noise),
                uniform(ctx, &fused_params),
            );
            let buffers = StepBuffers {
                uniforms: [&uniforms.0, &uniforms.1, &uniforms.2],
                x: &x,
                model_output: &model_output,
                model_var: model_var.as_ref(),
                pred_xstart: &pred_xstart,
                aux: &aux,
                steps: &steps,
            };
            step_groups(ctx, plan, (kernel, &pipeline), &buffers, fused.is_some())
        })?;
        let threshold = sampler
            .threshold()
            .map(|th| ThresholdPass::new(ctx, *sampler.model(), th, shape))
            .transpose()?;
        let snapshots = match opts.keep_every {
            Some(k) => Snapshots::new(ctx, &plan.order, k, n)?,
            None => None,
        };
        let chunk = ChunkLoop {
            plan,
            groups,
            kernel,
            x,
            pred_xstart,
            model_output,
            model_var,
            steps,
            aux,
            aux_noise_bytes: scales_len as u64 * 4,
            pipeline,
            step_groups,
            fused: fused.is_some(),
            threshold,
            snapshots,
            seed: opts.seed,
            first_sample,
        };
        denoiser.prepare(ctx, &chunk.io())?;
        Ok(chunk)
    }

    fn io(&self) -> DenoiserIo<'_> {
        DenoiserIo {
            x_t: &self.x,
            timesteps: &self.steps.timesteps,
            tables: &self.plan.tables,
            model_output: &self.model_output,
            model_var: self.model_var.as_ref(),
            times: self.plan.times.as_deref(),
        }
    }

    /// Elements of the chunk.
    pub(crate) fn len(&self) -> usize {
        self.x.len()
    }

    /// Record drawing x_T into x: Philox's INIT stream at step T, times `scale`.
    pub(crate) fn record_init(
        &self,
        ctx: &Context,
        e: &mut wgpu::CommandEncoder,
        scale: f32,
    ) -> Result<()> {
        let big_t = self.plan.tables.num_timesteps() as u32;
        let key = (self.seed, stream::INIT, big_t, self.first_sample);
        noise_into_scaled(ctx, e, key, scale, &self.x)
    }

    /// Set x to `data` (the chunk's part of a given x_T) through the queue.
    pub(crate) fn upload_x(&self, ctx: &Context, data: &[f32]) -> Result<()> {
        self.write(ctx, self.x.buffer(), 0, data)
    }

    /// Upload the next step's host-drawn noise (the chunk's part) into `aux`.
    pub(crate) fn upload_noise(&self, ctx: &Context, data: &[f32]) -> Result<()> {
        self.write(ctx, &self.aux, self.aux_noise_bytes, data)
    }

    fn write(&self, ctx: &Context, buffer: &wgpu::Buffer, at: u64, data: &[f32]) -> Result<()> {
        if data.len() != self.x.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} values for a chunk of {}",
                data.len(),
                self.x.len()
            )));
        }
        ctx.checked(|| {
            ctx.queue
                .write_buffer(buffer, at, bytemuck::cast_slice(data))
        })
    }

    /// Set the loop's `timesteps` to t through the queue (before the next submission's work),
    /// for timing one step's kernels at a chosen t. The loop itself never needs it.
    pub(crate) fn set_timestep(&self, ctx: &Context, t: usize) -> Result<()> {
        let rows = vec![t as u32; self.x.shape()[0]];
        ctx.checked(|| {
            ctx.queue
                .write_buffer(&self.steps.timesteps, 0, bytemuck::cast_slice(&rows))
        })
    }

    /// Record the visits `visits` of the plan's order, which continue from the last one
    /// recorded (the timesteps live on the device; the visit picks the bind group and the
    /// snapshots): per step the denoiser, the step kernel and moving the timesteps on, and a
    /// snapshot after each kept step.
    pub(crate) fn record_steps(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        denoiser: &dyn Denoiser,
        visits: std::ops::Range<usize>,
    ) -> Result<()> {
        let ks: Vec<usize> = visits.collect();
        let kept = |k: &usize| {
            self.snapshots
                .as_ref()
                .is_some_and(|s| s.slot(*k).is_some())
        };
        for run in ks.split_inclusive(kept) {
            if self.fused {
                self.record_fused_pass(encoder, run.iter().map(|&k| self.step_group(k)));
            } else {
                for &k in run {
                    self.record_two_passes(ctx, encoder, denoiser, self.step_group(k))?;
                    self.steps.record_advance(encoder);
                }
            }
            if let (Some(s), Some(&last)) = (&self.snapshots, run.last()) {
                s.record(encoder, last, self.x.buffer(), self.pred_xstart.buffer());
            }
        }
        Ok(())
    }

    /// Steps with the denoiser fused: one compute pass for the whole run, a bind group (from
    /// `groups`) and a dispatch per step. A pass and a timestep copy per step cost the host
    /// about as much as the step's kernel at [1, 3, 32, 32] on lavapipe (~0.06 ms): ddpm bench
    /// --quick gave 9.2-13.6k steps/s with them against 17.7-19.7k without, in three
    /// alternating runs. Consecutive dispatches in one pass still see each other's writes:
    /// WebGPU orders them.
    fn record_fused_pass<'g>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        groups: impl IntoIterator<Item = &'g wgpu::BindGroup>,
    ) {
        let Grid(x, y, z) = self.groups;
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(self.kernel.name()),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipeline);
        for group in groups {
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(x, y, z);
        }
    }

    /// The step kernel's bind group for visit k: the groups in turn from the first step on
    /// (one per visit where the rows are by visit).
    fn step_group(&self, k: usize) -> &wgpu::BindGroup {
        &self.step_groups[k % self.step_groups.len()]
    }

    /// Record `reps` steps' kernels of visit k (`timesteps` must hold its timestep: see
    /// [`Self::set_timestep`]), recorded as the loop records them (fused: in one pass) but
    /// without its bookkeeping: the timesteps stay put and nothing is copied. `ddpm bench`
    /// times a step's kernels by it.
    pub(crate) fn record_kernels(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        denoiser: &dyn Denoiser,
        k: usize,
        reps: usize,
    ) -> Result<()> {
        // Fused, the group of an even visit reads `timesteps`.
        let first = self.step_group(k - k % 2 * usize::from(self.fused));
        if self.fused {
            self.record_fused_pass(encoder, std::iter::repeat_n(first, reps));
            return Ok(());
        }
        for _ in 0..reps {
            self.record_two_passes(ctx, encoder, denoiser, first)?;
        }
        Ok(())
    }

    /// A step's passes when the denoiser is not fused: the denoiser's, then the step's.
    fn record_two_passes(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        denoiser: &dyn Denoiser,
        step_group: &wgpu::BindGroup,
    ) -> Result<()> {
        denoiser.record(ctx, encoder, &self.io())?;
        if let Some(th) = &self.threshold {
            th.record(ctx, encoder, &self.io(), &self.aux)?;
        }
        dispatch(
            encoder,
            self.kernel,
            &self.pipeline,
            step_group,
            self.groups,
        );
        Ok(())
    }

    /// Bytes of device memory this chunk's loop allocated (the denoiser's own and the plan's
    /// rows not included): x, pred_xstart, model_output, model_var, the timestep buffers, aux
    /// and the progressive snapshots.
    pub(crate) fn device_bytes(&self) -> u64 {
        let tensors = [
            Some(&self.x),
            Some(&self.pred_xstart),
            Some(&self.model_output),
            self.model_var.as_ref(),
        ];
        let tensor_bytes: u64 = tensors.iter().flatten().map(|t| t.buffer().size()).sum();
        tensor_bytes
            + self.steps.device_bytes()
            + self.aux.size()
            + self
                .threshold
                .as_ref()
                .map_or(0, ThresholdPass::device_bytes)
            + self.snapshots.as_ref().map_or(0, Snapshots::device_bytes)
    }

    /// Record copying the final x out, into the encoder of the last steps.
    pub(crate) fn stage_x(
        &self,
        ctx: &Context,
        e: &mut wgpu::CommandEncoder,
    ) -> Result<Staged<f32>> {
        readback::stage(ctx, e, self.x.buffer(), self.x.len())
    }

    /// The final x (staged by [`Self::stage_x`] in the last submission) and the progressive
    /// snapshots.
    pub(crate) fn read_back(&self, ctx: &Context, x: Staged<f32>) -> Result<Samples> {
        let kept = match &self.snapshots {
            Some(s) => s.read_back(ctx, self.x.len())?,
            None => Vec::new(),
        };
        Ok(Samples {
            x0: x.read(ctx)?,
            kept,
        })
    }
}
