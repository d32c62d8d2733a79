//! Where a picked sampler's steps come from besides the spacing: the sigma schedules (Karras,
//! exponential, beta, lu) of the multistep samplers, and the non-integer timesteps of the
//! sigma-space ones (Euler, Heun, LMS on linspace spacing or a sigma schedule).

use crate::sampler_pick::sigma_space;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::error::Result;
use ddpm_wgpu::nn::scheduler_map::{SamplerKind, Sampling};
use ddpm_wgpu::sampler::{SigmaBounds, SigmaSchedule, SigmaTimes};
use ddpm_wgpu::spacing::Spacing;
use ddpm_wgpu::Tables;

/// The timesteps and sigmas of a sigma-space `kind` at N steps where they are not the
/// training table's at integer timesteps: linspace spacing (the classes' default: float32
/// timesteps, [`SigmaTimes::linspace`]) or a sigma `schedule` (Karras, exponential, beta) over
/// the spaced sigmas, with `_sigma_to_t`'s timesteps. `None` for the other samplers and for
/// leading or trailing spacing without a schedule.
pub(crate) fn sigma_space_times(
    kind: &SamplerKind,
    (spacing, n): (&Spacing, usize),
    tables: &Tables,
    (schedule, base): (SigmaSchedule, &Sampling),
) -> Result<Option<SigmaTimes>> {
    let linspace = *spacing == Spacing::Linspace;
    if !sigma_space(kind) || (!linspace && schedule == SigmaSchedule::Timesteps) {
        return Ok(None);
    }
    let abar = &tables.alphas_cumprod;
    let spaced = if linspace {
        SigmaTimes::linspace(abar, n)?
    } else {
        let ts = ddpm_wgpu::spacing::timesteps(tables.num_timesteps(), n, spacing)?;
        SigmaTimes::of_chain(&Chain::respaced(tables, &ts)?)
    };
    // Euler's sigma_min / sigma_max keys bound the schedule; Heun's and LMS's classes have
    // none (from_config drops them), nor has Euler ancestral's.
    let bounds = match kind {
        SamplerKind::Euler(o) if !o.ancestral => base.euler_keys.bounds,
        _ => SigmaBounds::default(),
    };
    spaced.scheduled_within(abar, schedule, bounds).map(Some)
}

/// The sigma schedule of a sigma-space `kind`: `--sigmas` over the config's use_*_sigmas
/// (Euler ancestral has none); the training table's for the other samplers.
pub(crate) fn sigma_space_schedule(
    kind: &SamplerKind,
    flag: Option<SigmaSchedule>,
    base: &Sampling,
) -> Result<SigmaSchedule> {
    let class = match kind {
        SamplerKind::Euler(o) if !o.ancestral => "EulerDiscreteScheduler",
        SamplerKind::Lms(_) => "LMSDiscreteScheduler",
        SamplerKind::Heun(_) => "HeunDiscreteScheduler",
        _ => return Ok(SigmaSchedule::Timesteps),
    };
    match flag {
        Some(s) => Ok(s),
        None => base.euler_keys.sigmas(class),
    }
}

/// The timesteps of a multistep `kind` under sigma schedule `sigmas` at N steps: DPM-Solver
/// truncates its Karras and lu ones on the squared-cosine schedule, as diffusers' class does.
pub(crate) fn schedule_steps(
    kind: &SamplerKind,
    abar: &[f64],
    n: usize,
    sigmas: SigmaSchedule,
) -> Result<ddpm_wgpu::sampler::SigmaSteps> {
    match kind {
        SamplerKind::DpmSolver(o) if o.truncate_timesteps => {
            ddpm_wgpu::sampler::sigma_steps_truncated(abar, n, sigmas)
        }
        SamplerKind::UniPc(o) => ddpm_wgpu::sampler::sigma_steps_within(abar, n, sigmas, o.bounds),
        _ => ddpm_wgpu::sampler::sigma_steps(abar, n, sigmas),
    }
}
