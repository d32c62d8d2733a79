//! DPM-Solver's options as diffusers' `DPMSolverMultistepScheduler` names them
//! ([`DpmSolver`](super::DpmSolver) runs them): `algorithm_type`, `solver_order`,
//! `solver_type`, the final-step keys and the sigma schedule.

use super::multistep;
use super::{FinalSigma, SigmaBounds, SigmaSchedule};

/// diffusers' `algorithm_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpmAlgorithm {
    /// `dpmsolver++`: the ODE solver on data predictions.
    DpmSolverPlusPlus,
    /// `sde-dpmsolver++`: its SDE form, a normal drawn every step.
    SdeDpmSolverPlusPlus,
    /// `dpmsolver`: the ODE solver on noise predictions (deprecated in diffusers).
    DpmSolver,
    /// `sde-dpmsolver`: its SDE form (deprecated in diffusers; orders 1 and 2 only there).
    SdeDpmSolver,
}

impl DpmAlgorithm {
    /// Whether it draws a normal every step.
    pub fn is_sde(self) -> bool {
        matches!(self, Self::SdeDpmSolverPlusPlus | Self::SdeDpmSolver)
    }

    /// Whether it works on data predictions (the ++ forms) rather than noise predictions.
    pub fn on_data(self) -> bool {
        matches!(self, Self::DpmSolverPlusPlus | Self::SdeDpmSolverPlusPlus)
    }

    /// Its `algorithm_type` value in diffusers' configs.
    pub fn key(self) -> &'static str {
        match self {
            Self::DpmSolverPlusPlus => "dpmsolver++",
            Self::SdeDpmSolverPlusPlus => "sde-dpmsolver++",
            Self::DpmSolver => "dpmsolver",
            Self::SdeDpmSolver => "sde-dpmsolver",
        }
    }
}

/// diffusers' `solver_type`: how the second-order term is formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SolverType {
    /// `midpoint` (diffusers' default).
    Midpoint,
    /// `heun`.
    Heun,
}

/// DPM-Solver's options besides the model's, with diffusers' defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmSolverOptions {
    /// `algorithm_type` (dpmsolver++).
    pub algorithm: DpmAlgorithm,
    /// `solver_order`, 1 to 3 (2).
    pub order: usize,
    /// `solver_type` (midpoint).
    pub solver_type: SolverType,
    /// `lower_order_final` (true): first order at the last step when there are fewer than 15.
    pub lower_order_final: bool,
    /// `euler_at_final` (false): first order at the last step at any count.
    pub euler_at_final: bool,
    /// `final_sigmas_type` (zero).
    pub final_sigma: FinalSigma,
    /// The sigmas it steps through (`use_karras_sigmas`...; the training table's by default).
    pub sigmas: SigmaSchedule,
    /// Truncate the Karras and lu timesteps instead of rounding them, as diffusers' class does
    /// on the squared-cosine schedule (`squaredcos_cap_v2`); false.
    pub truncate_timesteps: bool,
}

impl Default for DpmSolverOptions {
    fn default() -> Self {
        DpmSolverOptions {
            algorithm: DpmAlgorithm::DpmSolverPlusPlus,
            order: 2,
            solver_type: SolverType::Midpoint,
            lower_order_final: true,
            euler_at_final: false,
            final_sigma: FinalSigma::Zero,
            sigmas: SigmaSchedule::Timesteps,
            truncate_timesteps: false,
        }
    }
}

impl DpmSolverOptions {
    /// Its sigma schedule as the visits take it (diffusers' class has no sigma bounds).
    pub(crate) fn schedule(&self) -> multistep::Schedule {
        multistep::Schedule {
            kind: self.sigmas,
            truncate: self.truncate_timesteps,
            bounds: SigmaBounds::default(),
        }
    }
}
