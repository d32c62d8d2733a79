//! Beta schedules and the derived per-timestep tables, all in f64 on the host, exactly as
//! `get_beta_schedule` and `GaussianDiffusion2.__init__` of the original DDPM code compute them.

use crate::error::{Error, Result};

crate::options::named_enum! {
    /// A named beta schedule (the original's `get_beta_schedule`, plus improved-diffusion's cosine).
    pub enum ScheduleKind ("schedule") {
        /// `linspace(beta_start, beta_end, T)`.
        Linear = "linear",
        /// `linspace(sqrt(beta_start), sqrt(beta_end), T)^2`.
        Quad = "quad",
        /// `beta_end` at every step.
        Const = "const",
        /// `1 / linspace(T, 1, T)`: 1/T, 1/(T-1), ..., 1.
        Jsd = "jsd",
        /// `beta_end` everywhere except a linear warm-up over the first floor(0.1 T) steps.
        Warmup10 = "warmup10",
        /// As `Warmup10` over the first floor(0.5 T) steps.
        Warmup50 = "warmup50",
        /// improved-diffusion's squared-cosine alpha-bar, betas capped at 0.999 (ignores start/end).
        Cosine = "cosine",
        /// diffusers' (GeoDiff's) `sigmoid`: sigmoid(linspace(-6, 6, T)) (beta_end - beta_start)
        /// + beta_start.
        Sigmoid = "sigmoid",
    }
}

/// improved-diffusion caps cosine betas here so that the last steps stay invertible.
pub const COSINE_MAX_BETA: f64 = 0.999;

/// `numpy.linspace(start, stop, n)` as numpy computes it: `start + i * step`, last point exactly
/// `stop`. Matching numpy bit for bit keeps our tables identical to the original's.
pub fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (stop - start) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
            v[n - 1] = stop;
            v
        }
    }
}

/// The betas of a named schedule with T = `num_timesteps` steps. Validated by [`Tables::new`].
pub fn beta_schedule(
    kind: ScheduleKind,
    beta_start: f64,
    beta_end: f64,
    num_timesteps: usize,
) -> Result<Vec<f64>> {
    if num_timesteps == 0 {
        return Err(Error::InvalidSchedule(
            "the number of timesteps T must be at least 1".into(),
        ));
    }
    let t = num_timesteps;
    let warmup = |frac: f64| {
        let mut b = vec![beta_end; t];
        let n = (t as f64 * frac) as usize;
        b[..n].copy_from_slice(&linspace(beta_start, beta_end, n));
        b
    };
    let betas = match kind {
        ScheduleKind::Linear => linspace(beta_start, beta_end, t),
        ScheduleKind::Quad => linspace(beta_start.sqrt(), beta_end.sqrt(), t)
            .into_iter()
            .map(|b| b * b)
            .collect(),
        ScheduleKind::Const => vec![beta_end; t],
        ScheduleKind::Jsd => linspace(t as f64, 1.0, t)
            .into_iter()
            .map(|x| 1.0 / x)
            .collect(),
        ScheduleKind::Warmup10 => warmup(0.1),
        ScheduleKind::Warmup50 => warmup(0.5),
        ScheduleKind::Cosine => {
            // Floating-point s = i / T on purpose: integer division here gives beta = 0 for all
            // steps but the last (a bug seen in a Rust port).
            let abar = |s: f64| {
                ((s + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
                    .cos()
                    .powi(2)
            };
            (0..t)
                .map(|i| {
                    let (s1, s2) = (i as f64 / t as f64, (i + 1) as f64 / t as f64);
                    (1.0 - abar(s2) / abar(s1)).min(COSINE_MAX_BETA)
                })
                .collect()
        }
        ScheduleKind::Sigmoid => linspace(-6.0, 6.0, t)
            .into_iter()
            .map(|x| (beta_end - beta_start) / (1.0 + (-x).exp()) + beta_start)
            .collect(),
    };
    Ok(betas)
}

/// diffusers' `rescale_zero_terminal_snr` (Lin et al. 2023, algorithm 1), in f64: sqrt(abar) is
/// shifted so that its last value is 0 and scaled so that its first is unchanged, then the betas
/// are re-derived. The last beta becomes 1 and abar_{T-1} = 0 exactly: x_{T-1} is pure noise,
/// and predicting eps there is undefined ([`Tables::check_eps_defined`]).
pub fn rescale_zero_terminal_snr(betas: &[f64]) -> Result<Vec<f64>> {
    let mut acc = 1.0;
    let sqrt_abar: Vec<f64> = betas
        .iter()
        .map(|b| {
            acc *= 1.0 - b;
            acc.sqrt()
        })
        .collect();
    let (Some(&first), Some(&last)) = (sqrt_abar.first(), sqrt_abar.last()) else {
        return Err(Error::InvalidSchedule(
            "the number of timesteps T must be at least 1".into(),
        ));
    };
    if first.partial_cmp(&last) != Some(std::cmp::Ordering::Greater) {
        return Err(Error::InvalidSchedule(format!(
            "cannot rescale to zero terminal SNR: sqrt(abar) does not decrease ({first} to {last})"
        )));
    }
    let abar: Vec<f64> = sqrt_abar
        .iter()
        .map(|s| ((s - last) * first / (first - last)).powi(2))
        .collect();
    let mut out = Vec::with_capacity(abar.len());
    let mut prev = 1.0;
    for &a in &abar {
        out.push(1.0 - a / prev);
        prev = a;
    }
    Ok(out)
}

/// The per-timestep tables of `GaussianDiffusion2.__init__`, in f64.
///
/// `1 - abar` and `log(1 - abar)` are computed here once in f64 and stored: recomputing them in
/// f32 on the device would lose all the noise at small t.
#[derive(Clone, Debug, PartialEq)]
pub struct Tables {
    /// beta_t.
    pub betas: Vec<f64>,
    /// alpha_t = 1 - beta_t.
    pub alphas: Vec<f64>,
    /// abar_t = prod_{s <= t} alpha_s.
    pub alphas_cumprod: Vec<f64>,
    /// abar_{t-1}, with abar_{-1} = 1.
    pub alphas_cumprod_prev: Vec<f64>,
    /// sqrt(abar_t).
    pub sqrt_alphas_cumprod: Vec<f64>,
    /// 1 - abar_t.
    pub one_minus_alphas_cumprod: Vec<f64>,
    /// sqrt(1 - abar_t).
    pub sqrt_one_minus_alphas_cumprod: Vec<f64>,
    /// log(1 - abar_t).
    pub log_one_minus_alphas_cumprod: Vec<f64>,
    /// sqrt(1 / abar_t).
    pub sqrt_recip_alphas_cumprod: Vec<f64>,
    /// sqrt(1 / abar_t - 1).
    pub sqrt_recipm1_alphas_cumprod: Vec<f64>,
    /// beta_t (1 - abar_{t-1}) / (1 - abar_t); 0 at t = 0.
    pub posterior_variance: Vec<f64>,
    /// log of posterior_variance with entry 0 replaced by entry 1 (log 0 would be -inf).
    pub posterior_log_variance_clipped: Vec<f64>,
    /// beta_t sqrt(abar_{t-1}) / (1 - abar_t).
    pub posterior_mean_coef1: Vec<f64>,
    /// (1 - abar_{t-1}) sqrt(alpha_t) / (1 - abar_t).
    pub posterior_mean_coef2: Vec<f64>,
    /// log(beta_t): the upper end of improved-diffusion's learned-range interpolation.
    pub log_betas: Vec<f64>,
    /// log([pv_1, beta_1, ..., beta_{T-1}]): fixedlarge's log-variance.
    pub fixedlarge_log_variance: Vec<f64>,
}

impl Tables {
    /// Derive every table from `betas`, rejecting schedules the math cannot use.
    ///
    /// For T = 1 the original indexes `posterior_variance[1]`, which does not exist; we use
    /// log(beta_0) there instead (the fixedlarge value), so that T = 1 still has a decoder.
    pub fn new(betas: Vec<f64>) -> Result<Self> {
        if betas.is_empty() {
            return Err(Error::InvalidSchedule(
                "the number of timesteps T must be at least 1".into(),
            ));
        }
        if let Some((i, b)) = betas
            .iter()
            .enumerate()
            .find(|(_, b)| !(b.is_finite() && **b > 0.0 && **b <= 1.0))
        {
            return Err(Error::InvalidSchedule(format!(
                "beta[{i}] = {b} is not in (0, 1]"
            )));
        }
        let t = betas.len();
        let alphas: Vec<f64> = betas.iter().map(|b| 1.0 - b).collect();
        let mut alphas_cumprod = Vec::with_capacity(t);
        let mut acc = 1.0;
        for a in &alphas {
            acc *= a;
            alphas_cumprod.push(acc);
        }
        let mut alphas_cumprod_prev = vec![1.0];
        alphas_cumprod_prev.extend_from_slice(&alphas_cumprod[..t - 1]);
        let map = |f: &dyn Fn(usize) -> f64| (0..t).map(f).collect::<Vec<f64>>();
        let ac = &alphas_cumprod;
        let acp = &alphas_cumprod_prev;
        let posterior_variance = map(&|i| betas[i] * (1.0 - acp[i]) / (1.0 - ac[i]));
        let pv1_log = if t > 1 {
            posterior_variance[1].ln()
        } else {
            betas[0].ln()
        };
        let posterior_log_variance_clipped = map(&|i| {
            if i == 0 {
                pv1_log
            } else {
                posterior_variance[i].ln()
            }
        });
        let fixedlarge_log_variance = map(&|i| if i == 0 { pv1_log } else { betas[i].ln() });
        Ok(Tables {
            sqrt_alphas_cumprod: map(&|i| ac[i].sqrt()),
            one_minus_alphas_cumprod: map(&|i| 1.0 - ac[i]),
            sqrt_one_minus_alphas_cumprod: map(&|i| (1.0 - ac[i]).sqrt()),
            log_one_minus_alphas_cumprod: map(&|i| (1.0 - ac[i]).ln()),
            sqrt_recip_alphas_cumprod: map(&|i| (1.0 / ac[i]).sqrt()),
            sqrt_recipm1_alphas_cumprod: map(&|i| (1.0 / ac[i] - 1.0).sqrt()),
            posterior_mean_coef1: map(&|i| betas[i] * acp[i].sqrt() / (1.0 - ac[i])),
            posterior_mean_coef2: map(&|i| (1.0 - acp[i]) * alphas[i].sqrt() / (1.0 - ac[i])),
            log_betas: map(&|i| betas[i].ln()),
            posterior_variance,
            posterior_log_variance_clipped,
            fixedlarge_log_variance,
            alphas_cumprod_prev,
            alphas_cumprod,
            alphas,
            betas,
        })
    }

    /// Tables of a named schedule.
    pub fn from_schedule(
        kind: ScheduleKind,
        beta_start: f64,
        beta_end: f64,
        num_timesteps: usize,
    ) -> Result<Self> {
        Tables::new(beta_schedule(kind, beta_start, beta_end, num_timesteps)?)
    }

    /// T, the number of diffusion steps.
    pub fn num_timesteps(&self) -> usize {
        self.betas.len()
    }

    /// An error where eps prediction has no x_0 at step `t`: abar_t = 0 (a zero-terminal-SNR
    /// schedule at t = T-1), where x_0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar) divides by zero.
    /// v and xstart prediction work there.
    pub fn check_eps_defined(&self, mean_type: crate::MeanType, t: usize) -> Result<()> {
        if mean_type == crate::MeanType::Eps && self.alphas_cumprod.get(t) == Some(&0.0) {
            return Err(Error::Unsupported(format!(
                "eps prediction is undefined at t = {t}, where abar_t = 0 (zero terminal SNR): \
                 use mean type v or xstart"
            )));
        }
        Ok(())
    }
}
