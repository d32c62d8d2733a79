//! The timesteps and sigmas diffusers' sigma-space classes (Euler, Euler ancestral, Heun, LMS)
//! step through, and where their rows go. With `leading` or `trailing` spacing the timesteps
//! are integers and the rows are by training timestep, as for the other samplers; with
//! `linspace` (the classes' default) they are float32 values between integers, the model is
//! called there ([`Sampler::model_times`](super::Sampler::model_times)) and the rows are by
//! visit index.

use super::sigmas::{log_table, ramp, table_sigmas, SigmaBounds};
use super::{multistep_abar, sigma_to_t, SigmaSchedule};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::MultistepRow;
use crate::error::{Error, Result};

/// Timesteps (float32 values, descending) and their sigmas (float32, as diffusers holds them),
/// one per step; the final sigma is the sampler's.
#[derive(Clone, Debug, PartialEq)]
pub struct SigmaTimes {
    /// The timestep of each step.
    pub times: Vec<f64>,
    /// sigma = sqrt((1 - abar) / abar) there.
    pub sigmas: Vec<f64>,
}

impl SigmaTimes {
    /// `chain`'s timesteps from its last kept step to its first, and the table's sigmas there
    /// (np.interp at an integer is the table's value).
    pub fn of_chain(chain: &Chain) -> Self {
        // diffusers forms the table in float32 arithmetic on its float32 abar.
        let table = table_sigmas(&multistep_abar(&chain.train.alphas_cumprod));
        let steps = chain.steps.iter().rev();
        SigmaTimes {
            times: steps.clone().map(|&t| t as f64).collect(),
            sigmas: steps.map(|&t| table[t]).collect(),
        }
    }

    /// diffusers' `linspace` spacing of the sigma-space classes at N steps over the training
    /// table `alphas_cumprod` (T values): t_k = float32(linspace(0, T - 1, N)) from the last,
    /// and sigma_k = float32(np.interp(t_k, 0..T, the table's float32 sigmas)).
    pub fn linspace(alphas_cumprod: &[f64], n: usize) -> Result<Self> {
        let big_t = alphas_cumprod.len();
        if n == 0 || n > big_t {
            return Err(Error::Unsupported(format!(
                "--steps must be in [1, T = {big_t}], got {n}"
            )));
        }
        let table = table_sigmas(&multistep_abar(alphas_cumprod));
        let times: Vec<f64> = crate::schedule::linspace(0.0, (big_t - 1) as f64, n)
            .into_iter()
            .rev()
            .map(|t| t as f32 as f64)
            .collect();
        let sigmas = times
            .iter()
            .map(|&t| {
                let j = (t.floor() as usize).min(big_t - 1);
                if j + 1 >= big_t {
                    return table[big_t - 1];
                }
                let slope = table[j + 1] - table[j];
                (slope * (t - j as f64) + table[j]) as f32 as f64
            })
            .collect();
        Ok(SigmaTimes { times, sigmas })
    }

    /// These steps under sigma schedule `kind`, as diffusers' Euler, Heun and LMS classes form
    /// it (`use_karras_sigmas`, `use_exponential_sigmas`, `use_beta_sigmas`): N sigmas from
    /// this list's first sigma down to its last, and as timesteps `_sigma_to_t` of each
    /// (float32, not rounded) on the table `alphas_cumprod`. `Timesteps` gives the list itself;
    /// `Lu` (DPM-Solver's) is refused.
    pub fn scheduled(&self, alphas_cumprod: &[f64], kind: SigmaSchedule) -> Result<SigmaTimes> {
        self.scheduled_within(alphas_cumprod, kind, SigmaBounds::default())
    }

    /// [`SigmaTimes::scheduled`] between `bounds` (Euler's `sigma_min` / `sigma_max` keys)
    /// where they are set.
    pub fn scheduled_within(
        &self,
        alphas_cumprod: &[f64],
        kind: SigmaSchedule,
        bounds: SigmaBounds,
    ) -> Result<SigmaTimes> {
        let (Some(&max), Some(&min)) = (self.sigmas.first(), self.sigmas.last()) else {
            return Err(Error::Unsupported(
                "a sigma schedule needs at least one step".into(),
            ));
        };
        match kind {
            SigmaSchedule::Timesteps => return Ok(self.clone()),
            SigmaSchedule::Lu => {
                return Err(Error::Unsupported(
                    "lu sigmas are DPM-Solver's use_lu_lambdas: Euler, Heun and LMS have none"
                        .into(),
                ))
            }
            _ => {}
        }
        if !(min > 0.0 && max.is_finite()) {
            return Err(Error::Unsupported(format!(
                "{} sigmas need sigmas in (0, inf) at the spaced timesteps, got {max} to {min}",
                kind.name()
            )));
        }
        let (min, max) = bounds.apply(min, max)?;
        let sigmas = ramp(kind, min, max, self.sigmas.len())?;
        let log_sigmas = log_table(alphas_cumprod);
        Ok(SigmaTimes {
            times: sigmas
                .iter()
                .map(|&s| sigma_to_t(s, &log_sigmas) as f32 as f64)
                .collect(),
            sigmas: sigmas.iter().map(|&s| s as f32 as f64).collect(),
        })
    }

    /// Whether every timestep is an integer.
    pub fn integral(&self) -> bool {
        self.times.iter().all(|t| t.fract() == 0.0)
    }
}

/// The order of a sampler whose rows [`place`] put: the visit indices where it has non-integer
/// `times`, else `chain`'s timesteps from the last kept step to the first.
pub(crate) fn order(times: Option<&[f64]>, chain: &Chain) -> Vec<usize> {
    match times {
        Some(times) => (0..times.len()).collect(),
        None => chain.steps.iter().rev().copied().collect(),
    }
}

/// Rows made in visit order at `times` (one per visit), placed for the loop: by training
/// timestep (T rows, the others idle; `next_t` the next visit's timestep) where the times are
/// distinct integers below T, else one per visit index (`next_t` the next index), with the
/// times returned as the model's. A visit count past T is refused (the kernels clamp indices
/// below T).
pub(crate) fn place(
    rows: Vec<MultistepRow>,
    times: &[f64],
    big_t: usize,
) -> Result<(Vec<MultistepRow>, Option<Vec<f64>>)> {
    let len = rows.len();
    let integer: Option<Vec<usize>> = times
        .iter()
        .map(|&t| (t.fract() == 0.0 && t >= 0.0 && t < big_t as f64).then_some(t as usize))
        .collect();
    let distinct = integer
        .as_ref()
        .is_some_and(|ts| ts.windows(2).all(|w| w[0] > w[1]));
    if let (Some(ts), true) = (integer, distinct) {
        let mut out = vec![MultistepRow::IDLE; big_t];
        for (k, row) in rows.into_iter().enumerate() {
            out[ts[k]] = MultistepRow {
                next_t: *ts.get(k + 1).unwrap_or(&ts[k]),
                ..row
            };
        }
        return Ok((out, None));
    }
    if len > big_t {
        return Err(Error::Unsupported(format!(
            "{len} model evaluations at non-integer timesteps: at most T = {big_t}"
        )));
    }
    let out = rows
        .into_iter()
        .enumerate()
        .map(|(k, row)| MultistepRow {
            next_t: (k + 1).min(len - 1),
            ..row
        })
        .collect();
    Ok((out, Some(times.to_vec())))
}
