//! The sigma schedules of the multistep samplers besides the training table's: diffusers'
//! `use_karras_sigmas`, `use_exponential_sigmas`, `use_beta_sigmas` and (DPM-Solver's)
//! `use_lu_lambdas`. Each gives N sigmas between sigma_max = sigma(T - 1) and
//! sigma_min = sigma(0), where sigma(t) = sqrt((1 - abar_t) / abar_t), and the model is called
//! at the training timestep each maps back to (`_sigma_to_t`: linear in log sigma between the
//! table's neighbours), rounded (Karras, lu) or truncated (exponential, beta) as diffusers
//! 0.42 turns them into int64. The solver steps through the sigmas themselves, rounded to f32
//! as diffusers keeps them. Computed in f64 here, once per chain.

use crate::error::{Error, Result};

/// Which sigmas a multistep sampler steps through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigmaSchedule {
    /// The training table's sigma at each of the chain's timesteps (diffusers' default).
    #[default]
    Timesteps,
    /// Karras et al. (2022), rho = 7: (max^(1/7) + r (min^(1/7) - max^(1/7)))^7, r in [0, 1].
    Karras,
    /// exp(linspace(ln sigma_max, ln sigma_min, N)).
    Exponential,
    /// sigma_min + ppf(1 - r) (sigma_max - sigma_min), ppf the Beta(0.6, 0.6) quantile
    /// (Lee et al. 2024).
    Beta,
    /// Lu et al.'s uniform log-SNR steps (DPM-Solver's `use_lu_lambdas`): the exponential
    /// sigmas, with their timesteps rounded instead of truncated.
    Lu,
}

impl SigmaSchedule {
    /// diffusers' config key that selects it (none for the default).
    pub fn key(self) -> Option<&'static str> {
        match self {
            Self::Timesteps => None,
            Self::Karras => Some("use_karras_sigmas"),
            Self::Exponential => Some("use_exponential_sigmas"),
            Self::Beta => Some("use_beta_sigmas"),
            Self::Lu => Some("use_lu_lambdas"),
        }
    }

    /// The short name `--sigmas` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Timesteps => "timesteps",
            Self::Karras => "karras",
            Self::Exponential => "exponential",
            Self::Beta => "beta",
            Self::Lu => "lu",
        }
    }
}

/// diffusers' `sigma_min` / `sigma_max` config keys (`EulerDiscreteScheduler`'s,
/// `UniPCMultistepScheduler`'s): the ends of a Karras, exponential or beta schedule in place
/// of the table's (or the spaced sigmas') own; `None` keeps those. The training table's own
/// sigmas do not read them, nor do lu's (as in diffusers).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SigmaBounds {
    /// `sigma_min`.
    pub min: Option<f64>,
    /// `sigma_max`.
    pub max: Option<f64>,
}

impl SigmaBounds {
    /// The (min, max) a schedule spans: these bounds where set, else `min` and `max`.
    /// Refused: a bound that is not finite and positive, and min >= max.
    pub fn apply(&self, min: f64, max: f64) -> Result<(f64, f64)> {
        for (key, v) in [("sigma_min", self.min), ("sigma_max", self.max)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(Error::Unsupported(format!(
                    "{key} = {v}: a sigma bound must be finite and positive"
                )));
            }
        }
        let (lo, hi) = (self.min.unwrap_or(min), self.max.unwrap_or(max));
        if lo >= hi {
            return Err(Error::Unsupported(format!(
                "sigma_min {lo} is not below sigma_max {hi}"
            )));
        }
        Ok((lo, hi))
    }
}

/// diffusers' `final_sigmas_type`: where the last step goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinalSigma {
    /// `zero` (diffusers' default): to sigma 0, returning the last x_0 prediction.
    Zero,
    /// `sigma_min`: to the sigma of training timestep 0.
    SigmaMin,
}

/// The timesteps the model is called at, in sampling order, and the sigma of each step.
#[derive(Clone, Debug, PartialEq)]
pub struct SigmaSteps {
    /// Training timesteps, descending (one may repeat: two steps at one timestep).
    pub timesteps: Vec<usize>,
    /// The sigma of each step (f32 values, as diffusers keeps them), descending.
    pub sigmas: Vec<f64>,
    /// sigma(0) of the table (f32): DPM-Solver's final `sigma_min`. UniPC's is the last of
    /// `sigmas` instead; the two agree from 2 steps on, where the last sigma is sigma_min.
    pub sigma_min: f64,
}

/// sigma(t) of the training table in f32 arithmetic on abar rounded to f32, as diffusers forms
/// it from its f32 `alphas_cumprod`: the truncated timesteps (exponential, beta) depend on the
/// table's last bits where a sigma maps to within ~1e-5 of an integer timestep.
pub(crate) fn table_sigmas(alphas_cumprod: &[f64]) -> Vec<f64> {
    alphas_cumprod
        .iter()
        .map(|&a| {
            let a = a as f32;
            f64::from(((1.0 - a) / a).sqrt())
        })
        .collect()
}

/// diffusers' `_sigma_to_t`: the fractional timestep whose log sigma is `sigma`'s, linear
/// between the table's neighbours and clamped to [0, T - 1].
pub fn sigma_to_t(sigma: f64, log_sigmas: &[f64]) -> f64 {
    let n = log_sigmas.len();
    if n < 2 {
        return 0.0;
    }
    let ls = sigma.max(1e-10).ln();
    // The last index whose log sigma is <= ls (0 if none), at most n - 2.
    let low = log_sigmas
        .iter()
        .rposition(|&l| ls - l >= 0.0)
        .unwrap_or(0)
        .min(n - 2);
    let (lo, hi) = (log_sigmas[low], log_sigmas[low + 1]);
    let w = ((lo - ls) / (lo - hi)).clamp(0.0, 1.0);
    (1.0 - w) * low as f64 + w * (low + 1) as f64
}

/// The N steps of `kind` over the training table `alphas_cumprod` (T values). A timestep may
/// repeat (Karras at 100 of 1000 steps ends 1, 1, 0): diffusers runs it as two steps, each with
/// its own sigma. Refused: the default schedule (its timesteps come from the spacing), and a
/// list whose first timestep repeats (diffusers then starts from the second sigma and runs past
/// the last one).
pub fn sigma_steps(alphas_cumprod: &[f64], n: usize, kind: SigmaSchedule) -> Result<SigmaSteps> {
    sigma_steps_within(alphas_cumprod, n, kind, SigmaBounds::default())
}

/// [`sigma_steps`] between `bounds` (UniPC's `sigma_min` / `sigma_max` keys) where they are
/// set; `sigma_min` stays the table's sigma(0).
pub fn sigma_steps_within(
    alphas_cumprod: &[f64],
    n: usize,
    kind: SigmaSchedule,
    bounds: SigmaBounds,
) -> Result<SigmaSteps> {
    let round = matches!(kind, SigmaSchedule::Karras | SigmaSchedule::Lu);
    steps_with(alphas_cumprod, n, kind, (round, bounds))
}

/// [`sigma_steps`] with every schedule's timesteps truncated, as diffusers' DPM-Solver takes
/// its Karras and lu timesteps on the squared-cosine schedule (`squaredcos_cap_v2`).
pub fn sigma_steps_truncated(
    alphas_cumprod: &[f64],
    n: usize,
    kind: SigmaSchedule,
) -> Result<SigmaSteps> {
    steps_with(alphas_cumprod, n, kind, (false, SigmaBounds::default()))
}

fn steps_with(
    alphas_cumprod: &[f64],
    n: usize,
    kind: SigmaSchedule,
    (round, bounds): (bool, SigmaBounds),
) -> Result<SigmaSteps> {
    let big_t = alphas_cumprod.len();
    if big_t < 2 || n == 0 || n > big_t {
        return Err(Error::Unsupported(format!(
            "--steps must be in [1, T = {big_t}], got {n}"
        )));
    }
    let table = table_sigmas(&multistep_abar(alphas_cumprod));
    if table.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(Error::Unsupported(format!(
            "{} sigmas need 0 < abar < 1 at every training timestep (a zero-SNR schedule has \
             sigma = inf at T - 1)",
            kind.name()
        )));
    }
    // diffusers takes sigma_min and sigma_max from its f32 table.
    let (min, max) = (table[0], table[big_t - 1]);
    let (lo, hi) = match kind {
        SigmaSchedule::Lu => (min, max),
        _ => bounds.apply(min, max)?,
    };
    let sigmas = ramp(kind, lo, hi, n)?;
    let log_sigmas = log_table(alphas_cumprod);
    let timesteps: Vec<usize> = sigmas
        .iter()
        .map(|&s| {
            let t = sigma_to_t(s, &log_sigmas);
            (if round {
                t.round_ties_even()
            } else {
                t.trunc()
            }) as usize
        })
        .collect();
    // sigma_to_t is monotonic: the timesteps never rise. diffusers finds the first step by
    // its timestep and takes the second of two equal ones (index_for_timestep), so a list
    // that repeats its first timestep starts one sigma late and steps past the last.
    if timesteps.len() > 1 && timesteps[0] == timesteps[1] {
        return Err(Error::Unsupported(format!(
            "{} sigmas at {n} steps call the model at timestep {} first and again second: \
             diffusers then starts from the second sigma and runs past the last one \
             (IndexError); take fewer steps",
            kind.name(),
            timesteps[0]
        )));
    }
    Ok(SigmaSteps {
        timesteps,
        sigmas: sigmas.into_iter().map(|s| s as f32 as f64).collect(),
        sigma_min: min,
    })
}

/// N sigmas of schedule `kind` from `max` down to `min` (not `Timesteps`).
pub(crate) fn ramp(kind: SigmaSchedule, min: f64, max: f64, n: usize) -> Result<Vec<f64>> {
    let ramp = crate::schedule::linspace(0.0, 1.0, n);
    Ok(match kind {
        SigmaSchedule::Timesteps => {
            return Err(Error::Unsupported(
                "the training table's sigmas follow the chain's timesteps".into(),
            ))
        }
        SigmaSchedule::Karras => {
            let (lo, hi) = (min.powf(1.0 / 7.0), max.powf(1.0 / 7.0));
            ramp.iter()
                .map(|r| (hi + r * (lo - hi)).powf(7.0))
                .collect()
        }
        SigmaSchedule::Exponential => crate::schedule::linspace(max.ln(), min.ln(), n)
            .into_iter()
            .map(f64::exp)
            .collect(),
        // Lu's lambdas are the table's log sigmas, taken in float32 (numpy's log of the f32
        // table): exp(lambda_max) is then not sigma_max itself, which decides a truncated
        // first timestep (the squared-cosine schedule's).
        SigmaSchedule::Lu => {
            let (hi, lo) = (f64::from((max as f32).ln()), f64::from((min as f32).ln()));
            ramp.iter().map(|r| (hi + r * (lo - hi)).exp()).collect()
        }
        SigmaSchedule::Beta => ramp
            .iter()
            .map(|r| min + beta_ppf(1.0 - r, 0.6, 0.6) * (max - min))
            .collect(),
    })
}

/// The log sigmas `_sigma_to_t` interpolates in: numpy's log of the f32 table stays f32.
pub(crate) fn log_table(alphas_cumprod: &[f64]) -> Vec<f64> {
    table_sigmas(&multistep_abar(alphas_cumprod))
        .iter()
        .map(|&s| f64::from((s as f32).ln()))
        .collect()
}

/// abar as diffusers' multistep classes (DPM-Solver, UniPC) hold it: a zero terminal abar
/// (`rescale_betas_zero_snr`) replaced by 2^-24, "close to 0 without being 0 so that the first
/// sigma is not inf" (sigma_max = 4096). Above the rescaled abar_{T-2} (4e-9 on the linear
/// schedule), so the table is no longer monotone there, as in diffusers; the multistep rows,
/// sigmas and clipping read it, the denoisers keep the training table.
pub fn multistep_abar(alphas_cumprod: &[f64]) -> Vec<f64> {
    let mut abar = alphas_cumprod.to_vec();
    if let Some(last) = abar.last_mut().filter(|a| **a == 0.0) {
        *last = 2f64.powi(-24);
    }
    abar
}

/// ln Gamma(x) for x > 0 (Lanczos, g = 7, nine terms: ~1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let s = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |s, (i, c)| s + c / (x + (i + 1) as f64));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

/// The continued fraction of the incomplete beta function (modified Lentz), converging for
/// x < (a + 1) / (a + b + 2).
fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    let tiny = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    d = 1.0 / if d.abs() < tiny { tiny } else { d };
    let mut f = d;
    for m in 1..500 {
        let m = m as f64;
        // Even and odd terms of the fraction.
        for num in [
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0)),
        ] {
            d = 1.0 + num * d;
            d = 1.0 / if d.abs() < tiny { tiny } else { d };
            c = 1.0 + num / c;
            c = if c.abs() < tiny { tiny } else { c };
            f *= c * d;
        }
        if (c * d - 1.0).abs() < 1e-16 {
            break;
        }
    }
    f
}

/// The regularized incomplete beta function I_x(a, b).
fn beta_cdf(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = a * x.ln() + b * (1.0 - x).ln() + ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b);
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(1.0 - x, b, a) / b
    }
}

/// scipy's `beta.ppf(q, a, b)`: the x with I_x(a, b) = q, by bisection to f64 resolution.
fn beta_ppf(q: f64, a: f64, b: f64) -> f64 {
    if q <= 0.0 {
        return 0.0;
    }
    if q >= 1.0 {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if beta_cdf(mid, a, b) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beta_quantiles_match_scipy() {
        // scipy.stats.beta.ppf(q, 0.6, 0.6) (scipy 1.17.1).
        for (q, want) in [
            (0.5, 0.500_000_000_000_000_1),
            (0.1, 0.039_584_405_588_780_85),
            (0.9, 0.960_415_594_411_219_2),
            (0.01, 0.000_861_238_821_542_905_9),
        ] {
            let got = beta_ppf(q, 0.6, 0.6);
            assert!((got - want).abs() < 1e-12, "{q}: {got} vs {want}");
        }
    }

    #[test]
    fn lanczos_gamma_is_exact_at_known_points() {
        assert!(ln_gamma(1.0).abs() < 1e-14);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
    }
}
