//! LMS, the linear multistep method on the probability-flow ODE in sigma, as diffusers'
//! `LMSDiscreteScheduler` computes it (its `step` with `order` 4, the pipelines' default, or
//! 1 to 4): s' = s + sum_j c_j d_j over this step's derivative d_0 = (s - x_0) / sigma and the
//! `order - 1` before it, where c_j integrates the Lagrange basis polynomial of node j over
//! the step, [sigma_i, sigma_{i+1}]. diffusers integrates it numerically (scipy's quad, to
//! 1e-4 relative); here it is integrated exactly in f64 (3-point Gauss-Legendre: exact for
//! the polynomial degrees, at most 3, that order 4 gives).
//!
//! As for [`Euler`](super::Euler), the loop keeps x = s / sqrt(1 + sigma^2), the latent the
//! model reads, and d is the eps that x and x_0 give, so a step is
//! x' = [sqrt(1 + sigma^2) x + sum_j c_j eps_j] / sqrt(1 + sigma'^2): rows of the multistep
//! kernel with a ring of the eps values. Its x_T follows Euler's rule
//! ([`LmsOptions::init_sigma_max`] for trailing spacing).

use super::sigma_times::{order, place, SigmaTimes};
use super::{multistep, step_constants, validate_multistep, CpuStep, Sampler};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{History, MultistepRow};
use crate::error::{Error, Result};
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;
use crate::options::{MeanType, ModelOptions};
use crate::schedule::Tables;

/// LMS's options, with diffusers' pipeline default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LmsOptions {
    /// The `order` its `step` takes, 1 to 4 (4).
    pub order: usize,
    /// As [`EulerOptions::init_sigma_max`](super::EulerOptions::init_sigma_max).
    pub init_sigma_max: bool,
}

impl Default for LmsOptions {
    fn default() -> Self {
        LmsOptions {
            order: 4,
            init_sigma_max: false,
        }
    }
}

/// The integral over [a, b] of the Lagrange basis polynomial of node j over `nodes`.
fn lagrange_integral(nodes: &[f64], j: usize, a: f64, b: f64) -> f64 {
    let basis = |tau: f64| {
        nodes
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != j)
            .map(|(_, &s)| (tau - s) / (nodes[j] - s))
            .product::<f64>()
    };
    // Gauss-Legendre, 3 points: exact for degree <= 5.
    let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
    let x = (0.6f64).sqrt();
    half * (5.0 / 9.0 * basis(mid - half * x)
        + 8.0 / 9.0 * basis(mid)
        + 5.0 / 9.0 * basis(mid + half * x))
}

/// The rows of the steps through `sigmas` (then 0), in visit order.
fn visit_rows(sigmas: &[f64], o: &LmsOptions) -> Vec<MultistepRow> {
    // diffusers' last sigma is 0.
    let sigmas: Vec<f64> = sigmas.iter().copied().chain([0.0]).collect();
    let ring = if o.order > 1 { o.order } else { 0 };
    (0..sigmas.len() - 1)
        .map(|i| {
            let q = o.order.min(i + 1);
            // Nodes sigma_i, sigma_{i-1}, ..: node j is the derivative j steps back.
            let nodes: Vec<f64> = (0..q).map(|j| sigmas[i - j]).collect();
            let (s, s_next) = (sigmas[i], sigmas[i + 1]);
            let scale = 1.0 / (1.0 + s_next * s_next).sqrt();
            let mut update = [(1.0 + s * s).sqrt() * scale, 0.0, 0.0, 0.0, 0.0, 0.0];
            for j in 0..q {
                update[1 + j] = lagrange_integral(&nodes, j, s, s_next) * scale;
            }
            MultistepRow {
                abar: 1.0 / (1.0 + s * s),
                history: History::Eps,
                correct: None,
                update,
                slots: MultistepRow::cyclic(i, ring),
                ring,
                next_t: 0,
            }
        })
        .collect()
}

/// The rows of `chain` by training timestep (visited from its last kept step to its first).
pub fn lms_rows(chain: &Chain, o: &LmsOptions) -> Result<Vec<MultistepRow>> {
    let st = SigmaTimes::of_chain(chain);
    Ok(place(
        visit_rows(&st.sigmas, o),
        &st.times,
        chain.num_train_timesteps(),
    )?
    .0)
}

/// The LMS sampler (see the module doc).
#[derive(Clone, Debug)]
pub struct Lms {
    chain: Chain,
    model: ModelOptions,
    opts: LmsOptions,
    rows: Vec<MultistepRow>,
    init_scale: f64,
    /// The model's timesteps where they are not integers (rows by visit index then).
    times: Option<Vec<f64>>,
}

impl Lms {
    /// LMS on `chain` (x_T as [`LmsOptions::init_sigma_max`] says), reading the model's output (eps, xstart
    /// or v) as `model` says; no clipping (diffusers' LMS has none).
    pub fn new(chain: Chain, model: ModelOptions, opts: LmsOptions) -> Result<Self> {
        let st = SigmaTimes::of_chain(&chain);
        Self::build(chain, &st, model, opts)
    }

    /// LMS through `st`, timesteps that need not be integers (diffusers' `linspace` spacing),
    /// on the training table `train`; otherwise as [`Lms::new`].
    pub fn on_times(
        train: &Tables,
        st: &SigmaTimes,
        model: ModelOptions,
        opts: LmsOptions,
    ) -> Result<Self> {
        Self::build(Chain::full(train), st, model, opts)
    }

    fn build(chain: Chain, st: &SigmaTimes, model: ModelOptions, opts: LmsOptions) -> Result<Self> {
        let refuse = |why: String| Err(Error::Unsupported(format!("LMS {why}")));
        if model.mean_type == MeanType::Xprev {
            return refuse("reads eps, xstart or v model outputs, not xprev".into());
        }
        if model.clip_denoised {
            return refuse("does not clip x_0 (diffusers' has no clip_sample)".into());
        }
        if !(1..=4).contains(&opts.order) {
            return refuse(format!("order {} is not available: 1 to 4 are", opts.order));
        }
        if st.sigmas.is_empty() {
            return refuse("needs at least one step".into());
        }
        validate_multistep(&chain, &model, None)?;
        let big_t = chain.num_train_timesteps();
        let (rows, times) = place(visit_rows(&st.sigmas, &opts), &st.times, big_t)?;
        let init_scale = super::euler::init_scale(st.sigmas[0], opts.init_sigma_max);
        Ok(Lms {
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
    pub fn options(&self) -> &LmsOptions {
        &self.opts
    }
}

impl Sampler for Lms {
    fn name(&self) -> &'static str {
        "lms"
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
        false
    }

    fn gpu_rows(&self) -> Vec<u8> {
        multistep::gpu_rows(&self.rows)
    }

    fn gpu_kernels(&self) -> (Kernel, Kernel) {
        multistep::KERNELS
    }

    fn state_slots(&self) -> usize {
        MultistepRow::state_slots(&self.rows)
    }

    fn gpu_constants(&self) -> PipelineConstants {
        step_constants(&self.model, None, false)
    }

    fn cpu_step(&self, at: super::Visit, step: CpuStep<'_>) -> Result<Vec<f64>> {
        let t = at.t;
        multistep::cpu_step(&self.rows, &self.model, t, step)
    }
}
