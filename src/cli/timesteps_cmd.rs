//! `ddpm timesteps`: the kept timesteps of a spacing, in sampling (descending) order, printed
//! or written as int64 .npy; or, with `--scheduler-config`, diffusers' `set_timesteps(N)` of
//! that scheduler: its `timesteps` and, for the classes with sigmas, its whole `sigmas`.

use crate::sampler_pick::read_config;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::nn::scheduler_map::{SamplerKind, Sampling};
use ddpm_wgpu::npy;
use ddpm_wgpu::sampler::{multistep_abar, FinalSigma, SigmaSchedule, SigmaTimes};
use ddpm_wgpu::spacing::{self, Spacing};
use ddpm_wgpu::ModelOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TimestepsArgs {
    /// T, the training steps (default: 1000).
    #[arg(long)]
    timesteps: Option<usize>,
    /// N, the steps to keep (not with improved:SPEC, whose spec gives them).
    #[arg(long)]
    steps: Option<usize>,
    /// leading, linspace, trailing (diffusers) or improved:SPEC (ddimN or a,b,c) (default:
    /// leading).
    #[arg(long)]
    spacing: Option<String>,
    /// diffusers' steps_offset, added to leading spacing's steps (default: 0).
    #[arg(long, value_name = "K")]
    steps_offset: Option<usize>,
    /// A diffusers scheduler config: T, the spacing, the offset and the class's own timesteps
    /// (DDPM and DDIM as above; DPM-Solver and UniPC their N + 1-point grids) come from it.
    #[arg(long, value_name = "S.json")]
    scheduler_config: Option<PathBuf>,
    /// Write them as an int64 .npy here instead of printing them.
    #[arg(long, value_name = "FILE.npy")]
    out: Option<PathBuf>,
    /// With --scheduler-config of a class with sigmas (DPMSolverMultistepScheduler,
    /// UniPCMultistepScheduler): its whole `sigmas`, the final one included, as float32 .npy.
    #[arg(long, value_name = "FILE.npy")]
    sigmas_out: Option<PathBuf>,
}

pub fn run(args: &TimestepsArgs) -> Result<()> {
    let (ts, sigmas) = match &args.scheduler_config {
        Some(path) => from_config(args, path)?,
        None => {
            if args.sigmas_out.is_some() {
                return Err(Error::Unsupported(
                    "--sigmas-out needs --scheduler-config of a class with sigmas \
                     (DPMSolverMultistepScheduler, UniPCMultistepScheduler)"
                        .into(),
                ));
            }
            let spacing = Spacing::parse(
                args.spacing.as_deref().unwrap_or("leading"),
                args.steps_offset.unwrap_or(0),
            )?;
            let n = steps(args, &spacing)?;
            let ts = spacing::timesteps(args.timesteps.unwrap_or(1000), n, &spacing)?;
            (whole(&ts), None)
        }
    };
    // int64 when every timestep is an integer, else float64 (diffusers' float32 values).
    let integral = ts.iter().all(|t| t.fract() == 0.0);
    if let (Some(path), Some(s)) = (&args.sigmas_out, &sigmas) {
        npy::write_f32_atomic(path, &[s.len()], s)?;
    }
    match &args.out {
        Some(path) if integral => {
            let data: Vec<i64> = ts.iter().map(|&t| t as i64).collect();
            npy::write_i64_atomic(path, &[data.len()], &data)
        }
        Some(path) => npy::write_f64_atomic(path, &[ts.len()], &ts),
        None => {
            let text: Vec<String> = ts
                .iter()
                .map(|&t| match integral {
                    true => (t as i64).to_string(),
                    false => (t as f32).to_string(),
                })
                .collect();
            println!("{}", text.join(" "));
            Ok(())
        }
    }
}

/// N for `spacing`: required, except for improved:SPEC, whose spec gives it.
fn steps(args: &TimestepsArgs, spacing: &Spacing) -> Result<usize> {
    match (spacing, args.steps) {
        (Spacing::Improved(_), None) => Ok(0),
        (Spacing::Improved(_), Some(_)) => Err(Error::Unsupported(
            "--steps does not apply to improved:SPEC (the spec gives the steps)".into(),
        )),
        (_, Some(n)) => Ok(n),
        (_, None) => Err(Error::MissingInput("--steps N".into())),
    }
}

/// The config's timesteps and, for the classes with sigmas, its sigmas (f32, as diffusers
/// keeps them): sqrt((1 - abar_t) / abar_t) at each timestep, then the final sigma.
fn from_config(
    args: &TimestepsArgs,
    path: &std::path::Path,
) -> Result<(Vec<f64>, Option<Vec<f32>>)> {
    if args.timesteps.is_some() || args.spacing.is_some() || args.steps_offset.is_some() {
        return Err(Error::Unsupported(
            "--scheduler-config gives T, the spacing and the offset: not with --timesteps, \
             --spacing or --steps-offset"
                .into(),
        ));
    }
    let sampling = read_config(path)?;
    let big_t = sampling.tables.num_timesteps();
    let n = steps(args, &sampling.spacing)?;
    let dpm = matches!(sampling.sampler, SamplerKind::DpmSolver(_));
    let (final_sigma, kind) = match &sampling.sampler {
        SamplerKind::Ddpm | SamplerKind::Ddim => {
            if args.sigmas_out.is_some() {
                return Err(Error::Unsupported(
                    "--sigmas-out: DDPMScheduler and DDIMScheduler have no sigmas".into(),
                ));
            }
            return Ok((
                whole(&spacing::timesteps(big_t, n, &sampling.spacing)?),
                None,
            ));
        }
        SamplerKind::DpmSolver(o) => (o.final_sigma, o.sigmas),
        SamplerKind::UniPc(o) => (o.final_sigma, o.sigmas),
        SamplerKind::Euler(_) | SamplerKind::Lms(_) => {
            // Euler's and LMS's own (DDIM-like) spacing; linspace gives non-integer timesteps.
            let final_sigma = match &sampling.sampler {
                SamplerKind::Euler(o) => o.final_sigma,
                _ => FinalSigma::Zero,
            };
            let st = sigma_times(&sampling, n)?;
            let abar = multistep_abar(&sampling.tables.alphas_cumprod);
            let last = match final_sigma {
                FinalSigma::Zero => 0.0,
                FinalSigma::SigmaMin => f64::from(((1.0 - abar[0] as f32) / abar[0] as f32).sqrt()),
            };
            let sigmas = st.sigmas.iter().copied().chain([last]);
            return Ok((st.times, Some(sigmas.map(|s| s as f32).collect())));
        }
        SamplerKind::Heun(_) | SamplerKind::Pndm(_) => return visits(&sampling, n),
        SamplerKind::Unsupported(class) => {
            return Err(Error::Unsupported(format!(
                "the scheduler is {class}, whose timesteps ddpm does not compute yet"
            )))
        }
    };
    // As diffusers' multistep classes hold it (a zero terminal abar is 2^-24 there).
    let abar = &multistep_abar(&sampling.tables.alphas_cumprod);
    if kind != SigmaSchedule::Timesteps {
        // The schedule's own sigmas; sigma_min is the table's sigma(0) for DPM-Solver, the last
        // sigma for UniPC (see sampler::SigmaSteps).
        let s = crate::sampler_steps::schedule_steps(&sampling.sampler, abar, n, kind)?;
        let last = match final_sigma {
            FinalSigma::Zero => 0.0,
            FinalSigma::SigmaMin if dpm => s.sigma_min,
            FinalSigma::SigmaMin => s.sigmas[s.sigmas.len() - 1],
        };
        let sigmas = s.sigmas.iter().chain([&last]).map(|&v| v as f32).collect();
        return Ok((whole(&s.timesteps), Some(sigmas)));
    }
    let last = crate::sampler_pick::clipped_last(&sampling.sampler, &sampling, &sampling.tables);
    let ts = spacing::multistep_timesteps_upto(big_t, last, n, &sampling.spacing)?;
    let sigma = |a: f64| ((1.0 - a) / a).sqrt();
    let last = match final_sigma {
        FinalSigma::Zero => 0.0,
        FinalSigma::SigmaMin => sigma(abar[0]),
    };
    let sigmas = ts
        .iter()
        .map(|&t| sigma(abar[t]))
        .chain([last])
        .map(|s| s as f32)
        .collect();
    Ok((whole(&ts), Some(sigmas)))
}

/// Integer timesteps as the f64 values `run` prints.
fn whole(ts: &[usize]) -> Vec<f64> {
    ts.iter().map(|&t| t as f64).collect()
}

/// The timesteps and sigmas of a sigma-space config at N steps: its spacing's (float32 ones
/// for linspace), under its sigma schedule.
fn sigma_times(sampling: &Sampling, n: usize) -> Result<SigmaTimes> {
    crate::sampler_pick::check_euler_chain(&sampling.sampler, &sampling.spacing, Some(n))?;
    let schedule = crate::sampler_steps::sigma_space_schedule(&sampling.sampler, None, sampling)?;
    let scheduled = crate::sampler_steps::sigma_space_times(
        &sampling.sampler,
        (&sampling.spacing, n),
        &sampling.tables,
        (schedule, sampling),
    )?;
    match scheduled {
        Some(st) => Ok(st),
        None => {
            let ts = spacing::timesteps(sampling.tables.num_timesteps(), n, &sampling.spacing)?;
            let chain = ddpm_wgpu::chain::Chain::respaced(&sampling.tables, &ts)?;
            Ok(SigmaTimes::of_chain(&chain))
        }
    }
}

/// Heun's and PNDM's `timesteps`, which visit some timesteps twice (their sampler's order), and
/// Heun's `sigmas`, interleaved as diffusers holds them: sigma_0, then each later sigma twice,
/// then 0.
fn visits(sampling: &Sampling, n: usize) -> Result<(Vec<f64>, Option<Vec<f32>>)> {
    let big_t = sampling.tables.num_timesteps();
    let heun = matches!(sampling.sampler, SamplerKind::Heun(_));
    let st = if heun {
        sigma_times(sampling, n)?
    } else {
        crate::sampler_pick::check_euler_chain(&sampling.sampler, &sampling.spacing, Some(n))?;
        let ts = spacing::timesteps(big_t, n, &sampling.spacing)?;
        SigmaTimes::of_chain(&ddpm_wgpu::chain::Chain::respaced(&sampling.tables, &ts)?)
    };
    let integral = st.integral();
    let chain = ddpm_wgpu::chain::Chain::respaced(
        &sampling.tables,
        &if integral {
            st.times.iter().map(|&t| t as usize).collect()
        } else {
            vec![0]
        },
    )?;
    let sampler = crate::sampler_pick::multistep(
        &sampling.sampler,
        (chain, (!integral).then_some(&st), None),
        // The visits do not depend on the prediction type.
        (
            ModelOptions {
                clip_denoised: false,
                mean_type: ddpm_wgpu::MeanType::Eps,
                ..sampling.model
            },
            false,
        ),
        Some(false),
        None,
    )?
    .ok_or_else(|| Error::Unsupported("not a Heun or PNDM scheduler".into()))?;
    let times = sampler
        .model_times()
        .unwrap_or_else(|| sampler.order().iter().map(|&t| t as f64).collect());
    // Heun's sigmas as diffusers holds them: sigma_0, then each later sigma twice, then 0.
    let sigmas = heun.then(|| {
        let s = &st.sigmas;
        let mut out = vec![s[0] as f32];
        out.extend(s[1..].iter().flat_map(|&v| [v as f32, v as f32]));
        out.push(0.0);
        out
    });
    Ok((times, sigmas))
}
