//! Euler and Euler ancestral (Karras et al. 2022's first-order sampler on the probability-flow
//! ODE, and its ancestral SDE form) as diffusers' `EulerDiscreteScheduler` (with s_churn 0, the
//! pipelines' default) and `EulerAncestralDiscreteScheduler` compute them, on the training
//! table's sigmas at the chain's timesteps. Rows of the multistep kernel
//! (shaders/multistep_step*.wgsl; CPU twin `cpu::kernels::multistep_step`), computed in f64
//! here; no ring.
//!
//! diffusers steps the sample s = x sqrt(1 + sigma^2) (its model input is s scaled back by
//! `scale_model_input`); the loop keeps x itself, the variance-preserving latent the model
//! reads, so no scaling pass is needed. With x_0 from the output at abar = 1 / (1 + sigma^2),
//! Euler's s' = s + (s - x_0) / sigma (sigma' - sigma) is
//! x' = [sigma' / sigma sqrt(1 + sigma^2) x + (1 - sigma' / sigma) x_0] / sqrt(1 + sigma'^2);
//! the ancestral form steps to sigma_down = sqrt(sigma'^2 - sigma_up^2),
//! sigma_up = sqrt(sigma'^2 (sigma^2 - sigma'^2) / sigma^2), and adds sigma_up z (one normal
//! drawn every step, the last too, as diffusers draws).
//!
//! x_T is the unit normal: diffusers' `init_noise_sigma` sqrt(sigma_max^2 + 1) with `leading`
//! spacing, which the scaling cancels. With `linspace` or `trailing` diffusers starts from
//! sigma_max z instead: [`EulerOptions::init_sigma_max`] scales x_T to match. `linspace` also
//! calls the model at non-integer timesteps ([`Euler::on_times`] with
//! [`SigmaTimes::linspace`]): the rows are then by visit index and the loop hands the model
//! its times ([`Sampler::model_times`]).

use super::sigma_times::{order, place, SigmaTimes};
use super::{
    multistep, multistep_abar, step_constants, validate_multistep, CpuStep, FinalSigma, Sampler,
};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{History, MultistepRow};
use crate::error::{Error, Result};
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;
use crate::options::{MeanType, ModelOptions};
use crate::schedule::Tables;

/// Euler's options besides the model's, with diffusers' defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EulerOptions {
    /// Euler ancestral (`EulerAncestralDiscreteScheduler`) instead of Euler.
    pub ancestral: bool,
    /// `final_sigmas_type` (zero; Euler ancestral has only zero).
    pub final_sigma: FinalSigma,
    /// diffusers' `init_noise_sigma` is sigma_max (its `linspace` and `trailing` spacings),
    /// not sqrt(sigma_max^2 + 1) (`leading`): x_T is then scaled by
    /// sigma_max / sqrt(1 + sigma_max^2) ([`Sampler::init_scale`]).
    pub init_sigma_max: bool,
    /// diffusers' `timestep_type` "continuous" (for a v-prediction model; Euler only): the
    /// model is called at 0.25 ln sigma of each step (float32) instead of its timestep.
    pub continuous: bool,
}

impl Default for EulerOptions {
    fn default() -> Self {
        EulerOptions {
            ancestral: false,
            final_sigma: FinalSigma::Zero,
            init_sigma_max: false,
            continuous: false,
        }
    }
}

/// x_T's scale for a first sigma `sigma_max` (float32, as diffusers keeps it; see
/// [`EulerOptions::init_sigma_max`]): sigma_max / sqrt(1 + sigma_max^2), or 1.
pub(crate) fn init_scale(sigma_max: f64, init_sigma_max: bool) -> f64 {
    if init_sigma_max {
        sigma_max / (1.0 + sigma_max * sigma_max).sqrt()
    } else {
        1.0
    }
}

/// The final sigma `o` asks for on the training table `alphas_cumprod`.
fn final_sigma(alphas_cumprod: &[f64], o: &EulerOptions) -> f64 {
    match o.final_sigma {
        FinalSigma::Zero => 0.0,
        // diffusers' float32 arithmetic on its float32 abar_0, as the table's.
        FinalSigma::SigmaMin => super::sigmas::table_sigmas(&multistep_abar(alphas_cumprod))[0],
    }
}

/// The rows of the steps through `st`'s sigmas (then `last`), in visit order.
fn visit_rows(st: &SigmaTimes, last: f64, o: &EulerOptions) -> Vec<MultistepRow> {
    let sigmas = &st.sigmas;
    (0..sigmas.len())
        .map(|i| {
            let s = sigmas[i];
            let s_next = sigmas.get(i + 1).copied().unwrap_or(last);
            let (to, up) = if o.ancestral {
                let up = (s_next * s_next * (s * s - s_next * s_next) / (s * s)).sqrt();
                ((s_next * s_next - up * up).max(0.0).sqrt(), up)
            } else {
                (s_next, 0.0)
            };
            let scale = 1.0 / (1.0 + s_next * s_next).sqrt();
            let r = to / s;
            MultistepRow {
                abar: 1.0 / (1.0 + s * s),
                history: History::Xstart,
                correct: None,
                update: [
                    r * (1.0 + s * s).sqrt() * scale,
                    (1.0 - r) * scale,
                    0.0,
                    0.0,
                    0.0,
                    up * scale,
                ],
                slots: [0; 4],
                ring: 0,
                next_t: 0,
            }
        })
        .collect()
}

/// The rows of `chain` by training timestep (visited from its last kept step to its first).
pub fn euler_rows(chain: &Chain, o: &EulerOptions) -> Result<Vec<MultistepRow>> {
    let st = SigmaTimes::of_chain(chain);
    let last = final_sigma(&chain.train.alphas_cumprod, o);
    let big_t = chain.num_train_timesteps();
    Ok(place(visit_rows(&st, last, o), &st.times, big_t)?.0)
}

/// The Euler sampler (see the module doc).
#[derive(Clone, Debug)]
pub struct Euler {
    chain: Chain,
    model: ModelOptions,
    opts: EulerOptions,
    rows: Vec<MultistepRow>,
    init_scale: f64,
    /// The model's timesteps where they are not integers (rows by visit index then).
    times: Option<Vec<f64>>,
}

impl Euler {
    /// Euler (or Euler ancestral) on `chain` (x_T as [`EulerOptions::init_sigma_max`] says),
    /// reading the model's output as `model` says (eps, xstart or v for Euler; eps or v for
    /// Euler ancestral, as diffusers). Neither clips x_0 or thresholds it: `clip_denoised`
    /// is refused.
    pub fn new(chain: Chain, model: ModelOptions, opts: EulerOptions) -> Result<Self> {
        let st = SigmaTimes::of_chain(&chain);
        Self::build(chain, &st, model, opts)
    }

    /// Euler through `st`, timesteps that need not be integers (diffusers' `linspace`
    /// spacing: [`SigmaTimes::linspace`]) on the training table `train`; otherwise as
    /// [`Euler::new`].
    pub fn on_times(
        train: &Tables,
        st: &SigmaTimes,
        model: ModelOptions,
        opts: EulerOptions,
    ) -> Result<Self> {
        Self::build(Chain::full(train), st, model, opts)
    }

    fn build(
        chain: Chain,
        st: &SigmaTimes,
        model: ModelOptions,
        opts: EulerOptions,
    ) -> Result<Self> {
        let name = if opts.ancestral {
            "Euler ancestral"
        } else {
            "Euler"
        };
        let refuse = |why: &str| Err(Error::Unsupported(format!("{name} {why}")));
        match model.mean_type {
            MeanType::Xprev => return refuse("reads eps, xstart or v model outputs, not xprev"),
            MeanType::Xstart if opts.ancestral => {
                return refuse("has no sample prediction in diffusers (it raises there)")
            }
            _ => {}
        }
        if model.clip_denoised {
            return refuse("does not clip x_0 (diffusers' has no clip_sample): set clipping off");
        }
        if opts.ancestral && opts.final_sigma == FinalSigma::SigmaMin {
            return refuse("ends at sigma zero only (diffusers' class has no final_sigmas_type)");
        }
        if st.sigmas.is_empty() {
            return refuse("needs at least one step");
        }
        // A last step from sigma(0) to sigma_min = sigma(0) (a chain through t = 0) moves
        // nothing: the first-order step is exact there, as in diffusers.
        validate_multistep(&chain, &model, None)?;
        if opts.continuous && (opts.ancestral || model.mean_type != MeanType::V) {
            return refuse("takes continuous timesteps with a v-prediction model only (diffusers)");
        }
        let last = final_sigma(&chain.train.alphas_cumprod, &opts);
        let big_t = chain.num_train_timesteps();
        // Continuous timesteps: 0.25 ln sigma in float32, as diffusers forms them.
        let continuous: Vec<f64> = st
            .sigmas
            .iter()
            .map(|&s| f64::from(0.25 * (s as f32).ln()))
            .collect();
        let times = if opts.continuous {
            &continuous
        } else {
            &st.times
        };
        let (rows, times) = place(visit_rows(st, last, &opts), times, big_t)?;
        let init_scale = init_scale(st.sigmas[0], opts.init_sigma_max);
        Ok(Euler {
            chain,
            model,
            opts,
            rows,
            init_scale,
            times,
        })
    }

    /// The f64 row at training timestep t (at visit index t where the timesteps are not
    /// integers).
    pub fn row(&self, t: usize) -> Option<&MultistepRow> {
        self.rows.get(t)
    }

    /// Its options.
    pub fn options(&self) -> &EulerOptions {
        &self.opts
    }
}

impl Sampler for Euler {
    fn name(&self) -> &'static str {
        if self.opts.ancestral {
            "euler-a"
        } else {
            "euler"
        }
    }

    fn chain(&self) -> &Chain {
        &self.chain
    }

    fn model(&self) -> &ModelOptions {
        &self.model
    }

    fn threshold(&self) -> Option<super::Threshold> {
        None
    }

    fn init_scale(&self) -> f64 {
        self.init_scale
    }

    fn order(&self) -> Vec<usize> {
        order(self.times.as_deref(), &self.chain)
    }

    fn model_times(&self) -> Option<Vec<f64>> {
        self.times.clone()
    }

    fn draws_noise(&self, _t: usize) -> bool {
        // diffusers' ancestral step draws every step, the last (sigma_up 0) too.
        self.opts.ancestral
    }

    fn gpu_rows(&self) -> Vec<u8> {
        multistep::gpu_rows(&self.rows)
    }

    fn gpu_kernels(&self) -> (Kernel, Kernel) {
        multistep::KERNELS
    }

    fn gpu_constants(&self) -> PipelineConstants {
        step_constants(&self.model, None, false)
    }

    fn cpu_step(&self, at: super::Visit, step: CpuStep<'_>) -> Result<Vec<f64>> {
        let t = at.t;
        multistep::cpu_step(&self.rows, &self.model, t, step)
    }
}
