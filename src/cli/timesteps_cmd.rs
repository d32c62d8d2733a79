//! `ddpm timesteps`: the kept timesteps of a spacing, in sampling (descending) order, printed
//! or written as int64 .npy.

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::npy;
use ddpm_wgpu::spacing::{self, Spacing};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TimestepsArgs {
    /// T, the training steps.
    #[arg(long, default_value_t = 1000)]
    timesteps: usize,
    /// N, the steps to keep (not with improved:SPEC, whose spec gives them).
    #[arg(long)]
    steps: Option<usize>,
    /// leading, linspace, trailing (diffusers) or improved:SPEC (ddimN or a,b,c).
    #[arg(long, default_value = "leading")]
    spacing: String,
    /// diffusers' steps_offset, added to leading spacing's steps.
    #[arg(long, value_name = "K", default_value_t = 0)]
    steps_offset: usize,
    /// Write them as an int64 .npy here instead of printing them.
    #[arg(long, value_name = "FILE.npy")]
    out: Option<PathBuf>,
}

pub fn run(args: &TimestepsArgs) -> Result<()> {
    let spacing = Spacing::parse(&args.spacing, args.steps_offset)?;
    let n = match (&spacing, args.steps) {
        (Spacing::Improved(_), None) => 0,
        (Spacing::Improved(_), Some(_)) => {
            return Err(Error::Unsupported(
                "--steps does not apply to improved:SPEC (the spec gives the steps)".into(),
            ))
        }
        (_, Some(n)) => n,
        (_, None) => {
            return Err(Error::MissingInput(format!(
                "--steps N (for {} spacing)",
                args.spacing
            )))
        }
    };
    let ts = spacing::timesteps(args.timesteps, n, &spacing)?;
    match &args.out {
        Some(path) => {
            let data: Vec<i64> = ts.iter().map(|&t| t as i64).collect();
            npy::write_i64_atomic(path, &[data.len()], &data)
        }
        None => {
            let text: Vec<String> = ts.iter().map(usize::to_string).collect();
            println!("{}", text.join(" "));
            Ok(())
        }
    }
}
