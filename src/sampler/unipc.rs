//! UniPC (Zhao et al. 2023) as diffusers' `UniPCMultistepScheduler` computes it: a predictor
//! (UniP) and, from the second step on, a corrector (UniC) that reuses the model evaluation at
//! the predicted point, at `solver_order` 1 to 3 with `solver_type` bh1 or bh2, on data
//! (`predict_x0`, the default) or noise predictions. Rows of the multistep kernel
//! (shaders/multistep_step*.wgsl; CPU twin `cpu::kernels::multistep_step`), computed in f64
//! here; the ring keeps this step's prediction and the `solver_order` before it, and `last`
//! the sample before the last predictor.
//!
//! With lambda, alpha and sigma as for DPM-Solver, a UniP step from s0 to t of order p
//! (hh = -h on data predictions, h on noise; h_phi_1 = e^hh - 1; B(h) = hh for bh1, e^hh - 1
//! for bh2; r_k = (lambda_{s_k} - lambda_s0) / h and D_k = (m_k - m0) / r_k) is
//! x_t = (sigma_t / sigma_s0) x - alpha_t h_phi_1 m0 - alpha_t B(h) sum_k rho_k D_k (on noise:
//! alpha and sigma swap roles), rho from the linear system diffusers solves (0.5 at p = 2).
//! UniC at the next step recomputes that x_t from `last` with the new evaluation m_t as one
//! more D (rho from the full system; 0.5 at p = 1). The step's order is
//! min(solver_order, steps left where `lower_order_final`, steps so far + 1), as diffusers'
//! `step` decides; `disable_corrector` lists the steps whose following corrector is skipped.

use super::dpm_solver::lambda;
use super::multistep::{self, Visits};
use super::placed_rows::{placed_sampler, PlacedRows};
use super::{validate_multistep, FinalSigma, SigmaBounds, SigmaSchedule, Threshold};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{History, MultistepRow};
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions};
use crate::schedule::Tables;

/// diffusers' UniPC `solver_type`: B(h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UniPcVariant {
    /// `bh1`: B(h) = hh.
    Bh1,
    /// `bh2` (diffusers' default): B(h) = e^hh - 1.
    Bh2,
}

/// UniPC's options besides the model's, with diffusers' defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct UniPcOptions {
    /// `solver_order`, 1 to 3 (2).
    pub order: usize,
    /// `solver_type` (bh2).
    pub variant: UniPcVariant,
    /// `predict_x0` (true): the history holds x_0 predictions, else eps.
    pub predict_x0: bool,
    /// `lower_order_final` (true): the order never exceeds the steps left.
    pub lower_order_final: bool,
    /// `disable_corrector` ([]): steps i after which the corrector is skipped (at step i + 1).
    pub disable_corrector: Vec<usize>,
    /// `final_sigmas_type` (zero).
    pub final_sigma: FinalSigma,
    /// The sigmas it steps through (`use_karras_sigmas`...; the training table's by default).
    pub sigmas: SigmaSchedule,
    /// `sigma_min` / `sigma_max`: the ends of those sigmas (none: the table's).
    pub bounds: SigmaBounds,
}

impl Default for UniPcOptions {
    fn default() -> Self {
        UniPcOptions {
            order: 2,
            variant: UniPcVariant::Bh2,
            predict_x0: true,
            lower_order_final: true,
            disable_corrector: Vec::new(),
            final_sigma: FinalSigma::Zero,
            sigmas: SigmaSchedule::Timesteps,
            bounds: SigmaBounds::default(),
        }
    }
}

impl UniPcOptions {
    /// Its sigma schedule as the visits take it: never truncated, between its bounds.
    fn schedule(&self) -> multistep::Schedule {
        multistep::Schedule {
            kind: self.sigmas,
            truncate: false,
            bounds: self.bounds,
        }
    }
}

/// Solve the small system a y = b (n <= 3) by Gaussian elimination with partial pivoting, in
/// f64 (diffusers: `torch.linalg.solve` in f32).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot = a[col].clone();
        for r in col + 1..n {
            let f = a[r][col] / pivot[col];
            for (v, p) in a[r].iter_mut().zip(&pivot).skip(col) {
                *v -= f * p;
            }
            b[r] -= f * b[col];
        }
    }
    let mut y = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| a[r][c] * y[c]).sum();
        y[r] = (b[r] - s) / a[r][r];
    }
    y
}

/// One UniP or UniC update from abar_s0 to abar_t of order p, the older points `before`
/// (abar_{s_1}.., p - 1 of them): (the coefficient of the sample, of m0 (the value at s0), of
/// m_k at s_k for k = 1..p-1, and, for the corrector, of the new value at t), as diffusers'
/// `multistep_uni_p_bh_update` / `_c_bh_update` form them.
fn uni_update(
    o: &UniPcOptions,
    abar_s0: f64,
    abar_t: f64,
    before: &[f64],
    corrector: bool,
) -> (f64, f64, Vec<f64>, f64) {
    let p = before.len() + 1;
    let (alpha_t, sigma_t) = (abar_t.sqrt(), (1.0 - abar_t).sqrt());
    let (alpha_s0, sigma_s0) = (abar_s0.sqrt(), (1.0 - abar_s0).sqrt());
    let h = lambda(abar_t) - lambda(abar_s0);
    let rks: Vec<f64> = before
        .iter()
        .map(|&a| (lambda(a) - lambda(abar_s0)) / h)
        .chain([1.0])
        .collect();
    let hh = if o.predict_x0 { -h } else { h };
    let h_phi_1 = hh.exp_m1();
    let b_h = match o.variant {
        UniPcVariant::Bh1 => hh,
        UniPcVariant::Bh2 => hh.exp_m1(),
    };
    let (cx, f) = if o.predict_x0 {
        (sigma_t / sigma_s0, alpha_t)
    } else {
        (alpha_t / alpha_s0, sigma_t)
    };
    // rho: the predictor's over D_1..D_{p-1}, the corrector's over them and D_t.
    let rhos = if (corrector && p == 1) || (!corrector && p == 2) {
        vec![0.5]
    } else if !corrector && p == 1 {
        Vec::new()
    } else {
        let mut h_phi_k = h_phi_1 / hh - 1.0;
        let mut factorial = 1.0;
        let (mut r, mut b) = (Vec::new(), Vec::new());
        for i in 1..=p {
            r.push(
                rks.iter()
                    .map(|rk| rk.powi(i as i32 - 1))
                    .collect::<Vec<f64>>(),
            );
            b.push(h_phi_k * factorial / b_h);
            factorial *= (i + 1) as f64;
            h_phi_k = h_phi_k / hh - 1.0 / factorial;
        }
        let m = if corrector { p } else { p - 1 };
        let r: Vec<Vec<f64>> = r.iter().take(m).map(|row| row[..m].to_vec()).collect();
        solve(r, b[..m].to_vec())
    };
    // x = cx sample - f h_phi_1 m0 - f B(h) (sum_k rho_k (m_k - m0) / r_k [+ rho_t (m_t - m0)]).
    let g = f * b_h;
    let mut c0 = -f * h_phi_1;
    let mut ck = Vec::with_capacity(p - 1);
    for (k, &rk) in rks[..p - 1].iter().enumerate() {
        let c = -g * rhos[k] / rk;
        ck.push(c);
        c0 -= c;
    }
    let mut ct = 0.0;
    if corrector {
        ct = -g * rhos[p - 1];
        c0 -= ct;
    }
    (cx, c0, ck, ct)
}

/// The row of each visit in `v` (their `next_t` left to the placing).
fn visit_rows(v: &Visits, o: &UniPcOptions) -> Vec<MultistepRow> {
    let (abar, n) = (&v.abar, v.order.len());
    let at = |i: usize| abar.get(i).copied().unwrap_or(v.final_abar);
    let ring = o.order + 1;
    let mut orders = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let cap = if o.lower_order_final { n - i } else { o.order };
        let p = o.order.min(cap).min(i + 1);
        orders.push(p);
        // UniC: the previous step's update redone with this step's evaluation; it writes `last`
        // (x itself where there is no corrector, as diffusers keeps the uncorrected sample).
        let mut a = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        if i > 0 && !o.disable_corrector.contains(&(i - 1)) {
            let pc = orders[i - 1];
            let before: Vec<f64> = (1..pc).map(|k| at(i - 1 - k)).collect();
            let (cl, c_prev, ck, ct) = uni_update(o, at(i - 1), at(i), &before, true);
            a = [0.0, cl, ct, c_prev, 0.0, 0.0];
            for (k, c) in ck.iter().enumerate() {
                a[4 + k] = *c;
            }
        }
        let before: Vec<f64> = (1..p).map(|k| at(i - k)).collect();
        let (cx, c0, ck, _) = uni_update(o, at(i), at(i + 1), &before, false);
        let mut u = [cx, c0, 0.0, 0.0, 0.0, 0.0];
        for (k, c) in ck.iter().enumerate() {
            u[2 + k] = *c;
        }
        rows.push(MultistepRow {
            abar: abar[i],
            history: if o.predict_x0 {
                History::Xstart
            } else {
                History::Eps
            },
            correct: Some(a),
            update: u,
            slots: MultistepRow::cyclic(i, ring),
            ring,
            next_t: 0,
        });
    }
    rows
}

/// The rows of `chain` by training timestep (visited from its last kept step to its first).
/// Refused: a chain whose timesteps are not its sigma schedule's, and coefficients that are
/// not finite.
pub fn unipc_rows(chain: &Chain, o: &UniPcOptions) -> Result<Vec<MultistepRow>> {
    let v = multistep::chain_visits(chain, o.schedule(), o.final_sigma, false)?;
    let rows = visit_rows(&v, o);
    let model = (ModelOptions::default(), None);
    Ok(PlacedRows::new("UniPC", chain.clone(), model, v.order, rows)?.rows)
}

/// The UniPC sampler (see the module doc).
#[derive(Clone, Debug)]
pub struct UniPc {
    opts: UniPcOptions,
    placed: PlacedRows,
}

impl UniPc {
    /// UniPC on `chain` with `opts`, reading the model's output (eps, xstart or v) as `model`
    /// says (diffusers' UniPC does not clip x_0: `model.clip_denoised` is normally false), with
    /// optional dynamic thresholding. The settings where diffusers computes NaN are refused by
    /// name. Under a sigma schedule whose timesteps repeat one, see [`UniPc::on_sigmas`].
    pub fn new(
        chain: Chain,
        model: ModelOptions,
        threshold: Option<Threshold>,
        opts: UniPcOptions,
    ) -> Result<Self> {
        Self::check(&model, &opts, chain.steps.len())?;
        validate_multistep(&chain, &model, threshold)?;
        // The other sigma schedules end at sigma_min by design: their last step into it is
        // computed (h = 0) as diffusers computes it, non-finite coefficients refused by the rows.
        if chain.steps.first() == Some(&0)
            && opts.final_sigma == FinalSigma::SigmaMin
            && opts.sigmas == SigmaSchedule::Timesteps
        {
            return refuse(
                "final_sigmas_type sigma_min with a chain that visits t = 0: the last step \
                 would go from sigma(0) to itself"
                    .into(),
            );
        }
        let v = multistep::chain_visits(&chain, opts.schedule(), opts.final_sigma, false)?;
        let rows = visit_rows(&v, &opts);
        let placed = PlacedRows::new("UniPC", chain, (model, threshold), v.order, rows)?;
        Ok(UniPc { opts, placed })
    }

    /// UniPC through the `steps` sigmas of `opts.sigmas` (Karras, exponential, beta) on the
    /// training table `train`, as diffusers' `set_timesteps(steps)` gives them: where two
    /// sigmas map to one timestep the model is called there twice, each step with its own
    /// sigma (the rows are then by visit). Refused: the training table's own schedule (give
    /// [`UniPc::new`] its chain). Otherwise as [`UniPc::new`].
    pub fn on_sigmas(
        train: &Tables,
        steps: usize,
        (model, threshold): (ModelOptions, Option<Threshold>),
        opts: UniPcOptions,
    ) -> Result<Self> {
        if opts.sigmas == SigmaSchedule::Timesteps {
            return refuse(
                "on_sigmas takes a sigma schedule (Karras, exponential, beta): the training \
                 table's steps come from the chain (UniPc::new)"
                    .into(),
            );
        }
        Self::check(&model, &opts, steps)?;
        let abar = &train.alphas_cumprod;
        let v = multistep::sigma_visits(abar, steps, opts.schedule(), opts.final_sigma, false)?;
        let rows = visit_rows(&v, &opts);
        let chain = Chain::full(train);
        let placed = PlacedRows::new("UniPC", chain, (model, threshold), v.order, rows)?;
        validate_multistep(&placed.chain, &model, threshold)?;
        Ok(UniPc { opts, placed })
    }

    /// The option refusals every constructor makes, for `steps` steps.
    fn check(model: &ModelOptions, opts: &UniPcOptions, steps: usize) -> Result<()> {
        if model.mean_type == MeanType::Xprev {
            return refuse("reads eps, xstart or v model outputs, not xprev".into());
        }
        if !(1..=3).contains(&opts.order) {
            return refuse(format!(
                "solver_order {} is not available: orders 1 to 3 are",
                opts.order
            ));
        }
        if opts.final_sigma == FinalSigma::Zero {
            // At sigma 0, h = inf: diffusers' step there is NaN in these settings.
            if opts.variant == UniPcVariant::Bh1 {
                return refuse(
                    "solver_type bh1 with final_sigmas_type zero: B(h) = -h is infinite at \
                     the last step, where diffusers returns NaN; use bh2 or sigma_min"
                        .into(),
                );
            }
            if !opts.predict_x0 {
                return refuse(
                    "predict_x0 false with final_sigmas_type zero: diffusers returns NaN at \
                     the last step; use predict_x0 true or sigma_min"
                        .into(),
                );
            }
            if !opts.lower_order_final && opts.order >= 2 && steps >= 2 {
                return refuse(
                    "lower_order_final false with final_sigmas_type zero: a higher-order \
                     step into sigma 0, where diffusers returns NaN"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// The f64 row of the (first) visit at training timestep t.
    pub fn row(&self, t: usize) -> Option<&MultistepRow> {
        self.placed.row(t)
    }

    /// Its options.
    pub fn options(&self) -> &UniPcOptions {
        &self.opts
    }

    fn sampler_name(&self) -> &'static str {
        "unipc"
    }

    fn noise_at(&self, _t: usize) -> bool {
        false
    }
}

fn refuse<T>(why: String) -> Result<T> {
    Err(Error::Unsupported(format!("UniPC {why}")))
}

placed_sampler!(UniPc);
