//! Heun's method (Karras et al. 2022's second-order sampler on the probability-flow ODE) as
//! diffusers' `HeunDiscreteScheduler` computes it: two model evaluations per step, the
//! predictor at sigma_i (an Euler step to sigma_{i+1}) and the corrector at sigma_{i+1}, which
//! restarts from the step's sample with the mean of the two derivatives; the last step, into
//! sigma 0, is the predictor alone. Its order visits every timestep but the first twice:
//! t_0, t_1, t_1, .., t_{N-1}, t_{N-1} (2N - 1 evaluations), with rows by visit.
//!
//! As for [`Euler`](super::Euler), the loop keeps x = s / sqrt(1 + sigma^2), the latent the
//! model reads. With c = sqrt(1 + sigma^2), c' = sqrt(1 + sigma'^2), h = sigma' - sigma:
//! - predictor: last := x (the step's sample, diffusers' `self.sample`);
//!   x' = [sigma'/sigma c x + (1 - sigma'/sigma) D] / c', D its x_0 (kept in the ring);
//! - corrector, with D' its x_0 at x': diffusers' s + h (d + d') / 2 with d = (s - D) / sigma,
//!   d' = (s' - D') / sigma', i.e.
//!   x = [c (1 + h / 2 sigma) last + c' h / 2 sigma' x - h / 2 sigma D - h / 2 sigma' D'] / c'.
//!
//! x_T follows Euler's rule (`init_noise_sigma`: sigma_max with trailing and linspace spacing,
//! the unit normal with leading). Timesteps are the chain's (leading or trailing spacing), or
//! non-integer ones ([`Heun::on_times`], linspace spacing), where the rows are by visit index
//! and the model is called at the times.

use super::euler::init_scale;
use super::sigma_times::SigmaTimes;
use super::visit_rows::{check_model, visit_sampler, VisitRows};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{History, MultistepRow};
use crate::error::Result;
use crate::options::{MeanType, ModelOptions};
use crate::schedule::Tables;

/// Heun's options besides the model's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeunOptions {
    /// As [`EulerOptions::init_sigma_max`](super::EulerOptions::init_sigma_max).
    pub init_sigma_max: bool,
}

/// The visits of Heun through `st` (each step's timestep, the later ones twice) and their
/// rows.
pub fn heun_rows(st: &SigmaTimes) -> (Vec<f64>, Vec<MultistepRow>) {
    let (times, sigmas) = (&st.times, &st.sigmas);
    let (mut order, mut rows) = (Vec::new(), Vec::new());
    for (i, (&t, &s)) in times.iter().zip(sigmas).enumerate() {
        let next = times.get(i + 1).copied();
        let s2 = sigmas.get(i + 1).copied().unwrap_or(0.0);
        let (c, c2) = ((1.0 + s * s).sqrt(), (1.0 + s2 * s2).sqrt());
        let r = s2 / s;
        // The predictor: ring slot 0, last := x.
        order.push(t);
        rows.push(MultistepRow {
            abar: 1.0 / (1.0 + s * s),
            history: History::Xstart,
            correct: Some([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
            update: [r * c / c2, (1.0 - r) / c2, 0.0, 0.0, 0.0, 0.0],
            slots: MultistepRow::cyclic(0, 2),
            ring: 2,
            next_t: 0,
        });
        // The corrector at the next timestep: its x_0 into slot 1, the predictor's from 0.
        let Some(t2) = next else { break };
        let h = s2 - s;
        order.push(t2);
        rows.push(MultistepRow {
            abar: 1.0 / (1.0 + s2 * s2),
            history: History::Xstart,
            correct: Some([
                h / (2.0 * s2),
                c * (1.0 + h / (2.0 * s)) / c2,
                -h / (2.0 * s2) / c2,
                -h / (2.0 * s) / c2,
                0.0,
                0.0,
            ]),
            update: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            slots: MultistepRow::cyclic(1, 2),
            ring: 2,
            next_t: 0,
        });
    }
    (order, rows)
}

/// Heun's sampler (see the module doc).
#[derive(Clone, Debug)]
pub struct Heun {
    rows: VisitRows,
}

impl Heun {
    /// Heun on `chain`'s timesteps, reading the model's output as `model` says (eps, xstart
    /// or v; x_0 clipped to the clip range where `clip_denoised`, diffusers' `clip_sample`).
    pub fn new(chain: Chain, model: ModelOptions, opts: HeunOptions) -> Result<Self> {
        Self::check(&chain, &model)?;
        let st = SigmaTimes::of_chain(&chain);
        let (times, mut rows) = heun_rows(&st);
        let order: Vec<usize> = times.iter().map(|&t| t as usize).collect();
        for k in 0..rows.len() {
            rows[k].next_t = *order.get(k + 1).unwrap_or(&order[k]);
        }
        let scale = init_scale(st.sigmas[0], opts.init_sigma_max);
        Ok(Heun {
            rows: VisitRows::new("heun", &chain, model, (order, rows), scale)?,
        })
    }

    /// Heun through `st`, timesteps that need not be integers (diffusers' `linspace`
    /// spacing: [`SigmaTimes::linspace`]) on the training table `train`; otherwise as
    /// [`Heun::new`].
    pub fn on_times(
        train: &Tables,
        st: &SigmaTimes,
        model: ModelOptions,
        opts: HeunOptions,
    ) -> Result<Self> {
        let chain = Chain::full(train);
        Self::check(&chain, &model)?;
        let (times, mut rows) = heun_rows(st);
        let len = rows.len();
        for (k, row) in rows.iter_mut().enumerate() {
            row.next_t = (k + 1).min(len - 1);
        }
        let scale = init_scale(*st.sigmas.first().unwrap_or(&0.0), opts.init_sigma_max);
        let steps = (train, st.times.len());
        Ok(Heun {
            rows: VisitRows::with_times("heun", steps, model, (times, rows), scale)?,
        })
    }

    fn check(chain: &Chain, model: &ModelOptions) -> Result<()> {
        let means = [MeanType::Eps, MeanType::Xstart, MeanType::V];
        check_model("Heun", model, &means, true)?;
        super::validate_multistep(chain, model, None)
    }

    /// The f64 row of visit k.
    pub fn row(&self, k: usize) -> Option<&MultistepRow> {
        self.rows.rows.get(k)
    }
}

visit_sampler!(Heun);
