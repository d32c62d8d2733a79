//! Classifier-free guidance's settings (Ho and Salimans 2022), as diffusers' pipelines take
//! them: the scale w of out_uncond + w (out_cond - out_uncond) and the optional rescale phi of
//! `rescale_noise_cfg` (Lin et al. 2023). The combination: `gpu::nn::guidance` (twin
//! `cpu::nn::guidance`).

use crate::error::{Error, Result};

/// The guidance scale w and the rescale phi (`None`: no rescale).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Guidance {
    /// diffusers' `guidance_scale`: 1 runs the conditional pass alone, 0 the unconditional one.
    pub scale: f64,
    /// diffusers' `guidance_rescale`, if any.
    pub rescale: Option<f64>,
}

impl Guidance {
    /// Refuse a scale that is not finite and non-negative, and a rescale outside [0, 1].
    pub fn validate(&self) -> Result<()> {
        if !(self.scale.is_finite() && self.scale >= 0.0) {
            return Err(Error::Unsupported(format!(
                "guidance scale {}: a finite number >= 0",
                self.scale
            )));
        }
        if let Some(phi) = self.rescale.filter(|phi| !(0.0..=1.0).contains(phi)) {
            return Err(Error::Unsupported(format!(
                "guidance rescale {phi}: in [0, 1]"
            )));
        }
        Ok(())
    }

    /// Whether it combines two passes (w is neither 0 nor 1).
    pub fn combines(&self) -> bool {
        self.scale != 0.0 && self.scale != 1.0
    }
}
