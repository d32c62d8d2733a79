//! `ddpm sample`: draw samples with a sampler (DDPM over all or some steps, DDIM) and a
//! denoiser (the digits model embedded in the crate by default, a diffusers UNet model folder
//! with `--model`, or the exact mixture denoiser over a data set with `--denoiser mixture` or
//! `--data`), and write them as .npy or a PNG grid. What to
//! sample with is set up in `sample_setup.rs`.

use crate::mixture_args::MixtureArgs;
use crate::progress::Progress;
use crate::sample_setup::Setup;
use crate::step_args::StepArgs;
use crate::{Device, ScheduleArgs};
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::sampling::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::{self, Context};
use ddpm_wgpu::npy::{self, NpyData};
use ddpm_wgpu::{cpu, picture};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct SampleArgs {
    /// A diffusers UNet2DModel folder (config.json + diffusion_pytorch_model.safetensors, with
    /// its scheduler_config.json; or a pipeline folder), `embedded:digits` or
    /// `synthetic:cifar10`. Its scheduler config gives the schedule and the defaults of the
    /// sampler options below. Default: the embedded digits model, sampled with 50 DDIM steps
    /// unless --sampler, --steps or --respace is given.
    #[arg(long, value_name = "DIR")]
    pub model: Option<String>,
    /// model (a UNet: --model, or the embedded digits) or mixture (the exact denoiser of the
    /// points of --data, the 30 drawn digits by default). Default: mixture when --data is
    /// given, else model.
    #[arg(long, value_name = "model|mixture")]
    pub denoiser: Option<String>,
    #[command(flatten)]
    pub mixture: MixtureArgs,
    /// Number of samples.
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Seed of every noise draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .npy (float32 [N, ...]) or .png (a grid of the samples).
    #[arg(long, value_name = "FILE.npy|FILE.png", default_value = "samples.png")]
    pub out: PathBuf,
    /// Also write a PNG strip of the denoising from x_T to x_0 for up to 8 samples.
    #[arg(long, value_name = "FILE.png")]
    pub progress_out: Option<PathBuf>,
    /// Run on the GPU kernels or on the f64 CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    pub device: Device,
    /// ddpm (ancestral steps) or ddim (default: ddpm, or the model's scheduler class).
    #[arg(long)]
    pub sampler: Option<String>,
    /// Take N of the T steps, spaced as --spacing says (default: all T).
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// leading, linspace, trailing (diffusers) or improved:SPEC, for --steps (default: leading,
    /// or the model's timestep_spacing).
    #[arg(long)]
    pub spacing: Option<String>,
    #[command(flatten)]
    pub step: StepArgs,
    /// What the denoiser writes and the sampler reads: eps, xstart, xprev (ddpm only), v
    /// (default: eps, or the model's prediction_type).
    #[arg(long)]
    pub mean_type: Option<String>,
    /// Clip pred_xstart to [-R, R] (default: true, or the model's clip_sample).
    #[arg(long, value_name = "true|false")]
    pub clip_denoised: Option<bool>,
    /// R of the clip (default: 1, or the model's clip_sample_range).
    #[arg(long, value_name = "R")]
    pub clip_range: Option<f64>,
    /// Noise: philox (in the shader) or torch (torch.manual_seed + torch.randn, as diffusers'
    /// pipelines draw it).
    #[arg(long, default_value = "philox")]
    pub noise: String,
    /// Start from this x_T (float32 [count, ...]) instead of drawing it.
    #[arg(long, value_name = "FILE.npy")]
    pub x_t: Option<PathBuf>,
}

/// `--x-t`: float32 of `shape`.
fn read_x_t(path: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let arr = npy::read(path)?;
    match arr.data {
        NpyData::F32(v) if arr.shape == shape => Ok(v),
        NpyData::F32(_) => Err(Error::ShapeMismatch(format!(
            "--x-t has shape {:?}, the samples {shape:?}",
            arr.shape
        ))),
        other => Err(Error::WrongDtype {
            name: "x_t".into(),
            found: other.dtype().into(),
            expected: "float32",
        }),
    }
}

enum OutKind {
    Npy,
    Png,
}

fn out_kind(path: &Path) -> Result<OutKind> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("npy") => Ok(OutKind::Npy),
        Some("png") => Ok(OutKind::Png),
        _ => Err(Error::Unsupported(format!(
            "{}: the output must end in .npy or .png",
            path.display()
        ))),
    }
}

/// Fail before hours of sampling if `path` cannot be written: create and remove its temporary.
fn check_writable(path: &Path) -> Result<()> {
    let tmp = npy::partial_path(path);
    std::fs::File::create(&tmp).map_err(|e| Error::io(path, e))?;
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

pub fn run(args: &SampleArgs) -> Result<()> {
    if args.count == 0 {
        return Err(Error::Unsupported("--count must be at least 1".into()));
    }
    let ctx = matches!(args.device, Device::Gpu)
        .then(Context::new)
        .transpose()?;
    let setup = Setup::new(args, ctx.as_ref())?;
    let point_shape = setup.point_shape.clone();
    let kind = out_kind(&args.out)?;
    if matches!(kind, OutKind::Png) || args.progress_out.is_some() {
        picture::image_dims(&point_shape)?;
    }
    if let Some(p) = &args.progress_out {
        if !matches!(out_kind(p)?, OutKind::Png) {
            return Err(Error::Unsupported("--progress-out must be a .png".into()));
        }
        check_writable(p)?;
    }
    check_writable(&args.out)?;
    let sampler = setup.sampler.as_ref();
    let mut shape = vec![args.count];
    shape.extend_from_slice(&point_shape);
    let noise = match args.noise.as_str() {
        "philox" => NoiseSource::Philox,
        "torch" => NoiseSource::Torch,
        other => {
            return Err(Error::UnknownName {
                kind: "noise",
                name: other.into(),
                expected: "philox, torch".into(),
            })
        }
    };
    let x_t = args
        .x_t
        .as_deref()
        .map(|p| read_x_t(p, &shape))
        .transpose()?;
    let steps = sampler.order().len();
    // Eight snapshots and x_0 make the strip.
    let keep_every = args.progress_out.as_ref().map(|_| steps.div_ceil(8).max(1));
    let opts = LoopOptions {
        seed: args.seed,
        noise,
        x_t,
        steps_per_submit: (steps / 50).max(1),
        keep_every,
        max_chunk_samples: None,
    };
    let start = Instant::now();
    let (x0, kept, device) = match ctx {
        Some(ctx) => {
            let mut den = setup.gpu_denoiser(&ctx)?;
            let mut bar = Progress::new(steps);
            let s = sample_loop(
                &ctx,
                sampler,
                den.as_mut(),
                &shape,
                &opts,
                &mut |done, total| bar.show(done, total),
            )?;
            bar.finish();
            (s.x0, s.kept, gpu::context::describe(ctx.adapter_info()))
        }
        None => {
            if keep_every.is_some() {
                return Err(Error::Unsupported(
                    "--progress-out needs --device gpu".into(),
                ));
            }
            let x = setup.with_cpu_denoiser(|den| {
                cpu::sampling::sample_loop::sample_loop(
                    sampler,
                    den,
                    args.count,
                    setup.point_len(),
                    &opts,
                )
            })?;
            (
                x.into_iter().map(|v| v as f32).collect(),
                Vec::new(),
                "f64 CPU reference".to_string(),
            )
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let n = setup.point_len();
    match kind {
        OutKind::Npy => npy::write_f32_atomic(&args.out, &shape, &x0)?,
        OutKind::Png => {
            let tiles: Vec<&[f32]> = x0.chunks(n).collect();
            let cols = (args.count as f64).sqrt().ceil() as usize;
            picture::save_png(&picture::grid(&tiles, &point_shape, cols)?, &args.out)?;
        }
    }
    if let Some(p) = &args.progress_out {
        // Rows: up to 8 samples; columns: x_t at the kept steps (noise on the left), then x_0.
        let rows = args.count.min(8);
        let mut tiles: Vec<&[f32]> = Vec::new();
        for b in 0..rows {
            for (_, xt, _) in &kept {
                tiles.push(&xt[b * n..(b + 1) * n]);
            }
            tiles.push(&x0[b * n..(b + 1) * n]);
        }
        picture::save_png(&picture::grid(&tiles, &point_shape, kept.len() + 1)?, p)?;
    }
    println!(
        "ddpm: {} samples of shape {:?} from {}, {} {} steps of T = {} on {} in {:.2} s: {:.1} steps/s, {:.2} samples/s -> {}",
        args.count,
        point_shape,
        setup.describe(),
        steps,
        sampler.name(),
        setup.tables.num_timesteps(),
        device,
        secs,
        steps as f64 / secs,
        args.count as f64 / secs,
        args.out.display()
    );
    Ok(())
}
