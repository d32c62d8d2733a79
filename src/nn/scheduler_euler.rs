//! The keys of diffusers' `EulerDiscreteScheduler` in a scheduler config, as written, and the
//! sampler options they give (`EulerAncestralDiscreteScheduler` has none of its own). A key
//! whose value the toolkit does not run is refused by name, never ignored; keys at diffusers'
//! default are accepted.

use super::json::JsonObject;
use super::scheduler_dpm::{read_flags, SPACED_SIGMA_KEYS};
use crate::error::{Error, Result};
use crate::sampler::{
    EulerOptions, FinalSigma, HeunOptions, LmsOptions, SigmaBounds, SigmaSchedule,
};

/// `EulerDiscreteScheduler`'s own keys (diffusers 0.42's defaults where absent).
#[derive(Clone, Debug, PartialEq)]
pub struct EulerKeys {
    /// "linear" (default): sigma interpolated at the timesteps.
    pub interpolation_type: String,
    /// "discrete" (default) or "continuous" (0.25 log sigma timesteps for v-prediction).
    pub timestep_type: String,
    /// "zero" (default) or "sigma_min".
    pub final_sigmas_type: String,
    /// use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas (false by default; Euler,
    /// Heun and LMS share them).
    pub other_sigmas: Vec<(&'static str, bool)>,
    /// sigma_min and sigma_max (null by default): the ends of those schedules (Euler's only:
    /// Heun's and LMS's classes have no such keys).
    pub bounds: SigmaBounds,
}

impl Default for EulerKeys {
    fn default() -> Self {
        EulerKeys {
            interpolation_type: "linear".into(),
            timestep_type: "discrete".into(),
            final_sigmas_type: "zero".into(),
            other_sigmas: SPACED_SIGMA_KEYS.iter().map(|&k| (k, false)).collect(),
            bounds: SigmaBounds::default(),
        }
    }
}

/// The `sigma_min` / `sigma_max` keys of a config (null or absent: the schedule's own ends).
pub(crate) fn read_bounds(o: &JsonObject<'_>) -> Result<SigmaBounds> {
    Ok(SigmaBounds {
        min: o.get::<Option<f64>>("sigma_min")?.flatten(),
        max: o.get::<Option<f64>>("sigma_max")?.flatten(),
    })
}

/// `bounds`, or an error naming `class` where one is not finite and positive or min >= max.
pub(crate) fn check_bounds(bounds: SigmaBounds, class: &str) -> Result<SigmaBounds> {
    match bounds.apply(f64::MIN_POSITIVE, f64::MAX) {
        Ok(_) => Ok(bounds),
        Err(e) => Err(Error::Unsupported(format!(
            "scheduler config {e} ({class})"
        ))),
    }
}

fn refused(key: &str, value: &str, why: &str) -> Error {
    Error::Unsupported(format!(
        "scheduler config {key} = {value}: {why} (EulerDiscreteScheduler)"
    ))
}

impl EulerKeys {
    /// The keys of `o`.
    pub(crate) fn read(o: &JsonObject<'_>) -> Result<Self> {
        let d = EulerKeys::default();
        Ok(EulerKeys {
            interpolation_type: o.or("interpolation_type", d.interpolation_type)?,
            timestep_type: o.or("timestep_type", d.timestep_type)?,
            final_sigmas_type: o.or("final_sigmas_type", d.final_sigmas_type)?,
            other_sigmas: read_flags(o, &SPACED_SIGMA_KEYS)?,
            bounds: read_bounds(o)?,
        })
    }

    /// LMS's options (`LMSDiscreteScheduler` shares Euler's sigma keys; its order is its
    /// `step`'s argument, 4 in the pipelines), or an error naming a sigma key the toolkit does
    /// not run.
    pub fn lms_options(&self) -> Result<LmsOptions> {
        // LMS has no sigma_min / sigma_max keys: from_config drops them.
        self.sigmas("LMSDiscreteScheduler")?;
        Ok(LmsOptions::default())
    }

    /// Heun's options (`HeunDiscreteScheduler` shares Euler's use_*_sigmas keys; its clip_sample
    /// is the model's clipping), or an error naming a sigma key the toolkit does not run.
    pub fn heun_options(&self) -> Result<HeunOptions> {
        // Heun has no sigma_min / sigma_max keys: from_config drops them.
        self.sigmas("HeunDiscreteScheduler")?;
        Ok(HeunOptions::default())
    }

    /// The sigma schedule the use_*_sigmas keys select, for `class` (two at once refused as
    /// diffusers refuses them).
    pub fn sigmas(&self, class: &str) -> Result<SigmaSchedule> {
        super::scheduler_dpm::sigma_schedule(&self.other_sigmas, class)
    }

    /// Euler's options (Euler ancestral's where `ancestral`: diffusers' class has none of these
    /// keys, so `from_config` drops them), or an error naming the first key whose value the
    /// toolkit does not run. `v_prediction` says whether the model predicts v (a continuous
    /// timestep type then calls it at 0.25 log sigma).
    pub fn options(&self, ancestral: bool, v_prediction: bool) -> Result<EulerOptions> {
        if ancestral {
            return Ok(EulerOptions {
                ancestral: true,
                ..EulerOptions::default()
            });
        }
        self.sigmas("EulerDiscreteScheduler")?;
        check_bounds(self.bounds, "EulerDiscreteScheduler")?;
        if self.interpolation_type != "linear" {
            return Err(refused(
                "interpolation_type",
                &self.interpolation_type,
                "only linear is built",
            ));
        }
        // Continuous timesteps (0.25 ln sigma) apply to v-prediction models only; diffusers
        // ignores the key otherwise.
        let continuous = match (self.timestep_type.as_str(), v_prediction) {
            ("discrete", _) | ("continuous", false) => false,
            ("continuous", true) => true,
            (other, _) => {
                return Err(refused(
                    "timestep_type",
                    other,
                    "expected discrete or continuous",
                ))
            }
        };
        let final_sigma = match self.final_sigmas_type.as_str() {
            "zero" => FinalSigma::Zero,
            "sigma_min" => FinalSigma::SigmaMin,
            other => {
                return Err(refused(
                    "final_sigmas_type",
                    other,
                    "expected zero or sigma_min",
                ))
            }
        };
        Ok(EulerOptions {
            final_sigma,
            continuous,
            ..EulerOptions::default()
        })
    }
}
