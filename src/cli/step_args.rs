//! The sampler arguments `ddpm op` (the stepping ops) and `ddpm sample` share: respacing, DDIM's
//! options, dynamic thresholding.

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::sampler::{DdimOptions, Threshold};
use ddpm_wgpu::spacing;

#[derive(clap::Args)]
pub struct StepArgs {
    /// Respace the chain: leading:N, linspace:N, trailing:N (diffusers' spacings of N of T
    /// steps) or improved:SPEC (improved-diffusion's ddimN or section counts a,b,c).
    #[arg(long, value_name = "SPEC")]
    pub respace: Option<String>,
    /// diffusers' steps_offset, added to leading spacing's steps (0; a model's scheduler config
    /// sets its own).
    #[arg(long, value_name = "K")]
    pub steps_offset: Option<usize>,
    /// DDIM's eta: 0 deterministic, 1 the posterior's variance on the chain.
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    pub eta: f64,
    /// DDIM: with clipping or thresholding, re-derive eps from the processed x_0.
    #[arg(long, value_name = "true|false", default_value_t = false, action = clap::ArgAction::Set)]
    pub use_clipped_model_output: bool,
    /// DDIM: abar before the first training step is 1 (true, the default) or abar_0 (false).
    #[arg(long, value_name = "true|false")]
    pub set_alpha_to_one: Option<bool>,
    /// Dynamic thresholding of pred_xstart (diffusers' thresholding): per sample
    /// s = clamp(quantile(|x_0|, ratio), 1, max), x_0 = clamp(x_0, -s, s) / s.
    #[arg(long)]
    pub thresholding: bool,
    /// The quantile of the threshold (0.995).
    #[arg(long, value_name = "F")]
    pub threshold_ratio: Option<f64>,
    /// The largest threshold (diffusers' sample_max_value; 1).
    #[arg(long, value_name = "F")]
    pub sample_max: Option<f64>,
}

impl StepArgs {
    /// The kept steps of `--respace` over T training steps, ascending; `None` without it.
    pub fn respaced(&self, num_timesteps: usize) -> Result<Option<Vec<usize>>> {
        self.respace
            .as_deref()
            .map(|spec| {
                let (spacing, n) = spacing::parse_respace(spec, self.steps_offset.unwrap_or(0))?;
                let mut kept = spacing::timesteps(num_timesteps, n, &spacing)?;
                kept.reverse();
                Ok(kept)
            })
            .transpose()
    }

    /// DDIM's options.
    pub fn ddim(&self) -> Result<DdimOptions> {
        if !(self.eta.is_finite() && (0.0..=1.0).contains(&self.eta)) {
            return Err(Error::Unsupported(format!(
                "--eta must be in [0, 1], got {}",
                self.eta
            )));
        }
        Ok(DdimOptions {
            eta: self.eta,
            set_alpha_to_one: self.set_alpha_to_one.unwrap_or(true),
            use_clipped_model_output: self.use_clipped_model_output,
        })
    }

    /// The threshold of `--thresholding`, validated; `base` (a model's scheduler config) where
    /// the flag is not given, its ratio and max overridden by theirs where given.
    pub fn threshold_over(&self, base: Option<Threshold>) -> Result<Option<Threshold>> {
        let on = match (self.thresholding, base) {
            (true, b) => Some(b.unwrap_or(Threshold::DEFAULT)),
            (false, b) => b,
        };
        let Some(th) = on else {
            return Ok(None);
        };
        let th = Threshold {
            ratio: self.threshold_ratio.unwrap_or(th.ratio),
            max: self.sample_max.unwrap_or(th.max),
        };
        th.validate()?;
        Ok(Some(th))
    }

    /// The threshold of `--thresholding`, validated.
    pub fn threshold(&self) -> Result<Option<Threshold>> {
        self.threshold_over(None)
    }
}
