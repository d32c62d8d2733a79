//! A model folder's scheduler config as the toolkit's schedule and sampler options, so that a
//! model samples with the settings it was trained with (`ddpm sample --model`).

use super::scheduler_config::SchedulerConfig;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions, VarType};
use crate::sampler::{DdimOptions, Threshold};
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
            Some("DPMSolverMultistepScheduler") => SamplerKind::DpmSolver(self.dpm.options()?),
            Some("UniPCMultistepScheduler") => SamplerKind::UniPc(self.unipc.options()?),
            Some(other) => SamplerKind::Unsupported(other.to_string()),
        };
        // diffusers' DPM-Solver and UniPC have no clip_sample: x_0 is never clipped there.
        let model = match sampler {
            SamplerKind::DpmSolver(_) | SamplerKind::UniPc(_) => ModelOptions {
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffusers_defaults_are_the_papers_settings() {
        let s = SchedulerConfig::default().sampling().unwrap();
        assert_eq!(
            s.tables,
            Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
        );
        assert_eq!(s.model.mean_type, MeanType::Eps);
        assert_eq!(s.model.var_type, VarType::FixedSmall);
        assert!(s.model.clip_denoised);
        assert_eq!(s.spacing, Spacing::Leading { steps_offset: 0 });
        assert_eq!(s.sampler, SamplerKind::Ddpm);
        assert!(s.threshold.is_none());
    }

    #[test]
    fn every_key_maps_and_unknown_values_are_named() {
        let cfg = SchedulerConfig {
            class_name: Some("DDIMScheduler".into()),
            beta_schedule: "squaredcos_cap_v2".into(),
            prediction_type: "v_prediction".into(),
            variance_type: "learned_range".into(),
            timestep_spacing: "trailing".into(),
            thresholding: true,
            rescale_betas_zero_snr: true,
            clip_sample_range: 2.0,
            set_alpha_to_one: false,
            ..SchedulerConfig::default()
        };
        let s = cfg.sampling().unwrap();
        assert_eq!(s.sampler, SamplerKind::Ddim);
        assert_eq!(s.model.mean_type, MeanType::V);
        assert_eq!(s.model.var_type, VarType::LearnedRange);
        assert_eq!(s.model.clip_range, 2.0);
        assert_eq!(s.spacing, Spacing::Trailing);
        assert_eq!(s.tables.alphas_cumprod[999], 0.0);
        assert!(!s.ddim.set_alpha_to_one);
        assert_eq!(s.threshold, Some(Threshold::DEFAULT));
        for (key, bad) in [
            (
                "beta_schedule",
                SchedulerConfig {
                    beta_schedule: "laplace".into(),
                    ..Default::default()
                },
            ),
            (
                "variance_type",
                SchedulerConfig {
                    variance_type: "fixed_large_log".into(),
                    ..Default::default()
                },
            ),
            (
                "prediction_type",
                SchedulerConfig {
                    prediction_type: "flow".into(),
                    ..Default::default()
                },
            ),
            (
                "timestep_spacing",
                SchedulerConfig {
                    timestep_spacing: "karras".into(),
                    ..Default::default()
                },
            ),
            (
                "steps_offset",
                SchedulerConfig {
                    steps_offset: -1,
                    ..Default::default()
                },
            ),
        ] {
            let e = bad.sampling().unwrap_err().to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn a_dpm_solver_config_gives_its_options_and_refuses_what_is_not_built() {
        use crate::sampler::{DpmAlgorithm, DpmSolverOptions, SolverType};
        let dpm = |keys: crate::nn::scheduler_dpm::DpmKeys| SchedulerConfig {
            class_name: Some("DPMSolverMultistepScheduler".into()),
            dpm: keys,
            ..SchedulerConfig::default()
        };
        let mut keys = crate::nn::scheduler_dpm::DpmKeys {
            algorithm_type: "sde-dpmsolver++".into(),
            solver_type: "heun".into(),
            ..Default::default()
        };
        let s = dpm(keys.clone()).sampling().unwrap();
        assert_eq!(
            s.sampler,
            SamplerKind::DpmSolver(DpmSolverOptions {
                algorithm: DpmAlgorithm::SdeDpmSolverPlusPlus,
                solver_type: SolverType::Heun,
                ..DpmSolverOptions::default()
            })
        );
        // DPM-Solver has no clip_sample.
        assert!(!s.model.clip_denoised);
        keys.other_sigmas[0].1 = true;
        let e = dpm(keys).sampling().unwrap_err().to_string();
        assert!(e.contains("use_karras_sigmas"), "{e}");
        for (key, keys) in [
            (
                "solver_order",
                crate::nn::scheduler_dpm::DpmKeys {
                    solver_order: 4,
                    ..Default::default()
                },
            ),
            (
                "algorithm_type",
                crate::nn::scheduler_dpm::DpmKeys {
                    algorithm_type: "dpmsolver+++".into(),
                    ..Default::default()
                },
            ),
            (
                "flow_shift",
                crate::nn::scheduler_dpm::DpmKeys {
                    unbuilt: Some(("flow_shift".into(), "3.0".into())),
                    ..Default::default()
                },
            ),
            (
                "lambda_min_clipped",
                crate::nn::scheduler_dpm::DpmKeys {
                    lambda_min_clipped: -5.1,
                    ..Default::default()
                },
            ),
        ] {
            let e = dpm(keys).sampling().unwrap_err().to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
        let other = SchedulerConfig {
            class_name: Some("EulerDiscreteScheduler".into()),
            ..SchedulerConfig::default()
        };
        assert_eq!(
            other.sampling().unwrap().sampler,
            SamplerKind::Unsupported("EulerDiscreteScheduler".into())
        );
    }

    #[test]
    fn a_unipc_config_gives_its_options_and_refuses_what_is_not_built() {
        use crate::sampler::{FinalSigma, UniPcOptions, UniPcVariant};
        let text = r#"{"_class_name": "UniPCMultistepScheduler", "solver_order": 3,
            "solver_type": "bh1", "predict_x0": false, "disable_corrector": [0, 2],
            "final_sigmas_type": "sigma_min", "solver_p": null, "flow_shift": 1,
            "use_karras_sigmas": false, "sigma_min": null, "lower_order_final": false}"#;
        let s = SchedulerConfig::from_json(text, "s.json")
            .unwrap()
            .sampling()
            .unwrap();
        assert_eq!(
            s.sampler,
            SamplerKind::UniPc(UniPcOptions {
                order: 3,
                variant: UniPcVariant::Bh1,
                predict_x0: false,
                lower_order_final: false,
                disable_corrector: vec![0, 2],
                final_sigma: FinalSigma::SigmaMin,
            })
        );
        assert!(!s.model.clip_denoised);
        for (bad, key) in [
            (r#""solver_p": {"a": 1}"#, "solver_p"),
            (r#""use_beta_sigmas": true"#, "use_beta_sigmas"),
            (r#""sigma_max": 80.0"#, "sigma_max"),
            (r#""solver_order": 4"#, "solver_order"),
            (r#""solver_type": "bh3""#, "solver_type"),
            (r#""disable_corrector": [-1]"#, "disable_corrector"),
        ] {
            let text = format!(r#"{{"_class_name": "UniPCMultistepScheduler", {bad}}}"#);
            let e = SchedulerConfig::from_json(&text, "s.json")
                .unwrap()
                .sampling()
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }
}
