//! Model parameterisation options of `GaussianDiffusion2`, each parsed from its CLI name.

/// Declares a fieldless enum with a CLI name per variant, `ALL`, `name()`, `Display`, `FromStr`.
macro_rules! named_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident ($kind:literal) {
        $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)?
    }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The variant's CLI name.
            pub fn name(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    $crate::error::Error::UnknownName {
                        kind: $kind,
                        name: s.to_string(),
                        expected: $name::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", "),
                    }
                })
            }
        }
    };
}
pub(crate) use named_enum;

named_enum! {
    /// What the model's main output predicts (`model_mean_type`).
    pub enum MeanType ("mean type") {
        /// The noise eps that produced x_t.
        Eps = "eps",
        /// x_0 directly.
        Xstart = "xstart",
        /// The posterior mean x_{t-1}.
        Xprev = "xprev",
        /// diffusers' `v_prediction`: v = sqrt(abar) eps - sqrt(1 - abar) x_0, so that
        /// x_0 = sqrt(abar) x_t - sqrt(1 - abar) v and eps = sqrt(abar) v + sqrt(1 - abar) x_t.
        V = "v",
    }
}

named_enum! {
    /// How the reverse-step variance is chosen (`model_var_type`).
    pub enum VarType ("variance type") {
        /// The posterior variance (beta tilde), log clipped at t = 0.
        FixedSmall = "fixedsmall",
        /// beta_t, with log-variance log(pv_1) at t = 0.
        FixedLarge = "fixedlarge",
        /// The model outputs the log-variance (`model_var`).
        Learned = "learned",
        /// improved-diffusion: the model outputs v in [-1, 1] interpolating log beta tilde .. log beta.
        LearnedRange = "learned-range",
    }
}

impl VarType {
    /// Whether the model supplies a `model_var` tensor.
    pub fn is_learned(self) -> bool {
        matches!(self, VarType::Learned | VarType::LearnedRange)
    }
}

named_enum! {
    /// The training objective (`loss_type`).
    pub enum LossType ("loss type") {
        /// Unweighted mean squared error against the mean type's target.
        Mse = "mse",
        /// The variational bound term in bits/dim.
        Kl = "kl",
    }
}

/// The diffusion model's parameterisation: everything but the schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelOptions {
    /// What `model_output` predicts.
    pub mean_type: MeanType,
    /// How the variance is chosen.
    pub var_type: VarType,
    /// Clip the predicted x_0 to [-clip_range, clip_range] before forming the mean.
    pub clip_denoised: bool,
    /// R of the clip (diffusers' `clip_sample_range`): 1 in the original, where data lie in
    /// [-1, 1]. Must be finite and positive.
    pub clip_range: f64,
}

impl ModelOptions {
    /// Reject options no kernel can run: a clip range that is not finite and positive.
    pub fn validate(&self) -> crate::Result<()> {
        if !(self.clip_range.is_finite() && self.clip_range > 0.0) {
            return Err(crate::Error::Unsupported(format!(
                "the clip range must be finite and > 0, got {}",
                self.clip_range
            )));
        }
        Ok(())
    }
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            mean_type: MeanType::Eps,
            var_type: VarType::FixedLarge,
            clip_denoised: true,
            clip_range: 1.0,
        }
    }
}
