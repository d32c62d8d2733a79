//! Which sampler `ddpm sample` runs: a scheduler config's class (`--scheduler-config`, else the
//! model folder's), or a short name (`--sampler`), with the multistep samplers' flags over the
//! config's keys. A short name is diffusers' idiom `Class.from_config(config in effect,
//! **overrides)`: the config's schedule, spacing and offset are kept, and so are its keys of
//! that class. Flags and config together: the flag wins.

use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::nn::scheduler_map::{SamplerKind, Sampling};
use ddpm_wgpu::nn::SchedulerConfig;
use ddpm_wgpu::sampler::{
    DpmAlgorithm, DpmSolver, DpmSolverOptions, Euler, FinalSigma, Heun, Lms, Pndm, Sampler,
    SigmaSchedule, SigmaTimes, Threshold, UniPc,
};
use ddpm_wgpu::spacing::Spacing;
use ddpm_wgpu::{ModelOptions, Tables};
use std::path::{Path, PathBuf};

/// The samplers `--sampler` names.
pub(crate) const SAMPLERS: &str =
    "ddpm, ddim, dpm++2m, dpm++3m, dpm++2m-sde, unipc, euler, euler-a, heun, pndm, lms";

/// The scheduler config and the multistep samplers' flags.
#[derive(clap::Args)]
pub struct SolverArgs {
    /// A diffusers scheduler config (scheduler_config.json as save_config writes it): its
    /// _class_name picks the sampler, its keys the schedule and the sampler's options (default:
    /// the model folder's).
    #[arg(long, value_name = "S.json")]
    pub scheduler_config: Option<PathBuf>,
    /// solver_order of dpm++2m, dpm++3m, dpm++2m-sde and unipc (1 to 3), over the config's.
    #[arg(long, value_name = "N")]
    pub order: Option<usize>,
    /// final_sigmas_type of the multistep samplers: where the last step goes.
    #[arg(long, value_name = "zero|sigma-min")]
    pub final_sigma: Option<String>,
    /// lower_order_final of the multistep samplers.
    #[arg(long, value_name = "true|false")]
    pub lower_order_final: Option<bool>,
    /// The sigma schedule of dpm++*, unipc, euler, heun and lms over the config's
    /// use_*_sigmas: karras, exponential, beta, lu (DPM-Solver's use_lu_lambdas) or timesteps
    /// (the training table's at the spaced timesteps, diffusers' default).
    #[arg(long, value_name = "karras|exponential|beta|lu|timesteps")]
    pub sigmas: Option<String>,
    /// skip_prk_steps of pndm over the config's: true for PLMS alone (N + 1 model
    /// evaluations), false for the Runge-Kutta warm-up first (N + 9, the class's default).
    #[arg(long, value_name = "true|false")]
    pub skip_prk_steps: Option<bool>,
}

impl SolverArgs {
    /// Whether any multistep flag is given.
    fn any_flag(&self) -> bool {
        self.order.is_some()
            || self.final_sigma.is_some()
            || self.lower_order_final.is_some()
            || self.sigmas.is_some()
    }

    /// `--sigmas`, parsed.
    pub(crate) fn sigma_schedule(&self) -> Result<Option<SigmaSchedule>> {
        use SigmaSchedule::*;
        let Some(name) = self.sigmas.as_deref() else {
            return Ok(None);
        };
        [Timesteps, Karras, Exponential, Beta, Lu]
            .into_iter()
            .find(|s| s.name() == name)
            .map(Some)
            .ok_or_else(|| Error::UnknownName {
                kind: "sigma schedule",
                name: name.into(),
                expected: "karras, exponential, beta, lu, timesteps".into(),
            })
    }

    /// The config `--scheduler-config` names, as sampling settings.
    pub(crate) fn config(&self) -> Result<Option<Sampling>> {
        self.scheduler_config
            .as_deref()
            .map(read_config)
            .transpose()
    }

    /// `kind` with the flags over its options; a flag its sampler does not take is refused.
    pub(crate) fn over(&self, kind: SamplerKind) -> Result<SamplerKind> {
        let sigmas = self.sigma_schedule()?;
        let final_sigma = match self.final_sigma.as_deref() {
            None => None,
            Some("zero") => Some(FinalSigma::Zero),
            Some("sigma-min") => Some(FinalSigma::SigmaMin),
            Some(other) => {
                return Err(Error::UnknownName {
                    kind: "final sigma",
                    name: other.into(),
                    expected: "zero, sigma-min".into(),
                })
            }
        };
        if self.skip_prk_steps.is_some() && !matches!(kind, SamplerKind::Pndm(_)) {
            return Err(Error::Unsupported(
                "--skip-prk-steps is PNDM's (PNDMScheduler's skip_prk_steps)".into(),
            ));
        }
        Ok(match kind {
            SamplerKind::DpmSolver(o) => SamplerKind::DpmSolver(DpmSolverOptions {
                order: self.order.unwrap_or(o.order),
                final_sigma: final_sigma.unwrap_or(o.final_sigma),
                lower_order_final: self.lower_order_final.unwrap_or(o.lower_order_final),
                sigmas: sigmas.unwrap_or(o.sigmas),
                ..o
            }),
            SamplerKind::UniPc(_) if sigmas == Some(SigmaSchedule::Lu) => {
                return Err(Error::Unsupported(
                    "--sigmas lu is DPM-Solver's use_lu_lambdas: UniPC has no lu schedule".into(),
                ))
            }
            SamplerKind::Euler(_) if self.order.is_some() || self.lower_order_final.is_some() => {
                return Err(Error::Unsupported(
                    "--order and --lower-order-final are the multistep samplers' (dpm++2m, \
                     dpm++3m, dpm++2m-sde, unipc), not Euler's"
                        .into(),
                ))
            }
            SamplerKind::Euler(o) if o.ancestral && sigmas.is_some() => {
                return Err(Error::Unsupported(
                    "--sigmas is not Euler ancestral's (diffusers' class has no sigma schedules)"
                        .into(),
                ))
            }
            SamplerKind::Lms(_) if final_sigma.is_some() || self.lower_order_final.is_some() => {
                return Err(Error::Unsupported(
                    "--final-sigma and --lower-order-final are not LMS's (it ends at sigma zero)"
                        .into(),
                ))
            }
            SamplerKind::Heun(_)
                if self.order.is_some()
                    || final_sigma.is_some()
                    || self.lower_order_final.is_some() =>
            {
                return Err(Error::Unsupported(
                    "--order, --final-sigma and --lower-order-final are not Heun's (diffusers' \
                     class has none of these keys)"
                        .into(),
                ))
            }
            SamplerKind::Pndm(_) if self.any_flag() => {
                return Err(Error::Unsupported(
                    "--order, --final-sigma, --lower-order-final and --sigmas are not PNDM's \
                     (diffusers' class has none of these keys)"
                        .into(),
                ))
            }
            SamplerKind::Pndm(o) => SamplerKind::Pndm(ddpm_wgpu::sampler::PndmOptions {
                skip_prk_steps: self.skip_prk_steps.unwrap_or(o.skip_prk_steps),
                ..o
            }),
            SamplerKind::Lms(o) => SamplerKind::Lms(ddpm_wgpu::sampler::LmsOptions {
                order: self.order.unwrap_or(o.order),
                ..o
            }),
            SamplerKind::Euler(o) => SamplerKind::Euler(ddpm_wgpu::sampler::EulerOptions {
                final_sigma: final_sigma.unwrap_or(o.final_sigma),
                ..o
            }),
            SamplerKind::UniPc(o) => SamplerKind::UniPc(ddpm_wgpu::sampler::UniPcOptions {
                order: self.order.unwrap_or(o.order),
                final_sigma: final_sigma.unwrap_or(o.final_sigma),
                lower_order_final: self.lower_order_final.unwrap_or(o.lower_order_final),
                sigmas: sigmas.unwrap_or(o.sigmas),
                ..o
            }),
            _ if self.any_flag() => {
                return Err(Error::Unsupported(
                    "--order, --final-sigma, --lower-order-final and --sigmas are the \
                     multistep samplers' (dpm++2m, dpm++3m, dpm++2m-sde, unipc)"
                        .into(),
                ))
            }
            other => other,
        })
    }
}

/// A scheduler config file's sampling settings; its errors name the file.
pub(crate) fn read_config(path: &Path) -> Result<Sampling> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::ModelConfig {
        file: file.clone(),
        reason: e.to_string(),
    })?;
    SchedulerConfig::from_json(&text, &file)?.sampling()
}

/// The sampler `--sampler NAME` picks over `base`: diffusers' `from_config` with the name's
/// overrides (dpm++2m: algorithm_type dpmsolver++, solver_order 2; dpm++3m: order 3;
/// dpm++2m-sde: sde-dpmsolver++, order 2; unipc: the config's UniPC keys; euler, euler-a:
/// the config's Euler keys).
pub(crate) fn short_name(name: &str, base: &Sampling) -> Result<SamplerKind> {
    let dpm = |algorithm, order| -> Result<SamplerKind> {
        Ok(SamplerKind::DpmSolver(DpmSolverOptions {
            algorithm,
            order,
            truncate_timesteps: base.cosine,
            ..base.dpm_keys.options()?
        }))
    };
    match name {
        "ddpm" => Ok(SamplerKind::Ddpm),
        "ddim" => Ok(SamplerKind::Ddim),
        "dpm++2m" => dpm(DpmAlgorithm::DpmSolverPlusPlus, 2),
        "dpm++3m" => dpm(DpmAlgorithm::DpmSolverPlusPlus, 3),
        "dpm++2m-sde" => dpm(DpmAlgorithm::SdeDpmSolverPlusPlus, 2),
        "unipc" => Ok(SamplerKind::UniPc(base.unipc_keys.options()?)),
        "euler" | "euler-a" => Ok(SamplerKind::Euler(base.euler_keys.options(
            name == "euler-a",
            base.model.mean_type == ddpm_wgpu::MeanType::V,
        )?)),
        "lms" => Ok(SamplerKind::Lms(base.euler_keys.lms_options()?)),
        "heun" => Ok(SamplerKind::Heun(base.euler_keys.heun_options()?)),
        "pndm" => Ok(SamplerKind::Pndm(base.pndm)),
        other => Err(Error::UnknownName {
            kind: "sampler",
            name: other.into(),
            expected: SAMPLERS.into(),
        }),
    }
}

/// Whether `kind` is one of diffusers' solvers (neither DDPM nor DDIM).
pub(crate) fn is_solver(kind: &SamplerKind) -> bool {
    !matches!(
        kind,
        SamplerKind::Ddpm | SamplerKind::Ddim | SamplerKind::Unsupported(_)
    )
}

/// Whether `kind` takes diffusers' multistep timesteps (and needs `--steps`).
pub(crate) fn is_multistep(kind: &SamplerKind) -> bool {
    matches!(kind, SamplerKind::DpmSolver(_) | SamplerKind::UniPc(_))
}

/// Where a multistep `kind`'s timesteps end: DPM-Solver's `lambda_min_clipped` (the config's,
/// kept by a short name as diffusers' `from_config` keeps it) clips the range; T otherwise.
pub(crate) fn clipped_last(kind: &SamplerKind, base: &Sampling, tables: &Tables) -> usize {
    match kind {
        SamplerKind::DpmSolver(_) => ddpm_wgpu::sampler::lambda_clipped_last(
            &tables.alphas_cumprod,
            base.dpm_keys.lambda_min_clipped,
        ),
        _ => tables.num_timesteps(),
    }
}

/// Euler's, LMS's, Heun's and PNDM's timesteps: `--steps N` on one of diffusers' spacings (or
/// `--respace`, which diffusers has not; linspace gives Euler, LMS and Heun non-integer
/// timesteps: [`crate::sampler_steps::sigma_space_times`]). `Ok` for the other samplers.
pub(crate) fn check_euler_chain(
    kind: &SamplerKind,
    spacing: &Spacing,
    steps: Option<usize>,
) -> Result<()> {
    if !(sigma_space(kind) || matches!(kind, SamplerKind::Pndm(_))) {
        return Ok(());
    }
    match (spacing, steps) {
        (Spacing::Leading { .. } | Spacing::Trailing | Spacing::Linspace, Some(_)) => Ok(()),
        (Spacing::Leading { .. } | Spacing::Trailing | Spacing::Linspace, None) => {
            Err(Error::Unsupported(
                "euler, euler-a, heun, pndm and lms need --steps N (or --respace)".into(),
            ))
        }
        (other, _) => Err(Error::Unsupported(format!(
            "euler, heun, pndm and lms take leading, linspace or trailing spacing, not {other:?}"
        ))),
    }
}

/// Whether `kind` is one of diffusers' sigma-space classes (Euler, Euler ancestral, LMS, Heun).
pub(crate) fn sigma_space(kind: &SamplerKind) -> bool {
    matches!(
        kind,
        SamplerKind::Euler(_) | SamplerKind::Lms(_) | SamplerKind::Heun(_)
    )
}

/// `kind` with diffusers' x_T for `spacing`: Euler's and LMS's classes start from sigma_max z
/// with trailing (and linspace) spacing, from the unit normal (after scaling) with leading.
pub(crate) fn with_init(kind: SamplerKind, spacing: &Spacing) -> SamplerKind {
    let init_sigma_max = matches!(spacing, Spacing::Trailing | Spacing::Linspace);
    match kind {
        SamplerKind::Euler(o) => SamplerKind::Euler(ddpm_wgpu::sampler::EulerOptions {
            init_sigma_max,
            ..o
        }),
        SamplerKind::Lms(o) => SamplerKind::Lms(ddpm_wgpu::sampler::LmsOptions {
            init_sigma_max,
            ..o
        }),
        SamplerKind::Heun(_) => {
            SamplerKind::Heun(ddpm_wgpu::sampler::HeunOptions { init_sigma_max })
        }
        other => other,
    }
}

/// The sigma schedule of a multistep `kind` (the training table's for the others).
pub(crate) fn sigmas_of(kind: &SamplerKind) -> SigmaSchedule {
    match kind {
        SamplerKind::DpmSolver(o) => o.sigmas,
        SamplerKind::UniPc(o) => o.sigmas,
        _ => SigmaSchedule::Timesteps,
    }
}

/// The multistep sampler `kind` on `chain` (or N steps of its sigma schedule); `None` for the
/// others. Of diffusers' solvers only
/// Heun clips x_0 (`heun_clip`, its clip_sample from the config); the others only where
/// `--clip-denoised` asks.
pub(crate) fn multistep(
    kind: &SamplerKind,
    (chain, times, n): (Chain, Option<&SigmaTimes>, Option<usize>),
    (model, heun_clip): (ModelOptions, bool),
    clip: Option<bool>,
    threshold: Option<Threshold>,
) -> Result<Option<Box<dyn Sampler>>> {
    let heun_model = ModelOptions {
        clip_denoised: clip.unwrap_or(heun_clip),
        ..model
    };
    let model = ModelOptions {
        clip_denoised: clip.unwrap_or(false),
        ..model
    };
    Ok(match kind {
        // A sigma schedule's steps may visit a timestep twice: they come from N, not the chain.
        SamplerKind::DpmSolver(o) => Some(Box::new(match n {
            Some(n) if o.sigmas != SigmaSchedule::Timesteps => {
                DpmSolver::on_sigmas(&chain.train, n, (model, threshold), *o)?
            }
            _ => DpmSolver::new(chain, model, threshold, *o)?,
        })),
        SamplerKind::UniPc(o) => Some(Box::new(match n {
            Some(n) if o.sigmas != SigmaSchedule::Timesteps => {
                UniPc::on_sigmas(&chain.train, n, (model, threshold), o.clone())?
            }
            _ => UniPc::new(chain, model, threshold, o.clone())?,
        })),
        SamplerKind::Euler(_) if threshold.is_some() => {
            return Err(Error::Unsupported(
                "Euler and Euler ancestral have no dynamic thresholding (diffusers' have none)"
                    .into(),
            ))
        }
        SamplerKind::Euler(o) => Some(Box::new(match times {
            Some(st) => Euler::on_times(&chain.train, st, model, *o)?,
            None => Euler::new(chain, model, *o)?,
        })),
        SamplerKind::Lms(_) if threshold.is_some() => {
            return Err(Error::Unsupported(
                "LMS has no dynamic thresholding (diffusers' has none)".into(),
            ))
        }
        SamplerKind::Lms(o) => Some(Box::new(match times {
            Some(st) => Lms::on_times(&chain.train, st, model, *o)?,
            None => Lms::new(chain, model, *o)?,
        })),
        SamplerKind::Heun(_) | SamplerKind::Pndm(_) if threshold.is_some() => {
            return Err(Error::Unsupported(
                "Heun and PNDM have no dynamic thresholding (diffusers' have none)".into(),
            ))
        }
        // Heun clips x_0 as its clip_sample says: the config's, over which --clip-denoised.
        SamplerKind::Heun(o) => Some(Box::new(match times {
            Some(st) => Heun::on_times(&chain.train, st, heun_model, *o)?,
            None => Heun::new(chain, heun_model, *o)?,
        })),
        SamplerKind::Pndm(o) => Some(Box::new(Pndm::new(chain, model, *o)?)),
        _ => None,
    })
}
