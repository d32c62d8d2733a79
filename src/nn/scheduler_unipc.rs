//! The keys of diffusers' `UniPCMultistepScheduler` in a scheduler config, as written, and the
//! sampler options they give. A key whose value the toolkit does not run is refused by name,
//! never ignored; keys at diffusers' default are accepted.

use super::json::JsonObject;
use super::scheduler_dpm::{read_flags, SPACED_SIGMA_KEYS};
use crate::error::{Error, Result};
use crate::sampler::{FinalSigma, SigmaBounds, UniPcOptions, UniPcVariant};

/// `UniPCMultistepScheduler`'s own keys (diffusers 0.42's defaults where absent).
#[derive(Clone, Debug, PartialEq)]
pub struct UniPcKeys {
    /// 2.
    pub solver_order: i64,
    /// "bh2" (default) or "bh1".
    pub solver_type: String,
    /// true.
    pub predict_x0: bool,
    /// true.
    pub lower_order_final: bool,
    /// [].
    pub disable_corrector: Vec<i64>,
    /// "zero" (default) or "sigma_min".
    pub final_sigmas_type: String,
    /// use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas, each false by default.
    pub other_sigmas: Vec<(&'static str, bool)>,
    /// sigma_min and sigma_max (null by default): the ends of those schedules.
    pub bounds: SigmaBounds,
    /// The first key the class has but the toolkit does not build, present with a value other
    /// than diffusers' default: (key, value as written).
    pub unbuilt: Option<(String, String)>,
}

impl Default for UniPcKeys {
    fn default() -> Self {
        UniPcKeys {
            solver_order: 2,
            solver_type: "bh2".into(),
            predict_x0: true,
            lower_order_final: true,
            disable_corrector: Vec::new(),
            final_sigmas_type: "zero".into(),
            other_sigmas: SPACED_SIGMA_KEYS.iter().map(|&k| (k, false)).collect(),
            bounds: SigmaBounds::default(),
            unbuilt: None,
        }
    }
}

/// The keys the toolkit does not build, with diffusers' defaults: another scheduler as the
/// predictor and the flow-matching settings.
fn unbuilt_keys() -> [(&'static str, serde_json::Value); 6] {
    use serde_json::json;
    [
        ("solver_p", json!(null)),
        ("use_flow_sigmas", json!(false)),
        ("flow_shift", json!(1.0)),
        ("use_dynamic_shifting", json!(false)),
        ("time_shift_type", json!("exponential")),
        ("shift_terminal", json!(null)),
    ]
}

fn refused(key: &str, value: &str, why: &str) -> Error {
    Error::Unsupported(format!(
        "scheduler config {key} = {value}: {why} (UniPCMultistepScheduler)"
    ))
}

impl UniPcKeys {
    /// The keys of `o`.
    pub(crate) fn read(o: &JsonObject<'_>) -> Result<Self> {
        let d = UniPcKeys::default();
        Ok(UniPcKeys {
            solver_order: o.or("solver_order", d.solver_order)?,
            solver_type: o.or("solver_type", d.solver_type)?,
            predict_x0: o.or("predict_x0", d.predict_x0)?,
            lower_order_final: o.or("lower_order_final", d.lower_order_final)?,
            disable_corrector: o.or("disable_corrector", d.disable_corrector)?,
            final_sigmas_type: o.or("final_sigmas_type", d.final_sigmas_type)?,
            other_sigmas: read_flags(o, &SPACED_SIGMA_KEYS)?,
            bounds: super::scheduler_euler::read_bounds(o)?,
            unbuilt: o.first_not_default(&unbuilt_keys()),
        })
    }

    /// The sampler options these keys say, or an error naming the first key whose value the
    /// toolkit does not run.
    pub fn options(&self) -> Result<UniPcOptions> {
        if let Some((key, value)) = &self.unbuilt {
            return Err(refused(key, value, "only diffusers' default is built"));
        }
        let order = match self.solver_order {
            1..=3 => self.solver_order as usize,
            n => {
                return Err(refused(
                    "solver_order",
                    &n.to_string(),
                    "orders 1 to 3 are built",
                ))
            }
        };
        let variant = match self.solver_type.as_str() {
            "bh1" => UniPcVariant::Bh1,
            // diffusers runs DPM-Solver's names as bh2 (UniPCMultistepScheduler.__init__).
            "bh2" | "midpoint" | "heun" | "logrho" => UniPcVariant::Bh2,
            other => return Err(refused("solver_type", other, "expected bh1 or bh2")),
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
        let disable_corrector = self
            .disable_corrector
            .iter()
            .map(|&i| usize::try_from(i))
            .collect::<std::result::Result<Vec<usize>, _>>()
            .map_err(|_| {
                refused(
                    "disable_corrector",
                    &format!("{:?}", self.disable_corrector),
                    "step indices are >= 0",
                )
            })?;
        Ok(UniPcOptions {
            order,
            variant,
            predict_x0: self.predict_x0,
            lower_order_final: self.lower_order_final,
            disable_corrector,
            final_sigma,
            sigmas: super::scheduler_dpm::sigma_schedule(
                &self.other_sigmas,
                "UniPCMultistepScheduler",
            )?,
            bounds: super::scheduler_euler::check_bounds(self.bounds, "UniPCMultistepScheduler")?,
        })
    }
}
