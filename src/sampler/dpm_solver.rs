//! DPM-Solver (Lu et al. 2022) as diffusers' `DPMSolverMultistepScheduler` computes it:
//! `algorithm_type` dpmsolver++ (an ODE solver on data predictions), sde-dpmsolver++ (its SDE
//! form, which draws a normal every step), dpmsolver and sde-dpmsolver (the same on noise
//! predictions), at `solver_order` 1 to 3 with `solver_type` midpoint or heun. It runs as rows
//! of the multistep kernel (shaders/multistep_step*.wgsl, [`MultistepRow`] by training
//! timestep, computed in f64 here; CPU twin: `cpu::kernels::multistep_step`): the step's
//! prediction m0 and the steps before's, m1 and m2, kept in a ring on the device.
//!
//! With alpha = sqrt(abar), sigma = sqrt(1 - abar), lambda = log alpha - log sigma, a step from
//! s0 to t with h = lambda_t - lambda_s0, r0 = (lambda_s0 - lambda_s1) / h and
//! r1 = (lambda_s1 - lambda_s2) / h moves x by D0 = m0, D1 = (m0 - m1) / r0 (second order) or
//! D1 = D1_0 + r0 / (r0 + r1) (D1_0 - D1_1), D2 = (D1_0 - D1_1) / (r0 + r1) with
//! D1_0 = (m0 - m1) / r0, D1_1 = (m1 - m2) / r1 (third order), each with the factor diffusers'
//! update functions give it (see [`step_coefficients`]).
//!
//! Orders are chosen as diffusers' `step` chooses them: the first step is first order, the
//! second at most second; the last is first order where `euler_at_final`, where
//! `lower_order_final` with fewer than 15 steps, or where the final sigma is zero (the last
//! step then returns x_0); with `lower_order_final` and fewer than 15 steps the one before it
//! is at most second order. Timesteps:
//! [`spacing::multistep_timesteps`](crate::spacing::multistep_timesteps). The coefficients are
//! formed in f64 from the chain's abar (diffusers forms them in f32 from f32 sigmas; the
//! conformance test states what that costs).

pub use super::dpm_options::{DpmAlgorithm, DpmSolverOptions, SolverType};
use super::multistep::{self, Visits};
use super::placed_rows::{placed_sampler, PlacedRows};
use super::{validate_multistep, FinalSigma, SigmaSchedule, Threshold};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{History, MultistepRow};
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions};
use crate::schedule::Tables;

/// lambda = log alpha - log sigma at abar: +inf at abar = 1 (sigma 0).
pub(crate) fn lambda(abar: f64) -> f64 {
    0.5 * (abar.ln() - (1.0 - abar).ln())
}

/// DPM-Solver's `lambda_min_clipped` as diffusers applies it: T less the number of training
/// timesteps whose lambda = log alpha - log sigma (in f32, as diffusers' table) is below it,
/// the end of the range its timesteps are spaced over
/// ([`spacing::multistep_timesteps_upto`](crate::spacing::multistep_timesteps_upto)). T for
/// -inf, the default.
pub fn lambda_clipped_last(alphas_cumprod: &[f64], lambda_min_clipped: f64) -> usize {
    let below = super::multistep_abar(alphas_cumprod)
        .iter()
        .filter(|&&a| {
            let a = a as f32;
            let l = a.sqrt().ln() - (1.0 - a).sqrt().ln();
            f64::from(l) < lambda_min_clipped
        })
        .count();
    alphas_cumprod.len() - below
}

/// The coefficients of x, m0, m1, m2 and the normal of one step of order `order` from abar_s0
/// to abar_t, the steps before at `before` (abar_s1, abar_s2 as the order needs), as diffusers'
/// `dpm_solver_first_order_update`, `multistep_dpm_solver_second_order_update` and
/// `_third_order_update` write them.
pub fn step_coefficients(
    o: &DpmSolverOptions,
    abar_s0: f64,
    abar_t: f64,
    before: &[f64],
) -> [f64; 5] {
    let (alpha_t, sigma_t) = (abar_t.sqrt(), (1.0 - abar_t).sqrt());
    let (alpha_s0, sigma_s0) = (abar_s0.sqrt(), (1.0 - abar_s0).sqrt());
    let h = lambda(abar_t) - lambda(abar_s0);
    // e^-h - 1 and friends as expm1, exact near h = 0; at sigma_t = 0, h = +inf and the ++
    // forms give x_t = x_0.
    let (em, ep, e2m) = ((-h).exp_m1(), h.exp_m1(), (-2.0 * h).exp_m1());
    use DpmAlgorithm::*;
    // x's coefficient, D0's, the normal's, and D1's and D2's factors (k1, k2) per solver type.
    let (cx, k0, cz) = match o.algorithm {
        DpmSolverPlusPlus => (sigma_t / sigma_s0, -alpha_t * em, 0.0),
        DpmSolver => (alpha_t / alpha_s0, -sigma_t * ep, 0.0),
        SdeDpmSolverPlusPlus => (
            sigma_t / sigma_s0 * (-h).exp(),
            -alpha_t * e2m,
            sigma_t * (-e2m).max(0.0).sqrt(),
        ),
        SdeDpmSolver => (
            alpha_t / alpha_s0,
            -2.0 * sigma_t * ep,
            sigma_t * (2.0 * h).exp_m1().max(0.0).sqrt(),
        ),
    };
    let k1 = match (o.solver_type, o.algorithm) {
        (SolverType::Midpoint, _) if before.len() < 2 => 0.5 * k0,
        (_, DpmSolverPlusPlus) => alpha_t * (em / h + 1.0),
        (_, DpmSolver) => -sigma_t * (ep / h - 1.0),
        (_, SdeDpmSolverPlusPlus) => alpha_t * (-e2m / (-2.0 * h) + 1.0),
        (_, SdeDpmSolver) => -2.0 * sigma_t * (ep / h - 1.0),
    };
    let mut c = [cx, k0, 0.0, 0.0, cz];
    let Some(&abar_s1) = before.first() else {
        return c;
    };
    let r0 = (lambda(abar_s0) - lambda(abar_s1)) / h;
    let Some(&abar_s2) = before.get(1) else {
        // D1 = (m0 - m1) / r0.
        c[1] += k1 / r0;
        c[2] -= k1 / r0;
        return c;
    };
    let r1 = (lambda(abar_s1) - lambda(abar_s2)) / h;
    let k2 = match o.algorithm {
        DpmSolverPlusPlus => -alpha_t * ((em + h) / (h * h) - 0.5),
        DpmSolver => -sigma_t * ((ep - h) / (h * h) - 0.5),
        SdeDpmSolverPlusPlus => alpha_t * ((-e2m - 2.0 * h) / (4.0 * h * h) - 0.5),
        SdeDpmSolver => f64::NAN, // refused by DpmSolver::new
    };
    // D1_0 = (m0 - m1) / r0; E = D1_0 - D1_1 = m0 / r0 - m1 (1 / r0 + 1 / r1) + m2 / r1;
    // D1 = D1_0 + r0 / (r0 + r1) E; D2 = E / (r0 + r1).
    let d1_0 = [1.0 / r0, -1.0 / r0, 0.0];
    let e = [1.0 / r0, -1.0 / r0 - 1.0 / r1, 1.0 / r1];
    let g = r0 / (r0 + r1);
    for j in 0..3 {
        c[1 + j] += k1 * (d1_0[j] + g * e[j]) + k2 * e[j] / (r0 + r1);
    }
    c
}

/// The row of each visit in `v` (their `next_t` left to the placing).
fn visit_rows(v: &Visits, o: &DpmSolverOptions) -> Vec<MultistepRow> {
    let (abar, n) = (&v.abar, v.order.len());
    let ring = if o.order >= 2 { o.order } else { 0 };
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let target = abar.get(i + 1).copied().unwrap_or(v.final_abar);
        let lower_final = i + 1 == n
            && (o.euler_at_final
                || (o.lower_order_final && n < 15)
                || o.final_sigma == FinalSigma::Zero);
        let lower_second = i + 2 == n && o.lower_order_final && n < 15;
        // diffusers' lower_order_nums is min(i, order) at step i.
        let q = if o.order == 1 || i < 1 || lower_final {
            1
        } else if o.order == 2 || i < 2 || lower_second {
            2
        } else {
            3
        };
        let before: Vec<f64> = (1..q).map(|j| abar[i - j]).collect();
        let [cx, c0, c1, c2, cz] = step_coefficients(o, abar[i], target, &before);
        rows.push(MultistepRow {
            abar: abar[i],
            history: if o.algorithm.on_data() {
                History::Xstart
            } else {
                History::Eps
            },
            correct: None,
            update: [cx, c0, c1, c2, 0.0, cz],
            slots: MultistepRow::cyclic(i, ring),
            ring,
            next_t: 0,
        });
    }
    rows
}

/// The rows of `chain` by training timestep (visited from its last kept step to its first);
/// the others idle. Refused: a chain whose timesteps are not its sigma schedule's, and
/// coefficients that are not finite.
pub fn dpm_rows(chain: &Chain, o: &DpmSolverOptions) -> Result<Vec<MultistepRow>> {
    let schedule = o.schedule();
    let v = multistep::chain_visits(chain, schedule, o.final_sigma, true)?;
    let rows = visit_rows(&v, o);
    let model = (ModelOptions::default(), None);
    Ok(PlacedRows::new("DPM-Solver", chain.clone(), model, v.order, rows)?.rows)
}

/// The DPM-Solver sampler (see the module doc).
#[derive(Clone, Debug)]
pub struct DpmSolver {
    opts: DpmSolverOptions,
    placed: PlacedRows,
}

impl DpmSolver {
    /// DPM-Solver on `chain` with `opts`, reading the model's output (eps, xstart or v) as
    /// `model` says (its variance type is not used; diffusers' solver does not clip x_0, so
    /// `model.clip_denoised` is normally false), with optional dynamic thresholding. Under a
    /// sigma schedule (Karras...) the chain holds its timesteps
    /// ([`sigma_steps`](super::sigma_steps)); where they repeat one, see
    /// [`DpmSolver::on_sigmas`].
    pub fn new(
        chain: Chain,
        model: ModelOptions,
        threshold: Option<Threshold>,
        opts: DpmSolverOptions,
    ) -> Result<Self> {
        Self::check(&model, &opts)?;
        validate_multistep(&chain, &model, threshold)?;
        if chain.steps.first() == Some(&0)
            && opts.final_sigma == FinalSigma::SigmaMin
            && opts.sigmas == SigmaSchedule::Timesteps
        {
            // A step from t = 0 to sigma(t = 0) is no step: h = 0 and r0 divides by it.
            return Err(Error::Unsupported(
                "final_sigmas_type sigma_min with a chain that visits t = 0: the last step would \
                 go from sigma(0) to itself"
                    .into(),
            ));
        }
        let schedule = opts.schedule();
        let v = multistep::chain_visits(&chain, schedule, opts.final_sigma, true)?;
        let rows = visit_rows(&v, &opts);
        let placed = PlacedRows::new("DPM-Solver", chain, (model, threshold), v.order, rows)?;
        Ok(DpmSolver { opts, placed })
    }

    /// DPM-Solver through the `steps` sigmas of `opts.sigmas` (Karras, exponential, beta, lu)
    /// on the training table `train`, as diffusers' `set_timesteps(steps)` gives them: where
    /// two sigmas map to one timestep the model is called there twice, each step with its own
    /// sigma (the rows are then by visit). Refused: the training table's own schedule (give
    /// [`DpmSolver::new`] its chain), and the SDE forms at a repeated timestep (their noise is
    /// keyed by timestep). Otherwise as [`DpmSolver::new`].
    pub fn on_sigmas(
        train: &Tables,
        steps: usize,
        (model, threshold): (ModelOptions, Option<Threshold>),
        opts: DpmSolverOptions,
    ) -> Result<Self> {
        Self::check(&model, &opts)?;
        if opts.sigmas == SigmaSchedule::Timesteps {
            return Err(Error::Unsupported(
                "DpmSolver::on_sigmas takes a sigma schedule (Karras, exponential, beta, lu): \
                 the training table's steps come from the chain (DpmSolver::new)"
                    .into(),
            ));
        }
        let schedule = opts.schedule();
        let abar = &train.alphas_cumprod;
        let v = multistep::sigma_visits(abar, steps, schedule, opts.final_sigma, true)?;
        let rows = visit_rows(&v, &opts);
        let chain = Chain::full(train);
        let placed = PlacedRows::new("DPM-Solver", chain, (model, threshold), v.order, rows)?;
        validate_multistep(&placed.chain, &model, threshold)?;
        if placed.by_visit && opts.algorithm.is_sde() {
            return Err(Error::Unsupported(format!(
                "DPM-Solver {} with {} sigmas at {steps} steps visits a timestep twice and \
                 draws noise at every step: the noise is keyed by timestep; take fewer steps",
                opts.algorithm.key(),
                opts.sigmas.name()
            )));
        }
        Ok(DpmSolver { opts, placed })
    }

    /// The option refusals every constructor makes.
    fn check(model: &ModelOptions, opts: &DpmSolverOptions) -> Result<()> {
        if model.mean_type == MeanType::Xprev {
            return Err(Error::Unsupported(
                "DPM-Solver reads eps, xstart or v model outputs, not xprev".into(),
            ));
        }
        if !(1..=3).contains(&opts.order) {
            return Err(Error::Unsupported(format!(
                "DPM-Solver solver_order {} is not available: orders 1 to 3 are (diffusers \
                 silently runs 3 for 4 and above)",
                opts.order
            )));
        }
        if opts.algorithm == DpmAlgorithm::SdeDpmSolver && opts.order == 3 {
            return Err(Error::Unsupported(
                "DPM-Solver solver_order 3 with algorithm_type sde-dpmsolver: diffusers has no \
                 third-order update for it"
                    .into(),
            ));
        }
        if !opts.algorithm.on_data() && opts.final_sigma == FinalSigma::Zero {
            // diffusers refuses it too: sigma_t (e^h - 1) is 0 x inf at sigma 0.
            return Err(Error::Unsupported(
                "DPM-Solver final_sigmas_type zero with algorithm_type dpmsolver or \
                 sde-dpmsolver: use sigma_min (diffusers refuses it too)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The f64 row of the (first) visit at training timestep t.
    pub fn row(&self, t: usize) -> Option<&MultistepRow> {
        self.placed.row(t)
    }

    /// Its options.
    pub fn options(&self) -> &DpmSolverOptions {
        &self.opts
    }

    fn sampler_name(&self) -> &'static str {
        use DpmAlgorithm::*;
        match (self.opts.algorithm, self.opts.order) {
            (DpmSolverPlusPlus, 1) => "dpm++1",
            (DpmSolverPlusPlus, 2) => "dpm++2m",
            (DpmSolverPlusPlus, _) => "dpm++3m",
            (SdeDpmSolverPlusPlus, 1) => "dpm++1-sde",
            (SdeDpmSolverPlusPlus, 2) => "dpm++2m-sde",
            (SdeDpmSolverPlusPlus, _) => "dpm++3m-sde",
            (DpmSolver, 1) => "dpm1",
            (DpmSolver, 2) => "dpm2m",
            (DpmSolver, _) => "dpm3m",
            (SdeDpmSolver, 1) => "dpm1-sde",
            (SdeDpmSolver, _) => "dpm2m-sde",
        }
    }

    fn noise_at(&self, _t: usize) -> bool {
        // diffusers draws at every step of the SDE form, the last (coefficient 0) too.
        self.opts.algorithm.is_sde()
    }
}

placed_sampler!(DpmSolver);
