//! A model folder's scheduler config as the toolkit's schedule and sampler options, so that a
//! model samples with the settings it was trained with (`ddpm sample --model`).

use super::scheduler_config::SchedulerConfig;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions, VarType};
use crate::sampler::{DdimOptions, DpmSolverOptions, Threshold};
use crate::schedule::{beta_schedule, rescale_zero_terminal_snr, ScheduleKind, Tables};
use crate::spacing::Spacing;

/// The sampler a scheduler config names.
#[derive(Clone, Debug, PartialEq)]
pub enum SamplerKind {
    /// `DDPMScheduler` (and any config without a class name).
    Ddpm,
    /// `DDIMScheduler`.
    Ddim,
    /// `DPMSolverMultistepScheduler`, with the options its keys give.
    DpmSolver(crate::sampler::DpmSolverOptions),
    /// `UniPCMultistepScheduler`, with the options its keys give.
    UniPc(crate::sampler::UniPcOptions),
    /// `EulerDiscreteScheduler` or `EulerAncestralDiscreteScheduler`.
    Euler(crate::sampler::EulerOptions),
    /// `LMSDiscreteScheduler`.
    Lms(crate::sampler::LmsOptions),
    /// `HeunDiscreteScheduler` (its clip_sample is the model's clipping).
    Heun(crate::sampler::HeunOptions),
    /// `PNDMScheduler`.
    Pndm(crate::sampler::PndmOptions),
    /// A class the toolkit does not sample with (yet): its name. Sampling with the config's
    /// own sampler is refused by this name; a sampler chosen by the caller may still use the
    /// config's schedule.
    Unsupported(String),
}

/// What a scheduler config says to sample with.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampling {
    /// The training schedule's tables (T = num_train_timesteps).
    pub tables: Tables,
    /// Mean type (prediction_type), variance type (variance_type), clipping and its range.
    pub model: ModelOptions,
    /// timestep_spacing with steps_offset, for `--steps N`.
    pub spacing: Spacing,
    /// thresholding, dynamic_thresholding_ratio, sample_max_value.
    pub threshold: Option<Threshold>,
    /// set_alpha_to_one (eta comes from the caller).
    pub ddim: DdimOptions,
    /// The scheduler class's sampler.
    pub sampler: SamplerKind,
    /// The config's `DPMSolverMultistepScheduler` keys (their defaults where absent), for a
    /// DPM-Solver picked by name over a config of another class (diffusers' `from_config`).
    pub dpm_keys: crate::nn::scheduler_dpm::DpmKeys,
    /// The config's `UniPCMultistepScheduler` keys, likewise.
    pub unipc_keys: crate::nn::scheduler_unipc::UniPcKeys,
    /// The config's `EulerDiscreteScheduler` keys, likewise.
    pub euler_keys: crate::nn::scheduler_euler::EulerKeys,
    /// The config's `PNDMScheduler` keys, likewise.
    pub pndm: crate::sampler::PndmOptions,
    /// The clip_sample a HeunDiscreteScheduler made from this config has (diffusers'
    /// `from_config`): the config's, false for classes without the key.
    pub heun_clip: bool,
    /// Whether the betas are the squared-cosine schedule's (`squaredcos_cap_v2`), where
    /// DPM-Solver truncates its Karras and lu timesteps instead of rounding them
    /// ([`DpmSolverOptions::truncate_timesteps`]).
    pub cosine: bool,
}

fn unsupported(key: &str, value: &str, why: &str) -> Error {
    Error::Unsupported(format!("scheduler config {key} = \"{value}\": {why}"))
}

impl SchedulerConfig {
    /// The toolkit's settings for this config; an option the toolkit does not have is an error
    /// naming it.
    pub fn sampling(&self) -> Result<Sampling> {
        let betas = match &self.trained_betas {
            Some(b) => b.clone(),
            None => {
                let kind = match self.beta_schedule.as_str() {
                    "linear" => ScheduleKind::Linear,
                    "scaled_linear" => ScheduleKind::Quad,
                    "squaredcos_cap_v2" => ScheduleKind::Cosine,
                    "sigmoid" => ScheduleKind::Sigmoid,
                    other => {
                        return Err(unsupported(
                            "beta_schedule",
                            other,
                            "expected linear, scaled_linear, squaredcos_cap_v2 or sigmoid",
                        ))
                    }
                };
                beta_schedule(
                    kind,
                    self.beta_start,
                    self.beta_end,
                    self.num_train_timesteps,
                )?
            }
        };
        let betas = if self.rescale_betas_zero_snr {
            rescale_zero_terminal_snr(&betas)?
        } else {
            betas
        };
        let var_type = match self.variance_type.as_str() {
            // fixed_small_log scales the noise by exp(0.5 log var): the fixed_small step.
            "fixed_small" | "fixed_small_log" => VarType::FixedSmall,
            "fixed_large" => VarType::FixedLarge,
            "learned" => VarType::Learned,
            "learned_range" => VarType::LearnedRange,
            other => {
                return Err(unsupported(
                    "variance_type",
                    other,
                    "diffusers takes the square root of a log-variance there (NaN); use \
                     fixed_small, fixed_large, learned or learned_range",
                ))
            }
        };
        let mean_type = match self.prediction_type.as_str() {
            "epsilon" => MeanType::Eps,
            "sample" => MeanType::Xstart,
            "v_prediction" => MeanType::V,
            other => {
                return Err(unsupported(
                    "prediction_type",
                    other,
                    "expected epsilon, sample or v_prediction",
                ))
            }
        };
        let steps_offset = usize::try_from(self.steps_offset).map_err(|_| {
            unsupported(
                "steps_offset",
                &self.steps_offset.to_string(),
                "must be >= 0",
            )
        })?;
        let spacing = match self.timestep_spacing.as_str() {
            "leading" => Spacing::Leading { steps_offset },
            "linspace" => Spacing::Linspace,
            "trailing" => Spacing::Trailing,
            other => {
                return Err(unsupported(
                    "timestep_spacing",
                    other,
                    "expected leading, linspace or trailing",
                ))
            }
        };
        let threshold = self.thresholding.then_some(Threshold {
            ratio: self.dynamic_thresholding_ratio,
            max: self.sample_max_value,
        });
        if let Some(th) = threshold {
            th.validate()?;
        }
        let model = ModelOptions {
            mean_type,
            var_type,
            clip_denoised: self.clip_sample,
            clip_range: self.clip_sample_range,
        };
        model.validate()?;
        let sampler = match self.class_name.as_deref() {
            None | Some("DDPMScheduler") => SamplerKind::Ddpm,
            Some("DDIMScheduler") => SamplerKind::Ddim,
            Some("DPMSolverMultistepScheduler") => SamplerKind::DpmSolver(DpmSolverOptions {
                // diffusers truncates Karras and lu timesteps on the squared-cosine schedule.
                truncate_timesteps: self.beta_schedule == "squaredcos_cap_v2",
                ..self.dpm.options()?
            }),
            Some("UniPCMultistepScheduler") => SamplerKind::UniPc(self.unipc.options()?),
            Some(class @ ("EulerDiscreteScheduler" | "EulerAncestralDiscreteScheduler")) => {
                let ancestral = class == "EulerAncestralDiscreteScheduler";
                SamplerKind::Euler(self.euler.options(ancestral, mean_type == MeanType::V)?)
            }
            Some("LMSDiscreteScheduler") => SamplerKind::Lms(self.euler.lms_options()?),
            Some("HeunDiscreteScheduler") => SamplerKind::Heun(self.euler.heun_options()?),
            Some("PNDMScheduler") => SamplerKind::Pndm(self.pndm),
            Some(other) => SamplerKind::Unsupported(other.to_string()),
        };
        // diffusers' solver samplers (Heun aside) have no clip_sample: x_0 is never clipped.
        let model = match sampler {
            SamplerKind::DpmSolver(_)
            | SamplerKind::UniPc(_)
            | SamplerKind::Euler(_)
            | SamplerKind::Lms(_)
            | SamplerKind::Pndm(_) => ModelOptions {
                clip_denoised: false,
                ..model
            },
            _ => model,
        };
        Ok(Sampling {
            tables: Tables::new(betas)?,
            model,
            spacing,
            threshold,
            ddim: DdimOptions {
                set_alpha_to_one: self.set_alpha_to_one,
                ..DdimOptions::default()
            },
            sampler,
            dpm_keys: self.dpm.clone(),
            unipc_keys: self.unipc.clone(),
            euler_keys: self.euler.clone(),
            pndm: self.pndm,
            heun_clip: self.clip_sample
                && matches!(
                    self.class_name.as_deref(),
                    None | Some("DDPMScheduler" | "DDIMScheduler" | "HeunDiscreteScheduler")
                ),
            cosine: self.beta_schedule == "squaredcos_cap_v2",
        })
    }
}

#[cfg(test)]
#[path = "scheduler_map_tests.rs"]
mod tests;
