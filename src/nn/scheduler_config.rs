//! `SchedulerConfig`: the keys of a diffusers DDPMScheduler / DDIMScheduler /
//! DPMSolverMultistepScheduler / UniPCMultistepScheduler / Euler, LMS, Heun or PNDM
//! `scheduler_config.json`, raw (strings, numbers, options) with
//! diffusers' defaults; Python's `NaN` and `-Infinity` load. Mapping
//! them to the toolkit's schedule and sampler options is the caller's job; unknown keys are
//! ignored, a key of the wrong type is an error naming it.

use super::json::JsonObject;
use super::scheduler_dpm::DpmKeys;
use super::scheduler_euler::EulerKeys;
use super::scheduler_unipc::UniPcKeys;
use crate::error::Result;
use crate::sampler::PndmOptions;

/// A scheduler config as diffusers writes it. Defaults are those of `DDPMScheduler.__init__`
/// (and `DDIMScheduler.__init__` for its own keys) in diffusers 0.42.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// `_class_name`, e.g. "DDPMScheduler"; `None` when absent.
    pub class_name: Option<String>,
    /// T (1000).
    pub num_train_timesteps: usize,
    /// First beta of the linear / scaled_linear schedules (1e-4).
    pub beta_start: f64,
    /// Last beta (0.02).
    pub beta_end: f64,
    /// "linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid" ("linear").
    pub beta_schedule: String,
    /// Explicit betas, overriding the schedule (None).
    pub trained_betas: Option<Vec<f64>>,
    /// DDPM's "fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned",
    /// "learned_range" ("fixed_small").
    pub variance_type: String,
    /// Whether x_0 is clipped (true; false for `HeunDiscreteScheduler`).
    pub clip_sample: bool,
    /// The clipping bound (1.0).
    pub clip_sample_range: f64,
    /// "epsilon", "sample", "v_prediction" ("epsilon").
    pub prediction_type: String,
    /// Added to leading-spacing timesteps (0).
    pub steps_offset: i64,
    /// "leading", "linspace", "trailing" ("leading"; "linspace" for the DPM-Solver and UniPC
    /// classes, as their `__init__` says).
    pub timestep_spacing: String,
    /// DDIM's final abar_prev = 1 (true; DDPM has no such key).
    pub set_alpha_to_one: bool,
    /// Dynamic thresholding of x_0 (false).
    pub thresholding: bool,
    /// Its quantile (0.995).
    pub dynamic_thresholding_ratio: f64,
    /// Its bound (1.0).
    pub sample_max_value: f64,
    /// Rescale betas to zero terminal SNR (false).
    pub rescale_betas_zero_snr: bool,
    /// `DPMSolverMultistepScheduler`'s own keys (their defaults where absent).
    pub dpm: DpmKeys,
    /// `UniPCMultistepScheduler`'s own keys (their defaults where absent). Both are read
    /// whatever the class: a short sampler name takes the config's keys of its class, as
    /// diffusers' `from_config` does.
    pub unipc: UniPcKeys,
    /// `PNDMScheduler`'s keys: `skip_prk_steps` (false) and `set_alpha_to_one` as written,
    /// else as the config's class has it (true for DDIMScheduler, else PNDM's false), which is
    /// what diffusers' `from_config` hands a PNDMScheduler.
    pub pndm: PndmOptions,
    /// The `EulerDiscreteScheduler` keys, likewise.
    pub euler: EulerKeys,
}

impl SchedulerConfig {
    /// Parse the text of a scheduler_config.json; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<Self> {
        let o = JsonObject::parse(text, file)?;
        let class_name: Option<String> = o.or("_class_name", None)?;
        // The multistep classes space their timesteps by linspace unless told otherwise.
        let spacing = match class_name.as_deref() {
            Some(
                "DPMSolverMultistepScheduler"
                | "UniPCMultistepScheduler"
                | "EulerDiscreteScheduler"
                | "EulerAncestralDiscreteScheduler"
                | "LMSDiscreteScheduler"
                | "HeunDiscreteScheduler",
            ) => "linspace",
            _ => "leading",
        };
        let class = class_name.clone();
        let class = class.as_deref();
        Ok(SchedulerConfig {
            class_name,
            num_train_timesteps: o.or("num_train_timesteps", 1000)?,
            beta_start: o.or("beta_start", 1e-4)?,
            beta_end: o.or("beta_end", 0.02)?,
            beta_schedule: o.or("beta_schedule", "linear".into())?,
            trained_betas: o.or("trained_betas", None)?,
            // null in the configs of the schedulers that do not use it (DPMSolverMultistep).
            variance_type: o
                .or::<Option<String>>("variance_type", None)?
                .unwrap_or_else(|| "fixed_small".into()),
            clip_sample: o.or("clip_sample", class != Some("HeunDiscreteScheduler"))?,
            clip_sample_range: o.or("clip_sample_range", 1.0)?,
            prediction_type: o.or("prediction_type", "epsilon".into())?,
            steps_offset: o.or("steps_offset", 0)?,
            timestep_spacing: o.or("timestep_spacing", spacing.into())?,
            set_alpha_to_one: o.or("set_alpha_to_one", true)?,
            thresholding: o.or("thresholding", false)?,
            dynamic_thresholding_ratio: o.or("dynamic_thresholding_ratio", 0.995)?,
            sample_max_value: o.or("sample_max_value", 1.0)?,
            rescale_betas_zero_snr: o.or("rescale_betas_zero_snr", false)?,
            dpm: DpmKeys::read(&o)?,
            unipc: UniPcKeys::read(&o)?,
            euler: EulerKeys::read(&o)?,
            pndm: PndmOptions {
                skip_prk_steps: o.or("skip_prk_steps", false)?,
                set_alpha_to_one: o.or("set_alpha_to_one", class == Some("DDIMScheduler"))?,
            },
        })
    }
}

impl Default for SchedulerConfig {
    /// diffusers' defaults, as for an empty JSON object.
    fn default() -> Self {
        SchedulerConfig {
            class_name: None,
            num_train_timesteps: 1000,
            beta_start: 1e-4,
            beta_end: 0.02,
            beta_schedule: "linear".into(),
            trained_betas: None,
            variance_type: "fixed_small".into(),
            clip_sample: true,
            clip_sample_range: 1.0,
            prediction_type: "epsilon".into(),
            steps_offset: 0,
            timestep_spacing: "leading".into(),
            set_alpha_to_one: true,
            thresholding: false,
            dynamic_thresholding_ratio: 0.995,
            sample_max_value: 1.0,
            rescale_betas_zero_snr: false,
            dpm: DpmKeys::default(),
            unipc: UniPcKeys::default(),
            euler: EulerKeys::default(),
            pndm: PndmOptions::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_gives_diffusers_defaults() {
        assert_eq!(
            SchedulerConfig::from_json("{}", "s.json").ok(),
            Some(SchedulerConfig::default())
        );
    }

    #[test]
    fn keys_are_read_and_unknown_ones_ignored() {
        let c = SchedulerConfig::from_json(
            r#"{"_class_name": "DDIMScheduler", "beta_schedule": "squaredcos_cap_v2",
                "trained_betas": [0.1, 0.2], "set_alpha_to_one": false, "steps_offset": 1,
                "clip_sample": false, "something_new": [1, 2]}"#,
            "s.json",
        );
        let c = c.ok();
        assert_eq!(
            c.as_ref().and_then(|c| c.class_name.clone()).as_deref(),
            Some("DDIMScheduler")
        );
        assert_eq!(
            c.as_ref().and_then(|c| c.trained_betas.clone()),
            Some(vec![0.1, 0.2])
        );
        assert_eq!(
            c.as_ref()
                .map(|c| (c.set_alpha_to_one, c.steps_offset, c.clip_sample)),
            Some((false, 1, false))
        );
    }

    #[test]
    fn a_dpm_solver_config_as_diffusers_saves_it_loads() {
        // As `save_config` writes it: Python's -Infinity, null variance_type, a NaN elsewhere.
        let c = SchedulerConfig::from_json(
            r#"{"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "sde-dpmsolver++",
                "lambda_min_clipped": -Infinity, "variance_type": null, "solver_type": "heun",
                "use_karras_sigmas": false, "something": NaN, "note": "NaN and -Infinity"}"#,
            "s.json",
        )
        .unwrap();
        assert_eq!(c.dpm.lambda_min_clipped, f64::NEG_INFINITY);
        assert_eq!(c.dpm.algorithm_type, "sde-dpmsolver++");
        assert_eq!(c.dpm.solver_type, "heun");
        assert_eq!(c.variance_type, "fixed_small");
        // A number key holding a non-finite value is named.
        let e = SchedulerConfig::from_json(r#"{"beta_end": NaN}"#, "s.json").unwrap_err();
        assert!(e.to_string().contains("beta_end"), "{e}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let e = SchedulerConfig::from_json(r#"{"num_train_timesteps": "many"}"#, "s.json");
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("s.json") && msg.contains("num_train_timesteps"),
            "{msg}"
        );
    }
}
