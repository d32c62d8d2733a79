//! Samplers: how the sampling loop moves x along a chain, one step kernel per step.
//!
//! A sampler is a part: its step shader (`shaders/<name>_step*.wgsl`), its host module here
//! (the rows of its chain, computed in f64 and uploaded once, and its kernels and pipeline
//! constants), and its CPU twin (`src/cpu/<name>_step.rs`). The loops,
//! [`gpu::sample_loop`](crate::gpu::sampling::sample_loop::sample_loop) and
//! [`cpu::sample_loop`](crate::cpu::sampling::sample_loop::sample_loop), only call the [`Sampler`] trait:
//! adding a sampler touches neither.
//!
//! - [`Ddpm`]: the ancestral step of the original (`p_sample`) on the full or a respaced chain.
//! - [`Ddim`]: DDIM (Song et al.) with eta, as diffusers' `DDIMScheduler` and improved-diffusion's
//!   `ddim_sample` compute it; [`DdimReverse`]: its inverse (eta = 0), which encodes data into
//!   x_T.
//! - [`DpmSolver`]: DPM-Solver and DPM-Solver++ (orders 1 to 3, ODE or SDE) as diffusers'
//!   `DPMSolverMultistepScheduler` computes them, as rows of the multistep kernel: the steps
//!   before's predictions live in a ring that the loop keeps after pred_xstart
//!   ([`Sampler::state_slots`]).
//! - [`UniPc`]: UniPC's predictor and corrector (orders 1 to 3, bh1 or bh2) as diffusers'
//!   `UniPCMultistepScheduler` computes them, on the same kernel.
//! - [`Euler`]: Euler and Euler ancestral as diffusers' `EulerDiscreteScheduler` and
//!   `EulerAncestralDiscreteScheduler` compute them, first-order rows of the same kernel.
//! - [`Lms`]: diffusers' `LMSDiscreteScheduler` (orders 1 to 4), rows of the same kernel with
//!   exact Lagrange-integral coefficients.
//! - [`Heun`]: diffusers' `HeunDiscreteScheduler` (two model evaluations per step) and
//!   [`Pndm`]: its `PNDMScheduler` (PLMS, with or without the Runge-Kutta warm-up), rows of the
//!   same kernel one per visit ([`Sampler::rows_by_visit`]): both call the model twice at some
//!   timesteps.
//! - [`SigmaSchedule`], [`sigma_steps`]: the sigmas the multistep samplers may step through
//!   instead of the training table's (Karras, exponential, beta, lu) and their timesteps.
//!
//! Every sampler is driven by training timesteps: the denoiser is always called with the
//! original timestep of the current step, and the step kernel reads the row of the chain there.

mod ddim;
mod ddpm;
mod dpm_options;
mod dpm_solver;
mod euler;
mod heun;
mod lms;
pub mod loop_options;
mod multistep;
mod placed_rows;
mod pndm;
mod sigma_times;
mod sigmas;
mod unipc;
mod visit_rows;

pub use ddim::{forward_rows, reverse_rows_by_current, Ddim, DdimOptions, DdimReverse};

/// Run `sampler`'s CPU step for a batch whose samples are at their own training timesteps `t`
/// (the ops): each sample's slice stepped at its t. Returns pred_xstart. A sampler that keeps
/// state from step to step (a multistep one) has no single step to run and is refused.
pub fn cpu_step_per_sample(
    sampler: &dyn Sampler,
    t: &[u32],
    step: CpuStep<'_>,
) -> Result<Vec<f64>> {
    let d = step.sample_len;
    crate::cpu::kernels::ddpm_step::check(step.x.len(), d, &step)?;
    if sampler.state_slots() != 0 || sampler.rows_by_visit() {
        return Err(Error::Unsupported(format!(
            "{} keeps history from step to step: it runs in a sampling loop, not one step at a time",
            sampler.name()
        )));
    }
    if step.x.len() != t.len() * d || step.scales.is_some_and(|s| s.len() != t.len()) {
        return Err(Error::ShapeMismatch(format!(
            "{} values are not {} samples of {d}",
            step.x.len(),
            t.len()
        )));
    }
    let mut pred = Vec::with_capacity(step.x.len());
    for (b, (x, &tb)) in step.x.chunks_mut(d).zip(t).enumerate() {
        pred.extend(sampler.cpu_step(
            Visit::at(tb as usize),
            CpuStep {
                sample_len: d,
                x,
                output: &step.output[b * d..(b + 1) * d],
                var: step.var.map(|v| &v[b * d..(b + 1) * d]),
                noise: step.noise.map(|v| &v[b * d..(b + 1) * d]),
                scales: step.scales.map(|s| &s[b..b + 1]),
                state: None,
            },
        )?);
    }
    Ok(pred)
}
pub use crate::cpu::kernels::CpuStep;
pub use ddpm::Ddpm;
pub use dpm_solver::{
    dpm_rows, lambda_clipped_last, step_coefficients, DpmAlgorithm, DpmSolver, DpmSolverOptions,
    SolverType,
};
pub use euler::{euler_rows, Euler, EulerOptions};
pub use heun::{heun_rows, Heun, HeunOptions};
pub use lms::{lms_rows, Lms, LmsOptions};
pub use loop_options::{LoopOptions, NoiseSource};
pub use pndm::{pndm_rows, Pndm, PndmOptions};
pub use sigma_times::SigmaTimes;
pub use sigmas::{
    multistep_abar, sigma_steps, sigma_steps_truncated, sigma_steps_within, sigma_to_t, FinalSigma,
    SigmaBounds, SigmaSchedule, SigmaSteps,
};
pub use unipc::{unipc_rows, UniPc, UniPcOptions, UniPcVariant};

use crate::chain::Chain;
use crate::error::{Error, Result};
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::FusedDenoiser;
use crate::options::{MeanType, ModelOptions};

/// Dynamic thresholding (diffusers' `thresholding`, Imagen): per sample,
/// s = clamp(quantile(|x_0|, ratio), 1, max) and x_0 = clamp(x_0, -s, s) / s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    /// diffusers' `dynamic_thresholding_ratio` (0.995 by default), in [0, 1].
    pub ratio: f64,
    /// diffusers' `sample_max_value` (1 by default), >= 1.
    pub max: f64,
}

impl Threshold {
    /// diffusers' defaults: ratio 0.995, max 1.
    pub const DEFAULT: Threshold = Threshold {
        ratio: 0.995,
        max: 1.0,
    };

    /// Reject a ratio outside [0, 1] or a max below 1.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.ratio) {
            return Err(Error::Unsupported(format!(
                "the threshold ratio must be in [0, 1], got {}",
                self.ratio
            )));
        }
        if !(self.max.is_finite() && self.max >= 1.0) {
            return Err(Error::Unsupported(format!(
                "the threshold's sample max must be finite and >= 1, got {}",
                self.max
            )));
        }
        Ok(())
    }
}

/// What the sampling loops need of a sampler. See the module doc.
pub trait Sampler {
    /// The sampler's name in messages and benches ("ddpm", "ddim", "ddim-reverse").
    fn name(&self) -> &'static str;

    /// The chain it runs on.
    fn chain(&self) -> &Chain;

    /// How the model's output is read: mean type, variance type (DDPM), clipping.
    fn model(&self) -> &ModelOptions;

    /// Dynamic thresholding of pred_xstart, if on.
    fn threshold(&self) -> Option<Threshold>;

    /// The training timesteps the loop visits, in order; the denoiser is called with each. By
    /// default the chain's kept steps from the last to the first, as sampling visits them. A
    /// sampler that calls the model twice at one timestep (Heun, PNDM) lists it twice and has
    /// [`Sampler::rows_by_visit`].
    fn order(&self) -> Vec<usize> {
        self.chain().steps.iter().rev().copied().collect()
    }

    /// The timesteps the model is called at, one per visit, where they are not all integers
    /// (diffusers' sigma-space classes with `linspace` spacing): the loop's `timesteps` then
    /// hold each visit's index k (the order is 0, 1, .., and the rows are by index), and the
    /// denoiser is called at `model_times()[k]` (`DenoiserIo::times`,
    /// `CpuDenoiser::denoise_times`). `None` by default: the model is called at the order's
    /// training timesteps.
    fn model_times(&self) -> Option<Vec<f64>> {
        None
    }

    /// The steps it takes, diffusers' `num_inference_steps`: one per visit of its order by
    /// default; fewer for a sampler that calls the model more than once a step (Heun, PNDM).
    fn steps(&self) -> usize {
        self.order().len()
    }

    /// Whether the step at training timestep t adds noise. With a host noise stream exactly
    /// these steps draw one noise tensor each, after x_T, as diffusers' pipelines draw them.
    fn draws_noise(&self, t: usize) -> bool;

    /// GPU: the step kernel's rows (binding 2), one per training timestep (T rows; those the
    /// chain does not visit are never read), as bytes; with [`Sampler::rows_by_visit`], one per
    /// visit of [`Sampler::order`], in order.
    fn gpu_rows(&self) -> Vec<u8>;

    /// Whether the rows are one per visit of [`Sampler::order`] rather than one per training
    /// timestep: a sampler whose order visits a timestep more than once. The step kernels still
    /// read `rows[timesteps[b]]`: the loop binds each visit's row where that index finds it
    /// (see `gpu::sampling::sample_loop`). No noise may be drawn at a repeated timestep (its
    /// Philox key is the timestep's). `false` by default.
    fn rows_by_visit(&self) -> bool {
        false
    }

    /// GPU: the step kernels, (vec4, scalar): vec4 when sample_len % 4 == 0.
    fn gpu_kernels(&self) -> (Kernel, Kernel);

    /// GPU: the pipeline constants of the step kernels besides the grid and the noise source.
    fn gpu_constants(&self) -> PipelineConstants;

    /// GPU: a vec4 step kernel that computes `denoiser` itself, if the sampler has one for it.
    fn gpu_fused(&self, denoiser: &FusedDenoiser) -> Option<Kernel> {
        let _ = denoiser;
        None
    }

    /// What x_T (the unit normal the loop draws or is given) is multiplied by before the first
    /// step, in f32: 1 by default. A sigma-space sampler whose diffusers class starts from
    /// sigma_max z (`init_noise_sigma`) has sigma_max / sqrt(1 + sigma_max^2) here.
    fn init_scale(&self) -> f64 {
        1.0
    }

    /// Values per element that the sampler keeps from step to step (a multistep sampler's ring
    /// of history values and last sample): the GPU loop allocates them after pred_xstart, the
    /// CPU loop hands them to every step as [`CpuStep::state`]. 0 by default.
    fn state_slots(&self) -> usize {
        0
    }

    /// CPU twin: the step of `at` (its training timestep, and its position in
    /// [`Sampler::order`], which a sampler with [`Sampler::rows_by_visit`] reads its row by), in
    /// f64; x is updated in place and pred_xstart returned.
    fn cpu_step(&self, at: Visit, step: CpuStep<'_>) -> Result<Vec<f64>>;
}

/// One step of a sampling loop: its position in the sampler's order and its training timestep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visit {
    /// Position in [`Sampler::order`] (0 for a step run alone, as the ops run it).
    pub index: usize,
    /// The training timestep the model is called at.
    pub t: usize,
}

impl Visit {
    /// The step at training timestep t, first of its order (the ops' single steps).
    pub fn at(t: usize) -> Self {
        Visit { index: 0, t }
    }
}

/// Refuse an order the loops cannot run for `sampler`: a repeated timestep without
/// [`Sampler::rows_by_visit`] (the rows are by timestep), or a repeated timestep that draws
/// noise (its Philox key would repeat too).
pub(crate) fn check_order(sampler: &dyn Sampler, order: &[usize]) -> Result<()> {
    if let Some(times) = sampler.model_times() {
        let indices = order.iter().enumerate().all(|(k, &i)| k == i);
        if !indices || times.len() != order.len() || times.iter().any(|t| !t.is_finite()) {
            return Err(Error::Unsupported(format!(
                "{}: {} model times for an order of {} visits that is not 0, 1, ..",
                sampler.name(),
                times.len(),
                order.len()
            )));
        }
    }
    let mut seen = vec![false; sampler.chain().num_train_timesteps()];
    for &t in order {
        let Some(s) = seen.get_mut(t) else {
            return Err(Error::TimestepOutOfRange {
                index: 0,
                value: t as i64,
                num_timesteps: seen.len(),
            });
        };
        if *s && (!sampler.rows_by_visit() || sampler.draws_noise(t)) {
            return Err(Error::Unsupported(format!(
                "{} visits timestep {t} twice{}",
                sampler.name(),
                if sampler.rows_by_visit() {
                    " and draws noise there (its key would repeat)"
                } else {
                    ", but its rows are by timestep"
                }
            )));
        }
        *s = true;
    }
    Ok(())
}

/// The pipeline constants of a step kernel for `model`, `threshold` and DDIM's clipped eps.
pub(crate) fn step_constants(
    model: &ModelOptions,
    threshold: Option<Threshold>,
    clipped_eps: bool,
) -> PipelineConstants {
    let p = crate::gpu::runtime::params::ElementParams::new(0, 1, 1, model);
    PipelineConstants {
        threshold: u32::from(threshold.is_some()),
        clipped_eps: u32::from(clipped_eps),
        ..PipelineConstants::default().with_model(&p)
    }
}

/// Checks every sampler makes: the model options, the threshold, thresholding only with a mean
/// type that predicts x_0 (eps, xstart, v), and eps defined wherever the chain calls the model.
pub(crate) fn validate(
    chain: &Chain,
    model: &ModelOptions,
    threshold: Option<Threshold>,
) -> Result<()> {
    validate_with(chain, model, threshold, false)
}

/// [`validate`] for the samplers that read abar through [`multistep_abar`]: a zero terminal
/// abar is 2^-24 there (as in diffusers' multistep and sigma-space classes), where eps is
/// defined.
pub(crate) fn validate_multistep(
    chain: &Chain,
    model: &ModelOptions,
    threshold: Option<Threshold>,
) -> Result<()> {
    validate_with(chain, model, threshold, true)
}

fn validate_with(
    chain: &Chain,
    model: &ModelOptions,
    threshold: Option<Threshold>,
    terminal_defined: bool,
) -> Result<()> {
    model.validate()?;
    let last = chain.num_train_timesteps().saturating_sub(1);
    if let Some(th) = threshold {
        th.validate()?;
        if model.mean_type == MeanType::Xprev {
            return Err(Error::Unsupported(
                "dynamic thresholding needs a mean type that predicts x_0 (eps, xstart or v), \
                 not xprev"
                    .into(),
            ));
        }
    }
    for (i, &t) in chain.steps.iter().enumerate() {
        if terminal_defined && t == last {
            continue;
        }
        chain
            .tables
            .check_eps_defined(model.mean_type, i)
            .map_err(|_| {
                Error::Unsupported(format!(
                "eps prediction is undefined at t = {t}, where abar_t = 0 (zero terminal SNR): \
                 use mean type v or xstart, or a spacing that skips t = {t}"
            ))
            })?;
    }
    Ok(())
}

/// The rows of `order`'s next timesteps: next[t] for each visited t is the timestep after it,
/// or t itself at the last.
pub(crate) fn next_of(order: &[usize], num_timesteps: usize) -> Vec<u32> {
    let mut next: Vec<u32> = (0..num_timesteps)
        .map(|t| t.saturating_sub(1) as u32)
        .collect();
    for (k, &t) in order.iter().enumerate() {
        next[t] = *order.get(k + 1).unwrap_or(&t) as u32;
    }
    next
}
