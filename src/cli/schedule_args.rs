//! The schedule arguments every command that builds tables shares.

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::npy::{self, NpyData};
use ddpm_wgpu::{ScheduleKind, Tables};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(crate) struct ScheduleArgs {
    /// Beta schedule: linear, quad, const, jsd, warmup10, warmup50, cosine, sigmoid.
    #[arg(long, default_value = "linear")]
    pub schedule: String,
    /// First beta of the schedule.
    #[arg(long, default_value_t = 1e-4)]
    pub beta_start: f64,
    /// Last beta of the schedule.
    #[arg(long, default_value_t = 0.02)]
    pub beta_end: f64,
    /// Number of diffusion steps T.
    #[arg(long, default_value_t = 1000)]
    pub timesteps: usize,
    /// Use these betas (a 1-D float32/float64 .npy) instead of a named schedule.
    #[arg(long, value_name = "FILE.npy")]
    pub betas: Option<PathBuf>,
    /// Rescale the betas to zero terminal SNR (diffusers' `rescale_betas_zero_snr`): abar_{T-1}
    /// becomes 0, where eps prediction is undefined (use v or xstart).
    #[arg(long)]
    pub rescale_zero_snr: bool,
}

impl ScheduleArgs {
    /// Whether every schedule option is at its default (none was given, or each was given its
    /// default value).
    pub(crate) fn is_default(&self) -> bool {
        self.schedule == "linear"
            && self.beta_start == 1e-4
            && self.beta_end == 0.02
            && self.timesteps == 1000
            && self.betas.is_none()
            && !self.rescale_zero_snr
    }

    /// The tables, refused before they are computed when `ctx`'s device cannot hold them:
    /// T = 10^8 would take 13 GB of f64 tables on the host only to fail at the upload.
    pub(crate) fn tables_for(&self, ctx: Option<&Context>) -> Result<Tables> {
        if let (Some(ctx), None) = (ctx, &self.betas) {
            ddpm_wgpu::gpu::GpuTables::check_fits(ctx, self.timesteps)?;
        }
        let tables = self.tables()?;
        if let Some(ctx) = ctx {
            ddpm_wgpu::gpu::GpuTables::check_fits(ctx, tables.num_timesteps())?;
        }
        Ok(tables)
    }

    pub(crate) fn tables(&self) -> Result<Tables> {
        let betas = self.betas()?;
        Tables::new(if self.rescale_zero_snr {
            ddpm_wgpu::schedule::rescale_zero_terminal_snr(&betas)?
        } else {
            betas
        })
    }

    fn betas(&self) -> Result<Vec<f64>> {
        match &self.betas {
            Some(path) => {
                let arr = npy::read(path)?;
                let betas = match arr.data {
                    NpyData::F64(v) => v,
                    NpyData::F32(v) => v.into_iter().map(f64::from).collect(),
                    other => {
                        return Err(Error::WrongDtype {
                            name: "betas".into(),
                            found: other.dtype().into(),
                            expected: "float32 or float64",
                        })
                    }
                };
                if arr.shape.len() != 1 {
                    return Err(Error::InvalidSchedule(format!(
                        "betas must be 1-D, got shape {:?}",
                        arr.shape
                    )));
                }
                Ok(betas)
            }
            None => {
                for (name, beta) in [
                    ("--beta-start", self.beta_start),
                    ("--beta-end", self.beta_end),
                ] {
                    if !(beta > 0.0 && beta <= 1.0) {
                        return Err(Error::InvalidSchedule(format!(
                            "{name} must be in (0, 1], got {beta}"
                        )));
                    }
                }
                ddpm_wgpu::schedule::beta_schedule(
                    self.schedule.parse::<ScheduleKind>()?,
                    self.beta_start,
                    self.beta_end,
                    self.timesteps,
                )
            }
        }
    }
}
