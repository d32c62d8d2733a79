//! What `ddpm sample` samples with: the denoiser (a UNet model folder, or the exact mixture of a
//! data set), the schedule, the model options and the sampler. A model folder's scheduler
//! config gives the defaults it was trained with; options given on the command line override
//! them.

use crate::sample_cmd::SampleArgs;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::mixture_denoiser::Mixture;
use ddpm_wgpu::cpu::nn::unet::UNetCpu;
use ddpm_wgpu::cpu::sample_loop::CpuDenoiser;
use ddpm_wgpu::dataset::Dataset;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::{Context, Denoiser, MixtureDenoiser, UNetDenoiser};
use ddpm_wgpu::nn::scheduler_map::{SamplerKind, Sampling};
use ddpm_wgpu::nn::{ModelFolder, UNet2D};
use ddpm_wgpu::sampler::{Ddim, Ddpm, Sampler};
use ddpm_wgpu::spacing::{self, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, Tables, VarType};

/// The denoiser and what it needs to be built on either device.
pub(crate) enum Source {
    /// The exact denoiser of the mixture of `data`'s points with spread `sigma`.
    Mixture { data: Dataset, sigma: f64 },
    /// A diffusers UNet2DModel.
    Model { unet: Box<UNet2D>, name: String },
}

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
        match &args.model {
            Some(spec) => {
                if args.mixture.has_data() {
                    return Err(Error::Unsupported(
                        "give --model or --data, not both".into(),
                    ));
                }
                let folder = ModelFolder::resolve(spec)?;
                let unet = folder.unet()?;
                let sampling = folder.scheduler.clone().unwrap_or_default().sampling()?;
                let (h, w) = unet.config.sample_size.ok_or_else(|| {
                    Error::UnsupportedModel(format!("{spec}: the config has no sample_size"))
                })?;
                unet.check_sample_size(h, w)?;
                let point_shape = vec![unet.config.in_channels, h, w];
                let model = model_options(args, &sampling, None)?;
                let tables = sampling.tables.clone();
                if let Some(ctx) = ctx {
                    ddpm_wgpu::gpu::GpuTables::check_fits(ctx, tables.num_timesteps())?;
                }
                let sampler = sampler(args, &sampling, &tables, model)?;
                Ok(Setup {
                    source: Source::Model {
                        unet: Box::new(unet),
                        name: spec.clone(),
                    },
                    tables,
                    sampler,
                    point_shape,
                })
            }
            None => {
                let sigma = args.mixture.sigma()?;
                let tables = args.schedule.tables_for(ctx)?;
                let data = args.mixture.load()?;
                let base = Sampling {
                    tables: tables.clone(),
                    model: ModelOptions::default(),
                    spacing: Spacing::Leading { steps_offset: 0 },
                    threshold: None,
                    ddim: Default::default(),
                    sampler: SamplerKind::Ddpm,
                };
                let model = model_options(args, &base, Some(args.mixture.var_type()?))?;
                let sampler = sampler(args, &base, &tables, model)?;
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

    /// The denoiser on the GPU.
    pub(crate) fn gpu_denoiser(&self, ctx: &Context) -> Result<Box<dyn Denoiser>> {
        let model = *self.sampler.model();
        Ok(match &self.source {
            Source::Mixture { data, sigma } => {
                Box::new(MixtureDenoiser::from_dataset(ctx, data, *sigma, model)?)
            }
            Source::Model { unet, .. } => {
                Box::new(UNetDenoiser::new(ctx, unet, self.tables.num_timesteps())?)
            }
        })
    }

    /// Run `f` with the denoiser's CPU twin (it borrows the chain's tables by training
    /// timestep, as the GPU loop gives them to its denoiser).
    pub(crate) fn with_cpu_denoiser<T>(
        &self,
        f: impl FnOnce(&dyn CpuDenoiser) -> Result<T>,
    ) -> Result<T> {
        let model = *self.sampler.model();
        match &self.source {
            Source::Mixture { data, sigma } => {
                let by_t = self.sampler.chain().by_timestep();
                f(&Mixture::from_dataset(&by_t, data, *sigma, model))
            }
            Source::Model { unet, .. } => {
                let (h, w) = (self.point_shape[1], self.point_shape[2]);
                f(&UNetCpu::new(unet, h, w)?)
            }
        }
    }

    /// What the samples come from, for the output line.
    pub(crate) fn describe(&self) -> String {
        match &self.source {
            Source::Mixture { data, sigma } => {
                format!("the mixture of {} points (S = {sigma})", data.len())
            }
            Source::Model { unet, name } => format!(
                "{name} ({:.1}M parameters)",
                unet.num_parameters() as f64 / 1e6
            ),
        }
    }
}

/// The model options: the command line's where given, else `base`'s (a scheduler config's, or
/// the toolkit's defaults); `var` forces the variance type (the mixture's, always fixed).
fn model_options(args: &SampleArgs, base: &Sampling, var: Option<VarType>) -> Result<ModelOptions> {
    let var_type = match var {
        Some(v) => v,
        None => args
            .mixture
            .var_type_given()?
            .unwrap_or(base.model.var_type),
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

/// The sampler (`--sampler`, else the scheduler's) on the chain of `--steps` (with `--spacing`
/// and `--steps-offset`, else the scheduler's spacing) or `--respace`, else every step.
fn sampler(
    args: &SampleArgs,
    base: &Sampling,
    tables: &Tables,
    model: ModelOptions,
) -> Result<Box<dyn Sampler>> {
    let big_t = tables.num_timesteps();
    let kept = match (args.steps, &args.step.respace) {
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
            match (steps, &spacing) {
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
    let threshold = args.step.threshold_over(base.threshold)?;
    let kind = match args.sampler.as_deref() {
        None => base.sampler,
        Some("ddpm") => SamplerKind::Ddpm,
        Some("ddim") => SamplerKind::Ddim,
        Some(other) => {
            return Err(Error::UnknownName {
                kind: "sampler",
                name: other.into(),
                expected: "ddpm, ddim".into(),
            })
        }
    };
    Ok(match kind {
        SamplerKind::Ddpm => Box::new(Ddpm::new(chain, model, threshold)?),
        SamplerKind::Ddim => {
            let mut ddim = args.step.ddim()?;
            ddim.set_alpha_to_one = args
                .step
                .set_alpha_to_one
                .unwrap_or(base.ddim.set_alpha_to_one);
            Box::new(Ddim::new(chain, model, threshold, ddim)?)
        }
    })
}
