//! DPM-Solver++ (Lu et al. 2022) as diffusers' `DPMSolverMultistepScheduler` computes it, for
//! `algorithm_type` dpmsolver++ (an ODE solver) and sde-dpmsolver++ (its SDE form, which draws a
//! normal every step) at `solver_order` 1 or 2 with `solver_type` midpoint or heun:
//! shaders/dpm_solver_step*.wgsl, rows = [`DpmCoefs`] by training timestep, computed in f64
//! here; CPU twin: `cpu::kernels::dpm_solver_step`.
//!
//! With alpha = sqrt(abar), sigma = sqrt(1 - abar) and lambda = log alpha - log sigma, a step
//! from s0 to t (h = lambda_t - lambda_s0) moves x by the data predictions m0 (this step's x_0)
//! and, at second order, m1 (the step before's, read from the loop's pred_xstart):
//! - dpmsolver++, first order: x = (sigma_t / sigma_s0) x - alpha_t (e^-h - 1) m0 (DDIM, eta 0);
//! - second order: D1 = (m0 - m1) / r0 with r0 = (lambda_s0 - lambda_s1) / h, added as
//!   -0.5 alpha_t (e^-h - 1) D1 (midpoint) or alpha_t ((e^-h - 1) / h + 1) D1 (heun);
//! - sde-dpmsolver++: x = (sigma_t / sigma_s0) e^-h x + alpha_t (1 - e^-2h) m0 [+ D1 terms]
//!   + sigma_t sqrt(1 - e^-2h) z.
//!
//! The first step is first order, and so is the last where `euler_at_final`, where
//! `lower_order_final` with fewer than 15 steps, or where the final sigma is zero (the last
//! step then returns x_0), exactly as diffusers' `step` decides. Timesteps:
//! [`spacing::multistep_timesteps`](crate::spacing::multistep_timesteps). The coefficients
//! are formed in f64 from the chain's abar (diffusers forms them in f32 from f32 sigmas; the
//! conformance test states what that costs).

use super::{next_of, step_constants, validate, CpuStep, Sampler, Threshold};
use crate::chain::Chain;
use crate::cpu::kernels::dpm_solver_step::{dpm_solver_step, DpmRow};
use crate::error::{Error, Result};
use crate::gpu::kernels::dpm_solver_step::DpmCoefs;
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;
use crate::options::{MeanType, ModelOptions};

/// diffusers' `algorithm_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpmAlgorithm {
    /// `dpmsolver++`: the ODE solver on data predictions.
    DpmSolverPlusPlus,
    /// `sde-dpmsolver++`: its SDE form, a normal drawn every step.
    SdeDpmSolverPlusPlus,
}

/// diffusers' `solver_type`: how the second-order term is formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SolverType {
    /// `midpoint` (diffusers' default).
    Midpoint,
    /// `heun`.
    Heun,
}

/// diffusers' `final_sigmas_type`: where the last step goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalSigma {
    /// `zero` (diffusers' default): to sigma 0, returning the last x_0 prediction.
    Zero,
    /// `sigma_min`: to the sigma of training timestep 0.
    SigmaMin,
}

/// DPM-Solver's options besides the model's, with diffusers' defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmSolverOptions {
    /// `algorithm_type` (dpmsolver++).
    pub algorithm: DpmAlgorithm,
    /// `solver_order`, 1 or 2 (2).
    pub order: usize,
    /// `solver_type` (midpoint).
    pub solver_type: SolverType,
    /// `lower_order_final` (true): first order at the last step when there are fewer than 15.
    pub lower_order_final: bool,
    /// `euler_at_final` (false): first order at the last step at any count.
    pub euler_at_final: bool,
    /// `final_sigmas_type` (zero).
    pub final_sigma: FinalSigma,
}

impl Default for DpmSolverOptions {
    fn default() -> Self {
        DpmSolverOptions {
            algorithm: DpmAlgorithm::DpmSolverPlusPlus,
            order: 2,
            solver_type: SolverType::Midpoint,
            lower_order_final: true,
            euler_at_final: false,
            final_sigma: FinalSigma::Zero,
        }
    }
}

/// lambda = log alpha - log sigma at abar: +inf at abar = 1 (sigma 0).
fn lambda(abar: f64) -> f64 {
    0.5 * (abar.ln() - (1.0 - abar).ln())
}

/// The row of a step from abar_s0 to abar_t, with abar_s1 (the step before's) at second order.
fn row(abar_s0: f64, abar_t: f64, abar_s1: Option<f64>, o: &DpmSolverOptions) -> DpmRow {
    let (alpha_t, sigma_t) = (abar_t.sqrt(), (1.0 - abar_t).sqrt());
    let sigma_s0 = (1.0 - abar_s0).sqrt();
    let h = lambda(abar_t) - lambda(abar_s0);
    let sde = o.algorithm == DpmAlgorithm::SdeDpmSolverPlusPlus;
    // sigma_t / sigma_s0 [e^-h], and the coefficient `a` of D0 = m0 (e^-h - 1 as expm1, exact
    // near h = 0; at sigma_t = 0, h = +inf and these give x_t = x_0).
    let (cx, a, cz) = if sde {
        let one_minus = -(-2.0 * h).exp_m1(); // 1 - e^-2h
        (
            sigma_t / sigma_s0 * (-h).exp(),
            alpha_t * one_minus,
            sigma_t * one_minus.max(0.0).sqrt(),
        )
    } else {
        (sigma_t / sigma_s0, -alpha_t * (-h).exp_m1(), 0.0)
    };
    let (c0, c1) = match abar_s1 {
        None => (a, 0.0),
        Some(abar_s1) => {
            let r0 = (lambda(abar_s0) - lambda(abar_s1)) / h;
            // The coefficient b of D1 = (m0 - m1) / r0.
            let b = match (o.solver_type, sde) {
                (SolverType::Midpoint, _) => 0.5 * a,
                (SolverType::Heun, false) => alpha_t * ((-h).exp_m1() / h + 1.0),
                (SolverType::Heun, true) => alpha_t * ((-(-2.0 * h).exp_m1()) / (-2.0 * h) + 1.0),
            };
            (a + b / r0, -b / r0)
        }
    };
    DpmRow {
        abar: abar_s0,
        cx,
        c0,
        c1,
        cz,
        next_t: 0,
    }
}

/// The rows of `chain` by training timestep (visited from its last kept step to its first);
/// the others idle.
pub fn dpm_rows(chain: &Chain, o: &DpmSolverOptions) -> Vec<DpmRow> {
    let order: Vec<usize> = chain.steps.iter().rev().copied().collect();
    let big_t = chain.num_train_timesteps();
    let next = next_of(&order, big_t);
    let abar = &chain.train.alphas_cumprod;
    let final_abar = match o.final_sigma {
        FinalSigma::Zero => 1.0,
        FinalSigma::SigmaMin => abar[0],
    };
    let idle = DpmRow {
        abar: 0.5,
        cx: 1.0,
        c0: 0.0,
        c1: 0.0,
        cz: 0.0,
        next_t: 0,
    };
    let mut rows = vec![idle; big_t];
    let n = order.len();
    for (i, &s0) in order.iter().enumerate() {
        let target = order.get(i + 1).map_or(final_abar, |&t| abar[t]);
        let lower_final = i + 1 == n
            && (o.euler_at_final
                || (o.lower_order_final && n < 15)
                || o.final_sigma == FinalSigma::Zero);
        let second = o.order >= 2 && i >= 1 && !lower_final;
        let s1 = second.then(|| abar[order[i - 1]]);
        rows[s0] = DpmRow {
            next_t: next[s0] as usize,
            ..row(abar[s0], target, s1, o)
        };
    }
    rows
}

/// The DPM-Solver++ sampler (see the module doc).
#[derive(Clone, Debug)]
pub struct DpmSolver {
    chain: Chain,
    model: ModelOptions,
    threshold: Option<Threshold>,
    opts: DpmSolverOptions,
    rows: Vec<DpmRow>,
}

impl DpmSolver {
    /// DPM-Solver++ on `chain` with `opts`, reading the model's output (eps, xstart or v) as
    /// `model` says (its variance type is not used; diffusers' solver does not clip x_0, so
    /// `model.clip_denoised` is normally false), with optional dynamic thresholding.
    pub fn new(
        chain: Chain,
        model: ModelOptions,
        threshold: Option<Threshold>,
        opts: DpmSolverOptions,
    ) -> Result<Self> {
        if model.mean_type == MeanType::Xprev {
            return Err(Error::Unsupported(
                "DPM-Solver reads eps, xstart or v model outputs, not xprev".into(),
            ));
        }
        if !(1..=2).contains(&opts.order) {
            return Err(Error::Unsupported(format!(
                "DPM-Solver solver_order {} is not available: orders 1 and 2 are (3 is not yet \
                 built; diffusers runs 3 for 4 and above)",
                opts.order
            )));
        }
        validate(&chain, &model, threshold)?;
        if chain.steps.first() == Some(&0) && opts.final_sigma == FinalSigma::SigmaMin {
            // A step from t = 0 to sigma(t = 0) is no step: h = 0 and r0 divides by it.
            return Err(Error::Unsupported(
                "final_sigmas_type sigma_min with a chain that visits t = 0: the last step would \
                 go from sigma(0) to itself"
                    .into(),
            ));
        }
        let rows = dpm_rows(&chain, &opts);
        Ok(DpmSolver {
            chain,
            model,
            threshold,
            opts,
            rows,
        })
    }

    /// The f64 row at training timestep t.
    pub fn row(&self, t: usize) -> Option<&DpmRow> {
        self.rows.get(t)
    }

    /// Its options.
    pub fn options(&self) -> &DpmSolverOptions {
        &self.opts
    }
}

impl Sampler for DpmSolver {
    fn name(&self) -> &'static str {
        match (self.opts.algorithm, self.opts.order) {
            (DpmAlgorithm::DpmSolverPlusPlus, 1) => "dpm++1",
            (DpmAlgorithm::DpmSolverPlusPlus, _) => "dpm++2m",
            (DpmAlgorithm::SdeDpmSolverPlusPlus, 1) => "dpm++1-sde",
            (DpmAlgorithm::SdeDpmSolverPlusPlus, _) => "dpm++2m-sde",
        }
    }

    fn chain(&self) -> &Chain {
        &self.chain
    }

    fn model(&self) -> &ModelOptions {
        &self.model
    }

    fn threshold(&self) -> Option<Threshold> {
        self.threshold
    }

    fn draws_noise(&self, _t: usize) -> bool {
        // diffusers draws at every step of the SDE form, the last (coefficient 0) too.
        self.opts.algorithm == DpmAlgorithm::SdeDpmSolverPlusPlus
    }

    fn gpu_rows(&self) -> Vec<u8> {
        let coefs: Vec<DpmCoefs> = self.rows.iter().map(DpmCoefs::from_row).collect();
        bytemuck::cast_slice(&coefs).to_vec()
    }

    fn gpu_kernels(&self) -> (Kernel, Kernel) {
        (Kernel::DpmSolverStepVec4, Kernel::DpmSolverStep)
    }

    fn gpu_constants(&self) -> PipelineConstants {
        step_constants(&self.model, self.threshold, false)
    }

    fn cpu_step(&self, t: usize, step: CpuStep<'_>) -> Result<Vec<f64>> {
        let row = self.row(t).ok_or(Error::TimestepOutOfRange {
            index: 0,
            value: t as i64,
            num_timesteps: self.rows.len(),
        })?;
        let noise = step.noise.filter(|_| row.cz != 0.0);
        dpm_solver_step(row, &self.model, CpuStep { noise, ..step })
    }
}
