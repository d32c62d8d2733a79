//! The arguments `ddpm sample` and `ddpm bpd` share: the mixture denoiser's data, its spread and
//! the reverse-step variance type.

use ddpm_wgpu::dataset::{self, Dataset};
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::VarType;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct MixtureArgs {
    /// Data of the mixture denoiser: an .npy array [M, ...] in [-1, 1] or a folder of PNG/JPEG
    /// images. Default: the 30 16x16 digits the crate draws itself.
    #[arg(long, value_name = "FILE.npy|DIR")]
    data: Option<PathBuf>,
    /// Standard deviation S of each mixture component around a data point (0: the points).
    #[arg(long, default_value_t = 0.05)]
    data_sigma: f64,
    /// Reverse-step variance: fixedsmall or fixedlarge (default fixedlarge; a model's scheduler
    /// config sets its own, which this overrides).
    #[arg(long)]
    var_type: Option<String>,
    /// Size images from a folder are resized to.
    // Hyphen values allowed so that "-3x4" reaches parse_size's message, not clap's.
    #[arg(
        long,
        value_name = "WxH",
        default_value = "32x32",
        allow_hyphen_values = true
    )]
    size: String,
}

fn parse_size(s: &str) -> Result<(u32, u32)> {
    let bad = || Error::Unsupported(format!("--size '{s}' is not WxH with positive W and H"));
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    match (w.parse::<u32>(), h.parse::<u32>()) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 && w <= 4096 && h <= 4096 => Ok((w, h)),
        _ => Err(bad()),
    }
}

impl MixtureArgs {
    /// S, checked finite and >= 0.
    pub fn sigma(&self) -> Result<f64> {
        if self.data_sigma.is_finite() && self.data_sigma >= 0.0 {
            Ok(self.data_sigma)
        } else {
            Err(Error::Unsupported(format!(
                "--data-sigma must be finite and >= 0, got {}",
                self.data_sigma
            )))
        }
    }

    /// The variance type, one of the fixed ones (the mixture denoiser has no learned variance).
    pub fn var_type(&self) -> Result<VarType> {
        let v: VarType = self.var_type.as_deref().unwrap_or("fixedlarge").parse()?;
        if v.is_learned() {
            return Err(Error::Unsupported(
                "the mixture denoiser runs with fixedsmall or fixedlarge".into(),
            ));
        }
        Ok(v)
    }

    /// `--var-type` if given (any type: a model with a learned variance writes model_var),
    /// else `base`, a model's own.
    pub fn var_type_over(&self, base: VarType) -> Result<VarType> {
        Ok(match self.var_type.as_deref() {
            Some(v) => v.parse()?,
            None => base,
        })
    }

    /// Whether `--data` was given.
    pub fn has_data(&self) -> bool {
        self.data.is_some()
    }

    /// Refuses `--data-sigma` and `--size` away from their defaults: they mean nothing to a
    /// model, and silently dropping them would hide a mistaken command.
    pub fn check_unused_by_model(&self) -> Result<()> {
        if self.data_sigma.to_bits() != 0.05f64.to_bits() || self.size != "32x32" {
            return Err(Error::Unsupported(
                "--data-sigma and --size go with the mixture denoiser (--denoiser mixture or \
                 --data), not a model"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The data points (`--size` is checked even when no folder is given).
    pub fn load(&self) -> Result<Dataset> {
        let (w, h) = parse_size(&self.size)?;
        match &self.data {
            None => Ok(dataset::default_digits()),
            Some(p) if p.is_dir() => dataset::from_image_dir(p, w, h),
            Some(p) => dataset::from_npy(p),
        }
    }
}
