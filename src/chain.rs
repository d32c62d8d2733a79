//! A sampling chain: the training steps a sampler visits and the tables of the diffusion over
//! just those steps, rebuilt in f64 as improved-diffusion's `SpacedDiffusion` does.
//!
//! For kept steps k_0 < k_1 < ... < k_{N-1}, beta'_i = 1 - abar\[k_i\] / abar[k_{i-1}] (with
//! abar before k_0 equal to 1) and every derived table comes from the chain's abar, which is
//! the training abar at the kept steps ([`Tables::from_alphas_cumprod`]), so each variance and
//! mean type works on the chain unchanged; a step at k_i
//! goes to k_{i-1}. The model is still called with the training timestep k_i. diffusers'
//! `DDPMScheduler` with `num_inference_steps` steps the same way (to the previous kept
//! timestep); its `DDIMScheduler` steps to `t - T // N` instead, which differs from the previous
//! kept step when N does not divide T under `linspace` or `trailing` spacing: we always step to
//! the previous kept step.

use crate::error::{Error, Result};
use crate::schedule::Tables;

/// The steps of a chain and its rebuilt tables.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// The kept training timesteps, ascending: k_0 < ... < k_{N-1}.
    pub steps: Vec<usize>,
    /// The diffusion over the kept steps: N rows, row i for training timestep k_i.
    pub tables: Tables,
    /// The training schedule's tables (T rows).
    pub train: Tables,
}

impl Chain {
    /// Every training step: the original chain, whose tables are the training tables.
    pub fn full(train: &Tables) -> Self {
        Chain {
            steps: (0..train.num_timesteps()).collect(),
            tables: train.clone(),
            train: train.clone(),
        }
    }

    /// The chain over `steps` (any order, each < T, no repeats) of `train`.
    pub fn respaced(train: &Tables, steps: &[usize]) -> Result<Self> {
        let big_t = train.num_timesteps();
        let mut kept = steps.to_vec();
        kept.sort_unstable();
        if kept.is_empty() {
            return Err(Error::InvalidSchedule(
                "a chain needs at least one step".into(),
            ));
        }
        if let Some(&t) = kept.iter().find(|&&t| t >= big_t) {
            return Err(Error::TimestepOutOfRange {
                index: 0,
                value: t as i64,
                num_timesteps: big_t,
            });
        }
        if kept.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::InvalidSchedule(format!(
                "the chain's steps repeat a timestep: {steps:?}"
            )));
        }
        // abar' is the training abar at the kept steps, exactly: improved-diffusion's beta'
        // rebuilt into 1 - beta' would lose alpha' where beta' is near 1.
        let abar = kept.iter().map(|&k| train.alphas_cumprod[k]).collect();
        Ok(Chain {
            tables: Tables::from_alphas_cumprod(abar)?,
            steps: kept,
            train: train.clone(),
        })
    }

    /// N, the number of kept steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the chain has no step (never true for a constructed chain).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// T of the training schedule.
    pub fn num_train_timesteps(&self) -> usize {
        self.train.num_timesteps()
    }

    /// Whether this is the full chain over all T steps.
    pub fn is_full(&self) -> bool {
        self.steps.len() == self.num_train_timesteps()
    }

    /// The chain index i of training timestep t, if t is kept.
    pub fn index_of(&self, t: usize) -> Option<usize> {
        self.steps.binary_search(&t).ok()
    }

    /// Map per-sample training timesteps to chain indices, each required to be a kept step.
    pub fn indices(&self, t: &[u32]) -> Result<Vec<u32>> {
        t.iter()
            .enumerate()
            .map(|(index, &v)| {
                self.index_of(v as usize).map(|i| i as u32).ok_or_else(|| {
                    Error::Unsupported(format!(
                        "t[{index}] = {v} is not a kept timestep of the respaced chain \
                             ({} of {} steps: {})",
                        self.len(),
                        self.num_train_timesteps(),
                        preview(&self.steps)
                    ))
                })
            })
            .collect()
    }

    /// The chain's tables scattered to training timesteps: T rows, row k_i holding chain row i,
    /// the other rows the training tables' (never visited by the chain). This is what the
    /// sampling loop's kernels and denoisers index by the training timestep, so that a
    /// denoiser sees abar of its own timestep and the step kernel the chain's posterior.
    pub fn by_timestep(&self) -> Tables {
        let mut tb = self.train.clone();
        let c = &self.tables;
        for (i, &k) in self.steps.iter().enumerate() {
            macro_rules! put {
                ($($f:ident),*) => { $( tb.$f[k] = c.$f[i]; )* };
            }
            put!(
                betas,
                alphas,
                alphas_cumprod,
                alphas_cumprod_prev,
                sqrt_alphas_cumprod,
                one_minus_alphas_cumprod,
                sqrt_one_minus_alphas_cumprod,
                log_one_minus_alphas_cumprod,
                sqrt_recip_alphas_cumprod,
                sqrt_recipm1_alphas_cumprod,
                posterior_variance,
                posterior_log_variance_clipped,
                posterior_mean_coef1,
                posterior_mean_coef2,
                log_betas,
                fixedlarge_log_variance
            );
        }
        tb
    }

    /// The training timestep the chain visits after k_i when sampling (k_{i-1}), or k_0 itself
    /// at the last step: the loop's `prev_t` of row k_i.
    pub fn prev_step(&self, i: usize) -> usize {
        self.steps[i.saturating_sub(1)]
    }
}

/// The first and last few of a long list, for messages.
fn preview(steps: &[usize]) -> String {
    if steps.len() <= 8 {
        format!("{steps:?}")
    } else {
        format!(
            "[{}, {}, {}, ..., {}, {}]",
            steps[0],
            steps[1],
            steps[2],
            steps[steps.len() - 2],
            steps[steps.len() - 1]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::ScheduleKind;

    /// The chain's abar is the training abar at the kept steps, bit for bit, and its other
    /// tables agree with improved-diffusion's route (betas' = 1 - abar ratios, then
    /// `Tables::new`) where that is well conditioned. At cosine's tail the route through 1 - beta'
    /// keeps alpha' = abar_999 / abar_888 (~1e-7 here) only to ~1e-16 / alpha' relative, which
    /// moved pred_xstart there by ~3e-10 relative against diffusers (which reads abar itself).
    #[test]
    fn respaced_tables_keep_the_training_abar() {
        let train = Tables::from_schedule(ScheduleKind::Cosine, 0.0, 0.0, 1000).unwrap();
        let kept: Vec<usize> = (0..10).map(|i| (i * 111) as usize).collect();
        let chain = Chain::respaced(&train, &kept).unwrap();
        let mut last = 1.0;
        let betas: Vec<f64> = kept
            .iter()
            .map(|&k| {
                let b = 1.0 - train.alphas_cumprod[k] / last;
                last = train.alphas_cumprod[k];
                b
            })
            .collect();
        let via_betas = Tables::new(betas).unwrap();
        for (i, &k) in kept.iter().enumerate() {
            assert_eq!(
                chain.tables.alphas_cumprod[i], train.alphas_cumprod[k],
                "step {k}"
            );
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-300);
            assert!(rel(chain.tables.betas[i], via_betas.betas[i]) < 1e-15);
            assert!(
                rel(
                    chain.tables.posterior_variance[i],
                    via_betas.posterior_variance[i]
                ) < 1e-12
            );
        }
        // The tail: the betas' route loses alpha' (the test shows the difference exists).
        let a = train.alphas_cumprod[999] / train.alphas_cumprod[888];
        let lost = (via_betas.alphas[9] - a).abs() / a;
        assert_eq!(chain.tables.alphas[9], a);
        assert!(lost > 1e-12, "1 - (1 - alpha') kept alpha' to {lost:e}");
    }

    /// Zero terminal SNR: the last abar is 0 and stays 0 (beta' = 1); abar that does not
    /// decrease is refused.
    #[test]
    fn zero_terminal_snr_and_bad_abar() {
        let betas = crate::schedule::beta_schedule(ScheduleKind::Linear, 1e-4, 0.02, 100).unwrap();
        let train =
            Tables::new(crate::schedule::rescale_zero_terminal_snr(&betas).unwrap()).unwrap();
        let chain = Chain::respaced(&train, &[0, 50, 99]).unwrap();
        assert_eq!(chain.tables.alphas_cumprod[2], 0.0);
        assert_eq!(chain.tables.betas[2], 1.0);
        assert!(Tables::from_alphas_cumprod(vec![0.9, 0.9]).is_err());
        assert!(Tables::from_alphas_cumprod(vec![1.0]).is_err());
        assert!(Tables::from_alphas_cumprod(vec![0.5, 0.0, 0.0]).is_err());
        assert!(Tables::from_alphas_cumprod(vec![]).is_err());
    }
}
