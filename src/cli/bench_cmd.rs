//! `ddpm bench`: the kernels and sampling loops (`bench::run`), or with `--model` a UNet's
//! forwards and loops (`bench::unet::run`).

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::Context;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// 2^20 elements only, and T = 100 with B in {1, 16} for the loops.
    #[arg(long)]
    quick: bool,
    /// Element counts for the kernel rows instead of the default sizes (repeatable; multiples
    /// of 4).
    #[arg(long = "elements", value_name = "N")]
    elements: Vec<usize>,
    /// Kernel rows only.
    #[arg(long)]
    no_loops: bool,
    /// Measure this UNet model folder (or `synthetic:cifar10`, the google/ddpm-cifar10-32
    /// architecture with synthetic weights) instead: per-forward ms, GFLOP/s, forwards/s, a
    /// DDIM and a DDPM loop's steps/s and samples/s, device memory.
    #[arg(long, value_name = "DIR")]
    model: Option<String>,
    /// --model: batch sizes (repeatable; default 1 and 16).
    #[arg(long = "batch", value_name = "B")]
    batches: Vec<usize>,
    /// --model: steps of the DDIM loop (leading spacing, eta 0); 0 for none.
    #[arg(long, value_name = "N", default_value_t = 50)]
    ddim_steps: usize,
    /// --model: steps of the DPM-Solver++ 2M loop (leading spacing); 0 for none.
    #[arg(long, value_name = "N", default_value_t = 10)]
    dpm_steps: usize,
    /// --model: steps of the UniPC loop (bh2, order 2, leading spacing); 0 for none.
    #[arg(long, value_name = "N", default_value_t = 10)]
    unipc_steps: usize,
    /// --model: steps of the DDPM loop, respaced (a full T-step loop takes hours on a software
    /// adapter); 0 for none.
    #[arg(long, value_name = "N", default_value_t = 100)]
    ddpm_steps: usize,
    /// --model: the DDPM loop over all T steps instead.
    #[arg(long)]
    ddpm_full: bool,
    /// --model: also a loop row for the sampler `ddpm sample --model DIR ARGS` runs, ARGS its
    /// sampler flags in one string (`--loop "--sampler heun --steps 10"`; repeatable), or
    /// `picked`: each sampler at the step count benches/samplers.md picked.
    #[arg(long = "loop", value_name = "ARGS|picked", allow_hyphen_values = true)]
    loops: Vec<String>,
    /// --model: timed forwards per batch size (the median is kept).
    #[arg(long, value_name = "N", default_value_t = 3)]
    trials: usize,
    /// --model: also time each kind of dispatch of one forward.
    #[arg(long)]
    profile: bool,
    /// --model, a class-conditional one: also measure every forward and loop row with
    /// classifier-free guidance at this scale (one forward of 2 x batch plus the combine), and
    /// give each guided row's time over the unguided row's.
    #[arg(long, value_name = "W")]
    guidance_scale: Option<f64>,
    /// --model with --guidance-scale: diffusers' guidance_rescale PHI in [0, 1].
    #[arg(long, value_name = "PHI")]
    guidance_rescale: Option<f64>,
    /// --model: the kernel of the UNet's convs: `conv2d` (register-tiled, for software
    /// adapters; the default), `conv2d_tiled_large` (workgroup-tiled implicit GEMM, 128 x 128
    /// tiles, for hardware GPUs) or `conv2d_tiled_small` (32 x 64 tiles). Without it, the
    /// environment variable DDPM_KERNEL with the same names, else the default.
    #[arg(long, value_name = "KERNEL")]
    conv: Option<String>,
    #[command(flatten)]
    tune: crate::tune_args::TuneArgs,
    /// --model: also time every conv variant of every layer shape at each batch (its time,
    /// GFLOP/s and the tuner's choice), and the forward with the tuner's choices against the
    /// fixed rule's (--tune off), alternating in one run.
    #[arg(long)]
    variants: bool,
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    if let Some(spec) = &args.model {
        return model(args, spec);
    }
    use crate::bench::BenchPlan;
    if !args.loops.is_empty() {
        return Err(Error::Unsupported(
            "--loop rows are the UNet's: give --model DIR".into(),
        ));
    }
    if args.variants {
        return Err(Error::Unsupported(
            "--variants times the UNet's convs: give --model DIR".into(),
        ));
    }
    args.tune
        .refuse_without_unet("ddpm bench without --model")?;
    if args.guidance_scale.is_some() || args.guidance_rescale.is_some() {
        return Err(Error::Unsupported(
            "--guidance-scale and --guidance-rescale measure a class-conditional UNet: give \
             --model DIR"
                .into(),
        ));
    }
    let ctx = Context::new()?;
    let mut plan = if args.quick {
        BenchPlan::quick()
    } else {
        BenchPlan::full()
    };
    if !args.elements.is_empty() {
        plan.sizes.clone_from(&args.elements);
    }
    if args.no_loops {
        plan.loop_shapes.clear();
    }
    let report = crate::bench::run(&ctx, &plan)?;
    if args.json {
        print!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

fn model(args: &BenchArgs, spec: &str) -> Result<ExitCode> {
    use crate::bench::unet::{run, UNetBenchOptions};
    let ctx = Context::new()?;
    let folder = ddpm_wgpu::nn::ModelFolder::resolve(spec)?;
    let unet = folder.unet()?;
    if args.batches.contains(&0) {
        return Err(Error::Unsupported("--batch must be at least 1".into()));
    }
    let defaults = UNetBenchOptions::default();
    let opts = UNetBenchOptions {
        batches: if args.batches.is_empty() {
            defaults.batches.clone()
        } else {
            args.batches.clone()
        },
        num_train_timesteps: folder
            .scheduler
            .as_ref()
            .map_or(1000, |s| s.num_train_timesteps),
        trials: args.trials.max(1),
        ddim_steps: args.ddim_steps,
        dpm_steps: args.dpm_steps,
        unipc_steps: args.unipc_steps,
        ddpm_steps: if args.ddpm_full {
            None
        } else {
            Some(args.ddpm_steps)
        },
        profile: args.profile,
        variants: args.variants,
        guidance: guidance(args)?,
        unet: unet_options(args)?,
        ..defaults
    };
    let more = crate::bench::named_loops::samplers(&ctx, spec, &args.loops)?;
    let report = run(&ctx, &unet, &opts, more)?;
    if args.json {
        print!("{}", report.json()?);
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

/// The UNet's options: `--conv`, else `DDPM_KERNEL` (`UNetOptions::from_env`); `--tune`.
fn unet_options(args: &BenchArgs) -> Result<ddpm_wgpu::gpu::nn::UNetOptions> {
    let mut opts = args.tune.options()?;
    if let Some(name) = &args.conv {
        opts.conv = Some(ddpm_wgpu::gpu::nn::conv2d_tiled::ConvKernel::from_name(
            name,
        )?);
    }
    Ok(opts)
}

/// The guidance `--guidance-scale` and `--guidance-rescale` ask for, checked.
fn guidance(args: &BenchArgs) -> Result<Option<ddpm_wgpu::nn::Guidance>> {
    let g = match (args.guidance_scale, args.guidance_rescale) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(Error::Unsupported(
                "--guidance-rescale needs --guidance-scale".into(),
            ))
        }
        (Some(scale), rescale) => ddpm_wgpu::nn::Guidance { scale, rescale },
    };
    g.validate()?;
    Ok(Some(g))
}
