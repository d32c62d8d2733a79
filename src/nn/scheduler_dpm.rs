//! The keys of diffusers' `DPMSolverMultistepScheduler` in a scheduler config, as written, and
//! the sampler options they give. A key whose value the toolkit does not run is refused by
//! name, never ignored; keys at diffusers' default are accepted.

use super::json::JsonObject;
use crate::error::{Error, Result};
use crate::sampler::{DpmAlgorithm, DpmSolverOptions, FinalSigma, SigmaSchedule, SolverType};

/// `DPMSolverMultistepScheduler`'s own keys (diffusers 0.42's defaults where absent).
#[derive(Clone, Debug, PartialEq)]
pub struct DpmKeys {
    /// "dpmsolver++" (default), "sde-dpmsolver++", "dpmsolver", "sde-dpmsolver".
    pub algorithm_type: String,
    /// 2.
    pub solver_order: i64,
    /// "midpoint" (default) or "heun".
    pub solver_type: String,
    /// true.
    pub lower_order_final: bool,
    /// false.
    pub euler_at_final: bool,
    /// "zero" (default) or "sigma_min".
    pub final_sigmas_type: String,
    /// The sigma schedules other than the training table's, each false by default:
    /// use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas, use_lu_lambdas,
    /// use_flow_sigmas.
    pub other_sigmas: Vec<(&'static str, bool)>,
    /// -inf: no clipping. The caller spaces the timesteps over [0, last) with it
    /// (`sampler::lambda_clipped_last`, `spacing::multistep_timesteps_upto`).
    pub lambda_min_clipped: f64,
    /// The first key the class has but the toolkit does not build, present with a value other
    /// than diffusers' default: (key, value as written).
    pub unbuilt: Option<(String, String)>,
}

impl Default for DpmKeys {
    fn default() -> Self {
        DpmKeys {
            algorithm_type: "dpmsolver++".into(),
            solver_order: 2,
            solver_type: "midpoint".into(),
            lower_order_final: true,
            euler_at_final: false,
            final_sigmas_type: "zero".into(),
            other_sigmas: SIGMA_KEYS.iter().map(|&k| (k, false)).collect(),
            lambda_min_clipped: f64::NEG_INFINITY,
            unbuilt: None,
        }
    }
}

/// `DPMSolverMultistepScheduler`'s keys the toolkit does not build, with diffusers' defaults
/// (the flow-matching settings; the sigma schedules are in `SIGMA_KEYS`).
fn unbuilt_keys() -> [(&'static str, serde_json::Value); 3] {
    use serde_json::json;
    [
        ("use_dynamic_shifting", json!(false)),
        ("flow_shift", json!(1.0)),
        ("time_shift_type", json!("exponential")),
    ]
}

const SIGMA_KEYS: [&str; 5] = [
    "use_karras_sigmas",
    "use_exponential_sigmas",
    "use_beta_sigmas",
    "use_lu_lambdas",
    "use_flow_sigmas",
];

fn refused(key: &str, value: &str, why: &str) -> Error {
    Error::Unsupported(format!(
        "scheduler config {key} = {value}: {why} (DPMSolverMultistepScheduler)"
    ))
}

impl DpmKeys {
    /// The keys of `o`.
    pub(crate) fn read(o: &JsonObject<'_>) -> Result<Self> {
        let d = DpmKeys::default();
        let other_sigmas = read_flags(o, &SIGMA_KEYS)?;
        Ok(DpmKeys {
            algorithm_type: o.or("algorithm_type", d.algorithm_type)?,
            solver_order: o.or("solver_order", d.solver_order)?,
            solver_type: o.or("solver_type", d.solver_type)?,
            lower_order_final: o.or("lower_order_final", d.lower_order_final)?,
            euler_at_final: o.or("euler_at_final", d.euler_at_final)?,
            final_sigmas_type: o.or("final_sigmas_type", d.final_sigmas_type)?,
            other_sigmas,
            lambda_min_clipped: o.float_or("lambda_min_clipped", d.lambda_min_clipped)?,
            unbuilt: o.first_not_default(&unbuilt_keys()),
        })
    }

    /// The sampler options these keys say, or an error naming the first key whose value the
    /// toolkit does not run.
    pub fn options(&self) -> Result<DpmSolverOptions> {
        let algorithm = match self.algorithm_type.as_str() {
            // diffusers runs "deis" as dpmsolver++ (DPMSolverMultistepScheduler.__init__).
            "dpmsolver++" | "deis" => DpmAlgorithm::DpmSolverPlusPlus,
            "sde-dpmsolver++" => DpmAlgorithm::SdeDpmSolverPlusPlus,
            "dpmsolver" => DpmAlgorithm::DpmSolver,
            "sde-dpmsolver" => DpmAlgorithm::SdeDpmSolver,
            other => {
                return Err(refused(
                    "algorithm_type",
                    other,
                    "expected dpmsolver++, sde-dpmsolver++, dpmsolver or sde-dpmsolver",
                ))
            }
        };
        let order = match self.solver_order {
            1..=3 => self.solver_order as usize,
            n => {
                return Err(refused(
                    "solver_order",
                    &n.to_string(),
                    "orders 1 to 3 are built (diffusers silently runs 3 for 4 and above)",
                ))
            }
        };
        let solver_type = match self.solver_type.as_str() {
            // diffusers runs UniPC's and DEIS's names as midpoint.
            "midpoint" | "logrho" | "bh1" | "bh2" => SolverType::Midpoint,
            "heun" => SolverType::Heun,
            other => return Err(refused("solver_type", other, "expected midpoint or heun")),
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
        let sigmas = sigma_schedule(&self.other_sigmas, "DPMSolverMultistepScheduler")?;
        if let Some((key, value)) = &self.unbuilt {
            return Err(refused(key, value, "only diffusers' default is built"));
        }
        if self.lambda_min_clipped.is_nan() {
            // diffusers' searchsorted puts NaN past every lambda: no timestep is left.
            return Err(refused(
                "lambda_min_clipped",
                "NaN",
                "a number or -Infinity (the default) is expected",
            ));
        }
        Ok(DpmSolverOptions {
            algorithm,
            order,
            solver_type,
            lower_order_final: self.lower_order_final,
            euler_at_final: self.euler_at_final,
            final_sigma,
            sigmas,
            truncate_timesteps: false,
        })
    }
}

/// The sigma-schedule keys UniPC, Euler, Heun and LMS share (DPM-Solver adds lu and flow).
pub(crate) const SPACED_SIGMA_KEYS: [&str; 3] = [
    "use_karras_sigmas",
    "use_exponential_sigmas",
    "use_beta_sigmas",
];

/// The boolean `keys` of `o`, false where absent, as (key, value).
pub(crate) fn read_flags(
    o: &JsonObject<'_>,
    keys: &[&'static str],
) -> Result<Vec<(&'static str, bool)>> {
    keys.iter().map(|&k| Ok((k, o.or(k, false)?))).collect()
}

/// The sigma schedule that the `use_*` keys (key, value) select: the one set, the training
/// table's if none is; two or more set are refused as diffusers refuses them, and flow
/// sigmas (flow-matching models) are not built.
pub(crate) fn sigma_schedule(keys: &[(&str, bool)], class: &str) -> Result<SigmaSchedule> {
    let on: Vec<&str> = keys.iter().filter(|(_, v)| *v).map(|(k, _)| *k).collect();
    let kind = match on.as_slice() {
        [] => return Ok(SigmaSchedule::Timesteps),
        [one] => *one,
        more => {
            return Err(Error::Unsupported(format!(
                "scheduler config sets {}: only one sigma schedule can be used ({class})",
                more.join(" and ")
            )))
        }
    };
    [
        SigmaSchedule::Karras,
        SigmaSchedule::Exponential,
        SigmaSchedule::Beta,
        SigmaSchedule::Lu,
    ]
    .into_iter()
    .find(|s| s.key() == Some(kind))
    .ok_or_else(|| {
        Error::Unsupported(format!(
            "scheduler config {kind} = true: flow-matching sigmas are not built ({class})"
        ))
    })
}
