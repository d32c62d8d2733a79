//! What the linear multistep samplers ([`DpmSolver`](super::DpmSolver),
//! [`UniPc`](super::UniPc)) share: their rows run on the one multistep kernel
//! (shaders/multistep_step*.wgsl, twin `cpu::kernels::multistep_step`), so a sampler of this
//! family is its row formulas over its [`Visits`] and nothing else (the rows placed by
//! `placed_rows`).

use super::sigmas::{multistep_abar, sigma_steps_within, SigmaBounds, SigmaSchedule};
use super::{CpuStep, FinalSigma};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{multistep_step, MultistepRow};
use crate::error::{Error, Result};
use crate::gpu::kernels::multistep_step::MultistepCoefs;
use crate::gpu::runtime::shaders::Kernel;
use crate::options::ModelOptions;

/// The rows as the kernel reads them (binding 2).
pub(crate) fn gpu_rows(rows: &[MultistepRow]) -> Vec<u8> {
    let coefs: Vec<MultistepCoefs> = rows.iter().map(MultistepCoefs::from_row).collect();
    bytemuck::cast_slice(&coefs).to_vec()
}

/// The kernels, (vec4, scalar).
pub(crate) const KERNELS: (Kernel, Kernel) = (Kernel::MultistepStepVec4, Kernel::MultistepStep);

/// The twin's step at training timestep t.
pub(crate) fn cpu_step(
    rows: &[MultistepRow],
    model: &ModelOptions,
    t: usize,
    step: CpuStep<'_>,
) -> Result<Vec<f64>> {
    let row = rows.get(t).ok_or(Error::TimestepOutOfRange {
        index: 0,
        value: t as i64,
        num_timesteps: rows.len(),
    })?;
    let noise = step.noise.filter(|_| row.update[5] != 0.0);
    multistep_step(row, model, CpuStep { noise, ..step })
}

/// How a multistep sampler takes its sigma schedule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schedule {
    pub kind: SigmaSchedule,
    /// Timesteps truncated (DPM-Solver's Karras and lu on the squared cosine).
    pub truncate: bool,
    pub bounds: SigmaBounds,
}

/// The steps a multistep sampler visits, in order: each one's training timestep and abar
/// (abar = 1 / (1 + sigma^2), the table as [`multistep_abar`] holds it), and the final abar
/// after the last step.
#[derive(Clone, Debug)]
pub(crate) struct Visits {
    /// Training timesteps in visiting order (one may repeat under a sigma schedule).
    pub order: Vec<usize>,
    pub abar: Vec<f64>,
    pub final_abar: f64,
}

/// The visits of a multistep sampler on `chain` (from its last kept step to its first) under
/// the sigma schedule `kind`. The default schedule takes the training abar at the chain's
/// timesteps (and sigma(0) as `sigma_min`); the others take their sigmas, whose timesteps the
/// chain must hold ([`sigma_steps`](super::sigmas::sigma_steps)): see [`sigma_visits`].
pub(crate) fn chain_visits(
    chain: &Chain,
    schedule: Schedule,
    final_sigma: FinalSigma,
    table_min: bool,
) -> Result<Visits> {
    let order: Vec<usize> = chain.steps.iter().rev().copied().collect();
    let abar = &multistep_abar(&chain.train.alphas_cumprod);
    if schedule.kind == SigmaSchedule::Timesteps {
        let final_abar = match final_sigma {
            FinalSigma::Zero => 1.0,
            FinalSigma::SigmaMin => abar[0],
        };
        let abar = order.iter().map(|&t| abar[t]).collect();
        return Ok(Visits {
            order,
            abar,
            final_abar,
        });
    }
    let visits = sigma_visits(abar, order.len(), schedule, final_sigma, table_min)?;
    if visits.order != order {
        return Err(Error::Unsupported(format!(
            "the chain's timesteps {order:?} are not those of {} sigmas at {} steps ({:?}): \
             build the chain from sampler::sigma_steps, or the sampler from its on_sigmas \
             where they repeat a timestep",
            schedule.kind.name(),
            order.len(),
            visits.order
        )));
    }
    Ok(visits)
}

/// The N visits of `schedule` (Karras, exponential, beta, lu; its timesteps truncated where it
/// says, between its bounds) over the training table `alphas_cumprod`, a timestep repeated
/// where diffusers repeats it, each step's abar from its sigma; the final sigma is the table's
/// sigma(0) where `table_min` (DPM-Solver), else the last sigma (UniPC).
pub(crate) fn sigma_visits(
    alphas_cumprod: &[f64],
    n: usize,
    schedule: Schedule,
    final_sigma: FinalSigma,
    table_min: bool,
) -> Result<Visits> {
    let abar = &multistep_abar(alphas_cumprod);
    let steps = match schedule.truncate {
        true => super::sigmas::sigma_steps_truncated(abar, n, schedule.kind)?,
        false => sigma_steps_within(abar, n, schedule.kind, schedule.bounds)?,
    };
    let abar_of = |s: f64| 1.0 / (1.0 + s * s);
    let abars: Vec<f64> = steps.sigmas.iter().map(|&s| abar_of(s)).collect();
    let final_abar = match final_sigma {
        FinalSigma::Zero => 1.0,
        FinalSigma::SigmaMin if table_min => abar_of(steps.sigma_min),
        FinalSigma::SigmaMin => abars[abars.len() - 1],
    };
    Ok(Visits {
        order: steps.timesteps,
        abar: abars,
        final_abar,
    })
}

/// `rows`, one per visit of `order`, or an error naming the first step whose coefficients are
/// not finite (a higher-order step into a final sigma equal to its own, where diffusers
/// computes NaN too).
pub(crate) fn finite(
    name: &str,
    order: &[usize],
    rows: Vec<MultistepRow>,
) -> Result<Vec<MultistepRow>> {
    let bad = rows.iter().position(|r| {
        r.update
            .iter()
            .chain(r.correct.iter().flatten())
            .any(|c| !c.is_finite())
    });
    match bad {
        None => Ok(rows),
        Some(k) => Err(Error::Unsupported(format!(
            "{name}: step {} of {} (at timestep {}) has non-finite coefficients (a \
             higher-order step between equal sigmas, as into a final sigma_min equal to the \
             last step's, where diffusers computes NaN): use final sigma zero, a lower order \
             or lower_order_final",
            k + 1,
            rows.len(),
            order.get(k).map_or("?".to_string(), |t| t.to_string())
        ))),
    }
}

/// `rows`, one per visit of `order` (checked: as many, at least one, finite as [`finite`]
/// checks them), and the timesteps visited, ascending, each once.
pub(crate) fn checked_visits(
    name: &str,
    order: &[usize],
    rows: Vec<MultistepRow>,
) -> Result<(Vec<MultistepRow>, Vec<usize>)> {
    if order.len() != rows.len() || order.is_empty() {
        return Err(Error::ShapeMismatch(format!(
            "{name}: {} rows for {} visits",
            rows.len(),
            order.len()
        )));
    }
    let rows = finite(name, order, rows)?;
    let mut steps = order.to_vec();
    steps.sort_unstable();
    steps.dedup();
    Ok((rows, steps))
}
