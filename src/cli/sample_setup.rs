//! What `ddpm sample` samples with: the denoiser (the embedded digits model, a UNet model
//! folder, or the exact mixture of a data set), the schedule, the model options and the sampler. A model folder's scheduler
//! config gives the defaults it was trained with; options given on the command line override
//! them.

use crate::denoiser_source::Source;
use crate::model_open::{check_model_args, open_model};
use crate::sample_args::SampleArgs;
use crate::sampler_pick;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::sampling::sample_loop::CpuDenoiser;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::{Context, Denoiser};
use ddpm_wgpu::nn::presets::{EMBEDDED_DIGITS, EMBEDDED_DIGITS_COND};
use ddpm_wgpu::nn::scheduler_map::{SamplerKind, Sampling};
use ddpm_wgpu::nn::Guidance;
use ddpm_wgpu::sampler::{Ddim, Ddpm, Sampler, SigmaSchedule};
use ddpm_wgpu::spacing::{self, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, Tables, VarType};

/// Everything a sampling run is made of.
pub(crate) struct Setup {
    pub source: Source,
    pub tables: Tables,
    pub sampler: Box<dyn Sampler>,
    /// The shape of one sample: [H, W, C] for data sets, [C, H, W] for models.
    pub point_shape: Vec<usize>,
}

impl Setup {
    /// The run `args` describes; `ctx` (the GPU's, when sampling there) refuses tables too
    /// large for it before they are computed.
    pub(crate) fn new(args: &SampleArgs, ctx: Option<&Context>) -> Result<Self> {
        match choose(args)? {
            Some(choice) => {
                check_model_args(&args.schedule, &args.mixture)?;
                let spec = choice.spec();
                let (unet, folder_sampling, point_shape) = open_model(spec, ctx)?;
                let sampling = match args.solver.config()? {
                    Some(s) => {
                        if let Some(ctx) = ctx {
                            ddpm_wgpu::gpu::GpuTables::check_fits(ctx, s.tables.num_timesteps())?;
                        }
                        s
                    }
                    None => folder_sampling,
                };
                let model = model_options(args, &sampling, None)?;
                let tables = sampling.tables.clone();
                let untouched = args.sampler.is_none()
                    && args.steps.is_none()
                    && args.step.respace.is_none()
                    && args.solver.scheduler_config.is_none();
                let (steps, pick) = match choice {
                    Choice::Embedded(_) if untouched => (Some(EMBEDDED_STEPS), Some("dpm++2m")),
                    _ => (args.steps, None),
                };
                let sampler = sampler(args, (steps, pick), &sampling, &tables, model)?;
                Ok(Setup {
                    source: Source::Model {
                        unet: Box::new(unet),
                        name: spec.to_string(),
                        opts: args.tune.options()?,
                    },
                    tables,
                    sampler,
                    point_shape,
                })
            }
            None => {
                args.tune.refuse_without_unet("the mixture")?;
                let sigma = args.mixture.sigma()?;
                let data = args.mixture.load()?;
                let base = match args.solver.config()? {
                    // The config's schedule, with its sampler and options.
                    Some(s) if args.schedule.is_default() => s,
                    Some(_) => {
                        return Err(Error::Unsupported(
                            "give --scheduler-config or the schedule flags (--schedule, \
                             --timesteps, ...), not both"
                                .into(),
                        ))
                    }
                    None => Sampling {
                        tables: args.schedule.tables_for(ctx)?,
                        model: ModelOptions::default(),
                        spacing: Spacing::Leading { steps_offset: 0 },
                        threshold: None,
                        ddim: Default::default(),
                        sampler: SamplerKind::Ddpm,
                        dpm_keys: Default::default(),
                        unipc_keys: Default::default(),
                        euler_keys: Default::default(),
                        pndm: Default::default(),
                        // As from a DDPMScheduler config: the model's clipping.
                        heun_clip: ModelOptions::default().clip_denoised,
                        cosine: args.schedule.schedule == "cosine",
                    },
                };
                if let Some(ctx) = ctx {
                    ddpm_wgpu::gpu::GpuTables::check_fits(ctx, base.tables.num_timesteps())?;
                }
                let tables = base.tables.clone();
                let model = model_options(args, &base, Some(args.mixture.var_type()?))?;
                let sampler = sampler(args, (args.steps, None), &base, &tables, model)?;
                Ok(Setup {
                    point_shape: data.point_shape.clone(),
                    source: Source::Mixture { data, sigma },
                    tables,
                    sampler,
                })
            }
        }
    }

    /// Elements per sample.
    pub(crate) fn point_len(&self) -> usize {
        self.point_shape.iter().product()
    }

    /// The denoiser on the GPU, guided as `guidance` says.
    pub(crate) fn gpu_denoiser(
        &self,
        ctx: &Context,
        guidance: Option<(Guidance, u32)>,
    ) -> Result<Box<dyn Denoiser>> {
        let big_t = self.tables.num_timesteps();
        self.source.gpu(ctx, *self.sampler.model(), big_t, guidance)
    }

    /// Run `f` with the denoiser's CPU twin (it borrows the chain's tables by training
    /// timestep, as the GPU loop gives them to its denoiser).
    pub(crate) fn with_cpu_denoiser<T>(
        &self,
        guidance: Option<(Guidance, u32)>,
        f: impl FnOnce(&dyn CpuDenoiser) -> Result<T>,
    ) -> Result<T> {
        let by_t = self.sampler.chain().by_timestep();
        let model = *self.sampler.model();
        self.source
            .with_cpu(&by_t, (model, guidance), &self.point_shape, f)
    }

    /// The kind of a class-conditional model's class embedding; `None` otherwise.
    pub(crate) fn class_kind(&self) -> Option<ddpm_wgpu::nn::ClassKind> {
        match &self.source {
            Source::Model { unet, .. } => unet.class_embedding.as_ref().map(|c| c.kind()),
            Source::Mixture { .. } => None,
        }
    }

    /// What the samples come from, for the output line.
    pub(crate) fn describe(&self) -> String {
        self.source.describe()
    }
}

/// Steps of DPM-Solver++ 2M (diffusers' `DPMSolverMultistepScheduler` defaults) the embedded
/// digits model samples with when neither `--sampler`, `--steps` nor `--respace` is given. Its
/// scheduler config says DDPM over all 1000 steps, which takes minutes on a software adapter.
/// 10 is the fewest model evaluations that scored as well as DDIM-50 on every criterion of
/// tools/train/evaluate.py, in 4.4x less time (benches/samplers.md).
pub(crate) const EMBEDDED_STEPS: usize = 10;

/// Which model a run samples: an embedded digits model by default (the class-conditional one
/// when a class flag is given), or `--model`.
enum Choice {
    Embedded(&'static str),
    Given(String),
}

impl Choice {
    fn spec(&self) -> &str {
        match self {
            Choice::Embedded(name) => name,
            Choice::Given(s) => s,
        }
    }
}

/// The model to sample, or `None` for the mixture: `--denoiser mixture` or `--data` pick the
/// mixture, `--model` a folder, and nothing an embedded model: the class-conditional digits
/// when any class flag (`--class`, `--class-labels`, `--null-class`, `--guidance-*`) is given.
fn choose(args: &SampleArgs) -> Result<Option<Choice>> {
    let data = args.mixture.has_data();
    let both = |a: &str, b: &str| Err(Error::Unsupported(format!("give {a} or {b}, not both")));
    match (args.denoiser.as_deref(), &args.model) {
        (_, Some(_)) if data => both("--model", "--data"),
        (Some("mixture"), Some(_)) => both("--denoiser mixture", "--model"),
        (Some("model"), _) if data => both("--denoiser model", "--data"),
        (Some("mixture"), None) => Ok(None),
        (None, None) if data => Ok(None),
        (Some("model") | None, Some(m)) => Ok(Some(Choice::Given(m.clone()))),
        (Some("model") | None, None) if args.classes.any_given() => {
            Ok(Some(Choice::Embedded(EMBEDDED_DIGITS_COND)))
        }
        (Some("model") | None, None) => Ok(Some(Choice::Embedded(EMBEDDED_DIGITS))),
        (Some(other), _) => Err(Error::UnknownName {
            kind: "denoiser",
            name: other.into(),
            expected: "model, mixture".into(),
        }),
    }
}

/// DDIM's options given to another sampler: refused by name, not ignored.
fn ddim_options_refused(args: &SampleArgs) -> Result<()> {
    let given = [
        (args.step.eta != 0.0, "--eta"),
        (
            args.step.use_clipped_model_output,
            "--use-clipped-model-output",
        ),
        (args.step.set_alpha_to_one.is_some(), "--set-alpha-to-one"),
    ];
    match given.iter().find(|(on, _)| *on) {
        Some((_, flag)) => Err(Error::Unsupported(format!(
            "{flag} is DDIM's; --sampler {} does not take it",
            args.sampler.as_deref().unwrap_or("")
        ))),
        None => Ok(()),
    }
}

/// The model options: the command line's where given, else `base`'s (a scheduler config's, or
/// the toolkit's defaults); `var` forces the variance type (the mixture's, always fixed).
fn model_options(args: &SampleArgs, base: &Sampling, var: Option<VarType>) -> Result<ModelOptions> {
    let var_type = match var {
        Some(v) => v,
        None => args.mixture.var_type_over(base.model.var_type)?,
    };
    let model = ModelOptions {
        mean_type: match &args.mean_type {
            Some(m) => m.parse::<MeanType>()?,
            None => base.model.mean_type,
        },
        var_type,
        clip_denoised: args.clip_denoised.unwrap_or(base.model.clip_denoised),
        clip_range: args.clip_range.unwrap_or(base.model.clip_range),
    };
    model.validate()?;
    Ok(model)
}

/// The sampler (`--sampler`, else the scheduler's, with the multistep flags over it) on the
/// chain of `steps` (`--steps` or the embedded model's default, with `--spacing` and
/// `--steps-offset`, else the scheduler's spacing) or `--respace`, else every step.
fn sampler(
    args: &SampleArgs,
    (steps, default_pick): (Option<usize>, Option<&str>),
    base: &Sampling,
    tables: &Tables,
    model: ModelOptions,
) -> Result<Box<dyn Sampler>> {
    let big_t = tables.num_timesteps();
    let kind = match args.sampler.as_deref().or(default_pick) {
        None => base.sampler.clone(),
        Some(name) => sampler_pick::short_name(name, base)?,
    };
    let kind = args.solver.over(kind)?;
    let multistep = sampler_pick::is_multistep(&kind);
    let sigmas = sampler_pick::sigmas_of(&kind);
    if sigmas != SigmaSchedule::Timesteps && args.step.respace.is_some() {
        return Err(Error::Unsupported(format!(
            "--respace with {} sigmas: their timesteps follow from the sigmas and --steps",
            sigmas.name()
        )));
    }
    // The spacing of --steps, for the samplers whose x_T depends on it (Euler, LMS).
    let mut steps_spacing = None;
    let kept = match (steps, &args.step.respace) {
        (Some(_), Some(_)) => {
            return Err(Error::Unsupported(
                "give --steps (with --spacing) or --respace, not both".into(),
            ))
        }
        (_, Some(_)) => args.step.respaced(big_t)?,
        (steps, None) => {
            let spacing = match (&args.spacing, &base.spacing) {
                (Some(name), _) => Spacing::parse(name, args.step.steps_offset.unwrap_or(0))?,
                (None, Spacing::Leading { steps_offset }) => Spacing::Leading {
                    steps_offset: args.step.steps_offset.unwrap_or(*steps_offset),
                },
                (None, other) => other.clone(),
            };
            sampler_pick::check_euler_chain(&kind, &spacing, steps)?;
            steps_spacing = Some(spacing.clone());
            match (steps, &spacing) {
                (Some(n), _) if sigmas != SigmaSchedule::Timesteps => {
                    let abar = &tables.alphas_cumprod;
                    // The chain holds each timestep once; the sampler visits them from N.
                    let mut ts = crate::sampler_steps::schedule_steps(&kind, abar, n, sigmas)?;
                    ts.timesteps.dedup();
                    Some(ts.timesteps)
                }
                (Some(n), _) if multistep => Some(spacing::multistep_timesteps_upto(
                    big_t,
                    sampler_pick::clipped_last(&kind, base, tables),
                    n,
                    &spacing,
                )?),
                (None, _) if multistep => {
                    return Err(Error::Unsupported(
                        "the multistep samplers (dpm++2m, dpm++3m, dpm++2m-sde, unipc, or a \
                         DPMSolverMultistepScheduler / UniPCMultistepScheduler config) need \
                         --steps N (or --respace)"
                            .into(),
                    ))
                }
                (Some(n), _) => Some(spacing::timesteps(big_t, n, &spacing)?),
                (None, Spacing::Improved(_)) => Some(spacing::timesteps(big_t, 0, &spacing)?),
                (None, _) => None,
            }
        }
    };
    let chain = match kept {
        Some(k) => Chain::respaced(tables, &k)?,
        None => Chain::full(tables),
    };
    let kind = match &steps_spacing {
        Some(spacing) => sampler_pick::with_init(kind, spacing),
        None => kind,
    };
    let threshold = args.step.threshold_over(base.threshold)?;
    if multistep || sampler_pick::is_solver(&kind) {
        ddim_options_refused(args)?;
    }
    let models = (model, base.heun_clip);
    // Euler, LMS and Heun on linspace spacing or a sigma schedule: non-integer timesteps.
    let schedule =
        crate::sampler_steps::sigma_space_schedule(&kind, args.solver.sigma_schedule()?, base)?;
    let times = match (steps, &steps_spacing) {
        (Some(n), Some(spacing)) => {
            crate::sampler_steps::sigma_space_times(&kind, (spacing, n), tables, (schedule, base))?
        }
        _ if schedule != SigmaSchedule::Timesteps => {
            return Err(Error::Unsupported(format!(
                "{} sigmas need --steps N (not --respace)",
                schedule.name()
            )))
        }
        _ => None,
    };
    let steps = (chain.clone(), times.as_ref(), steps);
    if let Some(s) = sampler_pick::multistep(&kind, steps, models, args.clip_denoised, threshold)? {
        return Ok(s);
    }
    Ok(match kind {
        SamplerKind::Unsupported(class) => {
            return Err(Error::Unsupported(format!(
                "the scheduler is {class}, which ddpm does not sample with yet: choose \
                 --sampler {} (the config's schedule is kept)",
                sampler_pick::SAMPLERS
            )))
        }
        SamplerKind::Ddim => {
            let mut ddim = args.step.ddim()?;
            ddim.set_alpha_to_one = args
                .step
                .set_alpha_to_one
                .unwrap_or(base.ddim.set_alpha_to_one);
            Box::new(Ddim::new(chain, model, threshold, ddim)?)
        }
        _ => Box::new(Ddpm::new(chain, model, threshold)?),
    })
}
