//! Host side of `shaders/sample_step.wgsl`: `p_sample_loop` on the device. CPU twin:
//! `crate::cpu::sample_loop`.
//!
//! x_T is drawn in the shader, then for t = T-1 .. 0: the denoiser's work, one `sample_step`
//! dispatch that updates x in place with noise drawn in the shader and writes the next step's
//! timesteps, and a copy of those into the `timesteps` buffer that both read. With the denoiser
//! fused into the step kernel nothing else reads them, so the two buffers swap roles instead,
//! and the steps between submissions share one compute pass. Everything is allocated and bound
//! once before the loop; nothing is read back until the end, and no buffer grows with T. Work
//! is submitted every `steps_per_submit` steps so progress can be reported.

use super::denoiser::{Denoiser, DenoiserIo, FusedDenoiser};
use super::gaussian_denoiser::gaussian_params;
use super::kernels::Kernel;
use super::launch::{bind_group, dispatch, uniform, vec4_or_scalar, Grid};
use super::params::{ElementParams, NoiseParams};
use super::tensor::read_buffer;
use super::{noise_into, Context, GpuTables, GpuTensor};
use crate::cpu::noise::stream;
use crate::error::{Error, Result};
use crate::options::ModelOptions;

/// Options of one sampling run.
#[derive(Clone, Copy, Debug)]
pub struct SampleOptions {
    /// Mean type, variance type and clipping of p(x_{t-1} | x_t).
    pub model: ModelOptions,
    /// Keys every noise draw: the same seed gives the same samples on any chunking.
    pub seed: u64,
    /// Steps recorded per submission (progress is reported between submissions).
    pub steps_per_submit: usize,
    /// Progressive mode (the original's `p_sample_loop_progressive`): keep x_t and pred_xstart
    /// after every step t with t % k == 0, copied on the device, read back at the end.
    pub keep_every: Option<usize>,
    /// At most this many samples per chunk (`None`: as many as one storage binding holds).
    /// Chunks run one after another with the same noise keys, so results do not depend on it.
    pub max_chunk_samples: Option<usize>,
}

/// What [`p_sample_loop`] returns.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// x_0, C order, the requested shape.
    pub x0: Vec<f32>,
    /// Progressive mode: (t, x_{t} after the step, pred_xstart at that step), t descending.
    pub kept: Vec<(usize, Vec<f32>, Vec<f32>)>,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            model: ModelOptions::default(),
            seed: 0,
            steps_per_submit: 100,
            keep_every: None,
            max_chunk_samples: None,
        }
    }
}

/// Draw samples of `shape` ([B, ...]) through the full reverse process. A batch larger than
/// one storage binding (or `opts.max_chunk_samples`) runs as consecutive chunks, each with its
/// own [`Denoiser::prepare`]; the noise is keyed by global sample, so the result is the same.
/// `progress` is called with (steps done, total steps over all chunks) after each submission.
/// Device memory per chunk: x, pred_xstart, model_output (and model_var) of the chunk's size,
/// two B-long u32 timestep buffers, the denoiser's own, and in progressive mode 2 x (T / k + 1)
/// copies of the chunk; none of it grows with T but the snapshots.
pub fn p_sample_loop(
    ctx: &Context,
    tables: &GpuTables,
    denoiser: &mut dyn Denoiser,
    shape: &[usize],
    opts: &SampleOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Samples> {
    let batch = *shape
        .first()
        .filter(|&&b| b > 0)
        .ok_or_else(|| Error::ShapeMismatch("samples need a batch dimension [B, ...]".into()))?;
    let sample_len = super::alloc::elements(&format!("samples of shape {shape:?}"), shape)? / batch;
    if sample_len == 0 {
        return Err(Error::ShapeMismatch(format!(
            "samples of shape {shape:?} are empty"
        )));
    }
    let fits = (ctx.limits().max_storage_buffer_binding_size / (sample_len as u64 * 4)) as usize;
    let chunk = fits
        .min(opts.max_chunk_samples.unwrap_or(usize::MAX))
        .max(1);
    let chunks = batch.div_ceil(chunk);
    let total = chunks.saturating_mul(tables.num_timesteps());
    let mut out = Samples::default();
    // The whole result lives on the host: fail now, not after hours, if it cannot.
    let host = |e| Error::OutOfMemory(format!("host memory for samples of shape {shape:?}: {e}"));
    out.x0.try_reserve_exact(batch * sample_len).map_err(host)?;
    for c in 0..chunks {
        let first = c * chunk;
        let size = chunk.min(batch - first);
        let mut chunk_shape = shape.to_vec();
        chunk_shape[0] = size;
        let base = c * tables.num_timesteps();
        let part = run_chunk(
            ctx,
            tables,
            denoiser,
            &chunk_shape,
            first as u32,
            opts,
            &mut |done, _| progress(base + done, total),
        )?;
        out.x0.extend(part.x0);
        if c == 0 {
            out.kept = part.kept;
        } else {
            for (whole, piece) in out.kept.iter_mut().zip(part.kept) {
                whole.1.extend(piece.1);
                whole.2.extend(piece.2);
            }
        }
    }
    Ok(out)
}

/// One chunk of samples `first_sample ..` of `shape`.
fn run_chunk(
    ctx: &Context,
    tables: &GpuTables,
    denoiser: &mut dyn Denoiser,
    shape: &[usize],
    first_sample: u32,
    opts: &SampleOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Samples> {
    let big_t = tables.num_timesteps();
    let chunk = ChunkLoop::new(ctx, tables, denoiser, shape, first_sample, opts)?;
    let mut encoder = ctx.encoder();
    chunk.record_init(ctx, &mut encoder)?;
    let order: Vec<usize> = (0..big_t).rev().collect();
    let mut done = 0;
    for block in order.chunks(opts.steps_per_submit.max(1)) {
        chunk.record_steps(ctx, &mut encoder, denoiser, block)?;
        ctx.submit(std::mem::replace(&mut encoder, ctx.encoder()))?;
        ctx.wait()?;
        done += block.len();
        progress(done, big_t);
    }
    chunk.read_back(ctx)
}

/// Everything one chunk's loop allocates and binds before its first step: the loop's buffers,
/// the step kernel's bind group, and the progressive snapshots. `ddpm bench` uses it to time the
/// step kernels alone and to report the loop's device memory.
pub(crate) struct ChunkLoop<'a> {
    tables: &'a GpuTables,
    x: GpuTensor,
    pred_xstart: GpuTensor,
    model_output: GpuTensor,
    model_var: Option<GpuTensor>,
    steps: LoopSteps,
    kernel: Kernel,
    pipeline: wgpu::ComputePipeline,
    /// The step kernel's bind groups, used in turn from the first step on. Two-pass: one, and
    /// a copy after each step moves the next timesteps into the buffer the denoiser reads.
    /// Fused: two, the second with `timesteps` and `next` swapped, so no copy is needed.
    step_groups: Vec<wgpu::BindGroup>,
    // The denoiser is computed inside the step kernel; its `record` is not called.
    fused: bool,
    groups: Grid,
    /// Progressive mode: the kept steps, t descending (slot order), and their spacing k.
    keep_steps: Vec<usize>,
    keep_every: usize,
    kept_buffer: Option<wgpu::Buffer>,
    seed: u64,
    first_sample: u32,
}

impl<'a> ChunkLoop<'a> {
    /// Allocate and bind a chunk of `shape` ([B, ...]) whose first sample is `first_sample` of
    /// the whole batch, and let `denoiser` prepare over its buffers.
    pub(crate) fn new(
        ctx: &Context,
        tables: &'a GpuTables,
        denoiser: &mut dyn Denoiser,
        shape: &[usize],
        first_sample: u32,
        opts: &SampleOptions,
    ) -> Result<Self> {
        let batch = shape[0];
        let big_t = tables.num_timesteps();
        let x = GpuTensor::zeros(ctx, shape)?;
        let n = x.len();
        let sample_len = n / batch;
        let pred_xstart = GpuTensor::zeros(ctx, shape)?;
        let model_output = GpuTensor::zeros(ctx, shape)?;
        let model_var = if opts.model.var_type.is_learned() {
            Some(GpuTensor::zeros(ctx, shape)?)
        } else {
            None
        };
        let steps = LoopSteps::new(ctx, big_t, batch)?;
        // Four elements per invocation where each vec4 lies inside one sample: the same draws
        // and arithmetic; 1.6x the steps/s at [16, 3, 32, 32] with the Gaussian denoiser on
        // lavapipe (ddpm bench --quick, three runs each). See `vec4_grid` for its grid.
        let params = ElementParams::new(n as u32, sample_len as u32, big_t as u32, &opts.model);
        let (kernel, groups, constants) = vec4_or_scalar(
            ctx,
            (Kernel::SampleStepVec4, Kernel::SampleStep),
            batch as u32,
            sample_len as u32,
        );
        // An elementwise built-in denoiser that writes what the sampler reads is computed inside
        // the vec4 step kernel: one pass a step instead of two (see `FusedDenoiser`). The fused
        // kernel takes one vec4 per invocation like SampleStepVec4, so the grid is the same.
        let fused = match denoiser.fused() {
            Some(FusedDenoiser::Gaussian { data_var, model })
                if kernel == Kernel::SampleStepVec4
                    && model.mean_type == opts.model.mean_type
                    && model.var_type == opts.model.var_type =>
            {
                Some(gaussian_params(data_var, &model, batch, sample_len, big_t))
            }
            _ => None,
        };
        let kernel = match fused {
            Some(_) => Kernel::SampleStepGaussianVec4,
            None => kernel,
        };
        let pipeline = ctx.pipeline_with(kernel, constants.with_model(&params))?;
        let noise = NoiseParams::new(
            opts.seed,
            stream::SAMPLE,
            0,
            first_sample,
            batch,
            sample_len,
        );
        let step_groups = ctx.checked(|| {
            let (p, z) = (uniform(ctx, &params), uniform(ctx, &noise));
            let gaussian = fused.as_ref().map(|g| uniform(ctx, g));
            // Both step kernels start with these bindings (sample_step_vec4.wgsl and
            // sample_step_gaussian_vec4.wgsl); then the model's output, or the fused model's
            // parameters at the end.
            let group = |now: &wgpu::Buffer, next: &wgpu::Buffer| {
                let mut buffers = vec![&p, &z, tables.buffer(), now, x.buffer()];
                match &gaussian {
                    Some(g) => buffers.extend([pred_xstart.buffer(), next, g]),
                    None => buffers.extend([
                        model_output.buffer(),
                        model_var.as_ref().unwrap_or(&model_output).buffer(),
                        pred_xstart.buffer(),
                        next,
                    ]),
                }
                bind_group(ctx, kernel, &pipeline, &buffers)
            };
            let mut groups = vec![group(&steps.timesteps, &steps.next)];
            if gaussian.is_some() {
                groups.push(group(&steps.next, &steps.timesteps));
            }
            groups
        })?;
        let keep_steps: Vec<usize> = match opts.keep_every {
            Some(k) => (0..big_t).rev().filter(|t| t % k.max(1) == 0).collect(),
            None => Vec::new(),
        };
        let kept_buffer = if keep_steps.is_empty() {
            None
        } else {
            let size = super::alloc::array_bytes("progressive snapshots", n * 8, keep_steps.len())?;
            Some(ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some("progressive snapshots"),
                size,
                usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })?)
        };
        let chunk = ChunkLoop {
            tables,
            groups,
            kernel,
            x,
            pred_xstart,
            model_output,
            model_var,
            steps,
            pipeline,
            step_groups,
            fused: fused.is_some(),
            keep_steps,
            keep_every: opts.keep_every.unwrap_or(1).max(1),
            kept_buffer,
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
            tables: self.tables,
            model_output: &self.model_output,
            model_var: self.model_var.as_ref(),
        }
    }

    /// Record drawing x_T into x.
    pub(crate) fn record_init(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Result<()> {
        noise_into(
            ctx,
            encoder,
            self.seed,
            stream::INIT,
            self.tables.num_timesteps() as u32,
            self.first_sample,
            &self.x,
        )
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

    /// Record the steps `ts`, which continue the descending order T-1, T-2, .., 0 from the last
    /// step recorded (the timesteps live on the device; `t` picks the bind group and the
    /// snapshots): per step the denoiser, the step kernel and moving the timesteps on to t - 1,
    /// and a snapshot after each kept step.
    pub(crate) fn record_steps(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        denoiser: &dyn Denoiser,
        ts: &[usize],
    ) -> Result<()> {
        for run in ts.split_inclusive(|&t| self.snapshot_slot(t).is_some()) {
            if self.fused {
                self.record_fused_pass(encoder, run.iter().map(|&t| self.step_group(t)));
            } else {
                for &t in run {
                    self.record_two_passes(ctx, encoder, denoiser, self.step_group(t))?;
                    self.steps.record_advance(encoder);
                }
            }
            if let Some(&last) = run.last() {
                self.record_snapshot(encoder, last);
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

    /// The step kernel's bind group for step t: the groups in turn from t = T-1 on.
    fn step_group(&self, t: usize) -> &wgpu::BindGroup {
        let done = self.tables.num_timesteps() - 1 - t;
        &self.step_groups[done % self.step_groups.len()]
    }

    /// The snapshot slot of step t, if it is kept: the kept steps are the multiples of k
    /// below T, descending, so no search per step.
    fn snapshot_slot(&self, t: usize) -> Option<usize> {
        let first = *self.keep_steps.first()?;
        (t.is_multiple_of(self.keep_every) && t <= first).then(|| (first - t) / self.keep_every)
    }

    /// Copy x_t and pred_xstart into their slot if t is a kept step.
    fn record_snapshot(&self, encoder: &mut wgpu::CommandEncoder, t: usize) {
        if let (Some(buf), Some(slot)) = (&self.kept_buffer, self.snapshot_slot(t)) {
            let bytes = self.x.len() as u64 * 4;
            let at = slot as u64 * 2 * bytes;
            encoder.copy_buffer_to_buffer(self.x.buffer(), 0, buf, at, bytes);
            encoder.copy_buffer_to_buffer(self.pred_xstart.buffer(), 0, buf, at + bytes, bytes);
        }
    }

    /// Record `reps` steps' kernels at whatever step `timesteps` holds, recorded as the loop
    /// records them (fused: in one pass) but without its bookkeeping: the timesteps stay put
    /// and nothing is copied. `ddpm bench` times a step's kernels by it.
    pub(crate) fn record_kernels(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        denoiser: &dyn Denoiser,
        reps: usize,
    ) -> Result<()> {
        let first = &self.step_groups[0];
        if self.fused {
            self.record_fused_pass(encoder, std::iter::repeat_n(first, reps));
            return Ok(());
        }
        for _ in 0..reps {
            self.record_two_passes(ctx, encoder, denoiser, first)?;
        }
        Ok(())
    }

    /// A step's two passes when the denoiser is not fused: the denoiser's, then the step's.
    fn record_two_passes(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        denoiser: &dyn Denoiser,
        step_group: &wgpu::BindGroup,
    ) -> Result<()> {
        denoiser.record(ctx, encoder, &self.io())?;
        dispatch(
            encoder,
            self.kernel,
            &self.pipeline,
            step_group,
            self.groups,
        );
        Ok(())
    }

    /// Bytes of device memory this chunk's loop allocated (the denoiser's own not included):
    /// x, pred_xstart, model_output, model_var, the two timestep buffers, and the progressive
    /// snapshots.
    pub(crate) fn device_bytes(&self) -> u64 {
        let tensors = [
            Some(&self.x),
            Some(&self.pred_xstart),
            Some(&self.model_output),
            self.model_var.as_ref(),
        ];
        let tensor_bytes: u64 = tensors.iter().flatten().map(|t| t.buffer().size()).sum();
        tensor_bytes
            + self.steps.timesteps.size()
            + self.steps.next.size()
            + self.kept_buffer.as_ref().map_or(0, wgpu::Buffer::size)
    }

    /// Read x_0 and the progressive snapshots back.
    pub(crate) fn read_back(&self, ctx: &Context) -> Result<Samples> {
        let n = self.x.len();
        let mut kept = Vec::new();
        if let Some(buf) = &self.kept_buffer {
            let all: Vec<f32> = bytemuck::pod_collect_to_vec(&read_buffer(ctx, buf, buf.size())?);
            for (slot, &t) in self.keep_steps.iter().enumerate() {
                let at = slot * 2 * n;
                kept.push((
                    t,
                    all[at..at + n].to_vec(),
                    all[at + n..at + 2 * n].to_vec(),
                ));
            }
        }
        Ok(Samples {
            x0: self.x.to_vec(ctx)?,
            kept,
        })
    }
}

/// The timesteps of the sampling loop, kept on the device: `timesteps` (B u32, read by the
/// denoiser and the step kernel) starts at T-1; the step kernel writes t - 1 into `next`, and a
/// B-long copy after each step moves it into `timesteps` (or, with the denoiser fused, the next
/// step reads `next` and writes `timesteps`). The step kernel cannot decrement
/// `timesteps` in place, since other invocations of the same sample still read it. Unlike a
/// [T, B] table of rows (as `calc_bpd_loop` keeps, visiting steps in its own order), nothing
/// grows with T.
pub(crate) struct LoopSteps {
    /// The `array<u32>` of the current step, one entry per sample.
    pub timesteps: wgpu::Buffer,
    /// The next step's, written by the step kernel.
    pub next: wgpu::Buffer,
}

impl LoopSteps {
    pub(crate) fn new(ctx: &Context, num_timesteps: usize, batch: usize) -> Result<Self> {
        let first = vec![num_timesteps.saturating_sub(1) as u32; batch];
        Ok(LoopSteps {
            timesteps: ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("timesteps"),
                contents: bytemuck::cast_slice(&first),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            })?,
            next: ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some("next timesteps"),
                size: batch as u64 * 4,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })?,
        })
    }

    /// Record moving `next` into `timesteps`, after a step's kernels.
    fn record_advance(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.copy_buffer_to_buffer(&self.next, 0, &self.timesteps, 0, self.next.size());
    }
}
