//! The sampling loop on the device, for any [`Sampler`] and any [`Denoiser`]. CPU twin:
//! `crate::cpu::sampling::sample_loop`.
//!
//! x_T is drawn in the shader (or uploaded: `LoopOptions::x_t`, or a host noise stream), then
//! for each training timestep t of the sampler's order: the denoiser's work, with thresholding
//! the per-sample scales, and one step kernel of the sampler that updates x in place (noise
//! drawn in the shader or read from the host's upload) and writes the next step's timesteps.
//! Everything is allocated and bound once before the loop (`chunk.rs`); nothing is read back
//! until the end, and no buffer grows with T but the sampler's rows (one per training step,
//! uploaded once) and the progressive snapshots. Work is submitted every `steps_per_submit`
//! steps so progress can be reported.

mod chunk;
mod plan;
mod step_cost;
mod step_groups;
mod steps;
mod threshold;

pub use crate::sampler::loop_options::{LoopOptions, NoiseSource};
use chunk::ChunkLoop;
use plan::LoopPlan;
pub use step_cost::{step_cost, StepCost};

use crate::chain::Chain;
use crate::cpu::kernels::torch_randn::TorchGenerator;
use crate::error::{Error, Result};
use crate::gpu::sampling::denoiser::Denoiser;
use crate::gpu::{Context, GpuTables};
use crate::options::ModelOptions;
use crate::sampler::{Ddpm, Sampler};

/// Options of [`p_sample_loop`]: the DDPM sampler's model options and the loop's.
#[derive(Clone, Copy, Debug)]
pub struct SampleOptions {
    /// Mean type, variance type and clipping of p(x_{t-1} | x_t).
    pub model: ModelOptions,
    /// Keys every noise draw: the same seed gives the same samples on any chunking.
    pub seed: u64,
    /// Steps recorded per submission (progress is reported between submissions).
    pub steps_per_submit: usize,
    /// Progressive mode: keep x_t and pred_xstart after every step t with t % k == 0.
    pub keep_every: Option<usize>,
    /// At most this many samples per chunk (`None`: as many as one storage binding holds).
    pub max_chunk_samples: Option<usize>,
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

impl SampleOptions {
    /// The loop's part of these options.
    pub fn loop_options(&self) -> LoopOptions {
        LoopOptions {
            seed: self.seed,
            steps_per_submit: self.steps_per_submit,
            keep_every: self.keep_every,
            max_chunk_samples: self.max_chunk_samples,
            ..LoopOptions::default()
        }
    }
}

/// One progressive snapshot: (t, x after the step at t, pred_xstart of that step).
pub type Snapshot = (usize, Vec<f32>, Vec<f32>);

/// What the sampling loops return.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// The final x, C order, the requested shape.
    pub x0: Vec<f32>,
    /// Progressive mode: (t, x after the step at t, pred_xstart of that step), in visiting
    /// order.
    pub kept: Vec<Snapshot>,
}

/// The original's `p_sample_loop`: DDPM over all T steps of `tables` (see [`sample_loop`]).
pub fn p_sample_loop(
    ctx: &Context,
    tables: &GpuTables,
    denoiser: &mut dyn Denoiser,
    shape: &[usize],
    opts: &SampleOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Samples> {
    let sampler = Ddpm::new(Chain::full(tables.tables()), opts.model, None)?;
    sample_loop(
        ctx,
        &sampler,
        denoiser,
        shape,
        &opts.loop_options(),
        progress,
    )
}

/// Draw samples of `shape` ([B, ...]) with `sampler` and `denoiser`. A batch larger than one
/// storage binding (or `opts.max_chunk_samples`) runs as consecutive chunks, each with its own
/// [`Denoiser::prepare`]; the noise is keyed by global sample (or drawn for the whole batch),
/// so the result is the same. `progress` is called with (steps done, total steps over all
/// chunks) after each submission. Device memory per chunk: x, pred_xstart, model_output (and
/// model_var) of the chunk's size, two B-long timestep buffers, the aux buffer (thresholds,
/// host noise), the denoiser's own, and in progressive mode 2 x (N / k + 1) copies of the chunk.
pub fn sample_loop(
    ctx: &Context,
    sampler: &dyn Sampler,
    denoiser: &mut dyn Denoiser,
    shape: &[usize],
    opts: &LoopOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Samples> {
    let (batch, sample_len) = batch_and_sample_len(shape)?;
    if let Some(x) = &opts.x_t {
        if Some(x.len()) != batch.checked_mul(sample_len) {
            return Err(Error::ShapeMismatch(format!(
                "x_t has {} values but samples of shape {shape:?} need {}",
                x.len(),
                batch.saturating_mul(sample_len)
            )));
        }
    }
    opts.check_first_sample(batch)?;
    let plan = LoopPlan::new(ctx, sampler)?;
    let fits = (ctx.limits().max_storage_buffer_binding_size / (sample_len as u64 * 4)) as usize;
    let chunk = fits
        .min(opts.max_chunk_samples.unwrap_or(usize::MAX))
        .max(1);
    let chunks = batch.div_ceil(chunk);
    let steps = plan.order.len();
    let total = chunks.saturating_mul(steps);
    let mut out = Samples::default();
    // The whole result lives on the host: fail now, not after hours, if it cannot.
    let host = |e| Error::OutOfMemory(format!("host memory for samples of shape {shape:?}: {e}"));
    out.x0.try_reserve_exact(batch * sample_len).map_err(host)?;
    for c in 0..chunks {
        let first = c * chunk;
        let size = chunk.min(batch - first);
        let mut chunk_shape = shape.to_vec();
        chunk_shape[0] = size;
        let base = c * steps;
        if let Some(labels) = &opts.class_labels {
            denoiser.set_class_labels(ctx, &labels[first..first + size])?;
        }
        let part = run_chunk(
            ctx,
            &plan,
            denoiser,
            (&chunk_shape, batch),
            first,
            opts,
            &mut |done| progress(base + done, total),
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

/// (B, elements per sample) of `shape`, [B, ...] with B > 0 and no empty sample.
fn batch_and_sample_len(shape: &[usize]) -> Result<(usize, usize)> {
    let batch = *shape
        .first()
        .filter(|&&b| b > 0)
        .ok_or_else(|| Error::ShapeMismatch("samples need a batch dimension [B, ...]".into()))?;
    let elements =
        crate::gpu::runtime::alloc::elements(&format!("samples of shape {shape:?}"), shape)?;
    let sample_len = elements / batch;
    if sample_len == 0 {
        return Err(Error::ShapeMismatch(format!(
            "samples of shape {shape:?} are empty"
        )));
    }
    Ok((batch, sample_len))
}

/// One chunk: samples `first ..` of a batch of `batch` samples, `shape` the chunk's.
fn run_chunk(
    ctx: &Context,
    plan: &LoopPlan<'_>,
    denoiser: &mut dyn Denoiser,
    (shape, batch): (&[usize], usize),
    first: usize,
    opts: &LoopOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<Samples> {
    // The chunk's first sample in the whole run, which keys its Philox noise.
    let global = opts.first_sample + first as u32;
    let chunk = ChunkLoop::new(ctx, plan, denoiser, shape, global, opts)?;
    let n = chunk.len();
    let range = first * (n / shape[0])..(first * (n / shape[0]) + n);
    let mut torch = match opts.noise {
        NoiseSource::Torch => Some(TorchGenerator::new(opts.seed)),
        NoiseSource::Philox => None,
    };
    let mut encoder = ctx.encoder();
    // x_T: given (the torch stream then starts with the first step's noise), the torch
    // stream's first draw (the whole batch's x_T, as diffusers' pipelines draw it), or Philox.
    let whole = n / shape[0] * batch;
    // x_T times the sampler's scale, in f32 whichever the source (1: the draws themselves).
    let scale = plan.sampler.init_scale() as f32;
    let scaled = |x: &[f32]| x.iter().map(|v| v * scale).collect::<Vec<f32>>();
    match (&opts.x_t, torch.as_mut()) {
        (Some(x), _) => chunk.upload_x(ctx, &scaled(&x[range.clone()]))?,
        (None, Some(g)) => chunk.upload_x(ctx, &scaled(&g.randn(whole)[range.clone()]))?,
        (None, None) => chunk.record_init(ctx, &mut encoder, scale)?,
    }
    let per_submit = match torch {
        Some(_) => 1,
        None => opts.steps_per_submit.max(1),
    };
    let mut done = 0;
    let mut staged = None;
    let visits = plan.order.len();
    let blocks = visits.div_ceil(per_submit);
    // A fresh encoder per submission, made only when a block needs one: dropping an unused
    // encoder cost 2.5-3 ms on lavapipe, an eighth of a DDIM-50 loop at [16, 3, 32, 32].
    let mut encoder = Some(encoder);
    for i in 0..blocks {
        let block = i * per_submit..((i + 1) * per_submit).min(visits);
        if let Some(g) = torch.as_mut() {
            // One step per block: its noise is uploaded before the submission that reads it.
            if plan.sampler.draws_noise(plan.order[block.start]) {
                chunk.upload_noise(ctx, &g.randn(whole)[range.clone()])?;
            }
        }
        let mut e = encoder.take().unwrap_or_else(|| ctx.encoder());
        let len = block.len();
        chunk.record_steps(ctx, &mut e, denoiser, block)?;
        if i + 1 == blocks {
            // The copy out rides in the last submission: no extra submit and wait for it.
            staged = Some(chunk.stage_x(ctx, &mut e)?);
        }
        ctx.submit(e)?;
        ctx.wait()?;
        done += len;
        progress(done);
    }
    let staged = match (staged, encoder) {
        (Some(s), _) => s,
        // A chain has at least one step; were it empty, x_T is what there is.
        (None, e) => {
            let mut e = e.unwrap_or_else(|| ctx.encoder());
            let s = chunk.stage_x(ctx, &mut e)?;
            ctx.submit(e)?;
            s
        }
    };
    chunk.read_back(ctx, staged)
}

/// Record the per-sample dynamic thresholds of the raw pred_xstart of `model_output` at x (each
/// sample at its training timestep in `t`) for `sampler`: a new \[B\] tensor.
pub fn record_thresholds(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    sampler: &dyn Sampler,
    t: &crate::gpu::GpuSteps,
    x: &crate::gpu::GpuTensor,
    model_output: &crate::gpu::GpuTensor,
    threshold: crate::sampler::Threshold,
) -> Result<crate::gpu::GpuTensor> {
    let tables = GpuTables::new(ctx, &sampler.chain().by_timestep())?;
    let raw = crate::gpu::GpuTensor::zeros(ctx, x.shape())?;
    let io = crate::gpu::DenoiserIo {
        x_t: x,
        timesteps: t.buffer(),
        tables: &tables,
        model_output,
        model_var: None,
        times: None,
    };
    crate::gpu::kernels::predict_xstart::predict_xstart_into(
        ctx,
        encoder,
        sampler.model(),
        &io,
        &raw,
    )?;
    crate::gpu::kernels::dynamic_threshold::dynamic_threshold(
        ctx,
        encoder,
        &raw,
        threshold.ratio,
        threshold.max,
    )
}
