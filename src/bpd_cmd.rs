//! `ddpm bpd`: the variational bound (calc_bpd_loop) of x_0 under the exact mixture denoiser of
//! a data set, term by term, written as .npy files.

use crate::mixture_args::MixtureArgs;
use crate::{write_all, Device, ScheduleArgs};
use ddpm_wgpu::cpu::mixture_denoiser::Mixture;
use ddpm_wgpu::dataset;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::{self, Context, GpuTables, GpuTensor, MixtureDenoiser};
use ddpm_wgpu::ops::Output;
use ddpm_wgpu::{cpu, ModelOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BpdArgs {
    #[command(flatten)]
    mixture: MixtureArgs,
    /// The x_0 to score, [B, ...] like one data point (default: the data points themselves).
    #[arg(long, value_name = "FILE.npy")]
    eval: Option<PathBuf>,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Seed of the forward-noising draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for total_bpd, terms_bpd, prior_bpd, xstart_mse, eps_mse (.npy).
    #[arg(long, value_name = "DIR", default_value = "bpd")]
    out: PathBuf,
    /// Run on the GPU kernels or on the f64 CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    device: Device,
}

pub fn run(args: &BpdArgs) -> Result<()> {
    let sigma = args.mixture.sigma()?;
    let var_type = args.mixture.var_type()?;
    let ctx = match args.device {
        Device::Gpu => Some(Context::new()?),
        Device::Cpu => None,
    };
    let tables = args.schedule.tables_for(ctx.as_ref())?;
    let data = args.mixture.load()?;
    let eval = match &args.eval {
        None => data.clone(),
        Some(p) => dataset::from_npy(p)?,
    };
    if eval.point_shape != data.point_shape {
        return Err(Error::ShapeMismatch(format!(
            "--eval points have shape {:?} but the data's are {:?}",
            eval.point_shape, data.point_shape
        )));
    }
    // calc_bpd_loop uses clip_denoised = true, as the original.
    let model = ModelOptions {
        var_type,
        ..ModelOptions::default()
    };
    let batch = eval.len();
    let mut shape = vec![batch];
    shape.extend_from_slice(&eval.point_shape);
    let r = match ctx {
        Some(ctx) => {
            let gt = GpuTables::new(&ctx, &tables)?;
            let mut den = MixtureDenoiser::from_dataset(&ctx, &data, sigma, model)?;
            let x0 = GpuTensor::from_slice(&ctx, &shape, &eval.points)?;
            gpu::calc_bpd_loop(&ctx, &gt, &mut den, &model, &x0, args.seed, &mut |_, _| {})?
        }
        None => {
            let mix = Mixture::from_dataset(&tables, &data, sigma, model);
            cpu::bpd_loop::calc_bpd_loop(&tables, &model, &mix, &eval.points, batch, args.seed)?
        }
    };
    let big_t = tables.num_timesteps();
    let mean_total = r.total_bpd.iter().sum::<f64>() / batch as f64;
    let output = |name, shape: Vec<usize>, data| Output { name, shape, data };
    let outputs = [
        output("total_bpd", vec![batch], r.total_bpd),
        output("terms_bpd", vec![batch, big_t], r.terms_bpd),
        output("prior_bpd", vec![batch], r.prior_bpd),
        output("xstart_mse", vec![batch, big_t], r.xstart_mse),
        output("eps_mse", vec![batch, big_t], r.eps_mse),
    ];
    write_all(&args.out, &outputs)?;
    println!(
        "ddpm: {batch} points, T = {big_t}: mean total {mean_total:.4} bits/dim -> {}",
        args.out.display()
    );
    Ok(())
}
