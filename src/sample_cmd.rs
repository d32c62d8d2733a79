//! `ddpm sample`: draw samples with a sampler (DDPM over all or some steps, DDIM) and the exact
//! mixture denoiser over a data set (the embedded digits by default), and write them as .npy or
//! a PNG grid.

use crate::mixture_args::MixtureArgs;
use crate::step_args::{spaced, StepArgs};
use crate::{Device, ScheduleArgs};
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::mixture_denoiser::Mixture;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::{self, Context, MixtureDenoiser};
use ddpm_wgpu::npy::{self, NpyData};
use ddpm_wgpu::sampler::{Ddim, Ddpm, Sampler};
use ddpm_wgpu::{cpu, picture, MeanType, ModelOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct SampleArgs {
    #[command(flatten)]
    mixture: MixtureArgs,
    /// Number of samples.
    #[arg(long, default_value_t = 16)]
    count: usize,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Seed of every noise draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .npy (float32 [N, ...]) or .png (a grid of the samples).
    #[arg(long, value_name = "FILE.npy|FILE.png", default_value = "samples.png")]
    out: PathBuf,
    /// Also write a PNG strip of the denoising from x_T to x_0 for up to 8 samples.
    #[arg(long, value_name = "FILE.png")]
    progress_out: Option<PathBuf>,
    /// Run on the GPU kernels or on the f64 CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    device: Device,
    /// ddpm (ancestral steps) or ddim.
    #[arg(long, default_value = "ddpm")]
    sampler: String,
    /// Take N of the T steps, spaced as --spacing says (default: all T).
    #[arg(long, value_name = "N")]
    steps: Option<usize>,
    /// leading, linspace, trailing (diffusers) or improved:SPEC, for --steps.
    #[arg(long, default_value = "leading")]
    spacing: String,
    #[command(flatten)]
    step: StepArgs,
    /// What the denoiser writes and the sampler reads: eps, xstart, xprev (ddpm only), v.
    #[arg(long, default_value = "eps")]
    mean_type: String,
    /// Clip pred_xstart to [-R, R].
    #[arg(long, value_name = "true|false", default_value_t = true, action = clap::ArgAction::Set)]
    clip_denoised: bool,
    /// R of the clip.
    #[arg(long, value_name = "R", default_value_t = 1.0)]
    clip_range: f64,
    /// Noise: philox (in the shader) or torch (torch.manual_seed + torch.randn, as diffusers'
    /// pipelines draw it).
    #[arg(long, default_value = "philox")]
    noise: String,
    /// Start from this x_T (float32 [count, ...]) instead of drawing it.
    #[arg(long, value_name = "FILE.npy")]
    x_t: Option<PathBuf>,
}

/// The chain of `--steps`/`--spacing` or `--respace` (not both), or every step.
fn chain(args: &SampleArgs, tables: &ddpm_wgpu::Tables) -> Result<Chain> {
    let big_t = tables.num_timesteps();
    let kept = match (args.steps, args.step.respace.is_some()) {
        (Some(_), true) => {
            return Err(Error::Unsupported(
                "give --steps (with --spacing) or --respace, not both".into(),
            ))
        }
        (_, true) => args.step.respaced(big_t)?,
        (_, false) => spaced(big_t, args.steps, &args.spacing, args.step.steps_offset)?,
    };
    match kept {
        Some(k) => Chain::respaced(tables, &k),
        None => Ok(Chain::full(tables)),
    }
}

/// The sampler `--sampler` names over `chain`.
fn sampler(args: &SampleArgs, chain: Chain, model: ModelOptions) -> Result<Box<dyn Sampler>> {
    let threshold = args.step.threshold()?;
    match args.sampler.as_str() {
        "ddpm" => Ok(Box::new(Ddpm::new(chain, model, threshold)?)),
        "ddim" => Ok(Box::new(Ddim::new(
            chain,
            model,
            threshold,
            args.step.ddim()?,
        )?)),
        other => Err(Error::UnknownName {
            kind: "sampler",
            name: other.into(),
            expected: "ddpm, ddim".into(),
        }),
    }
}

/// `--x-t`: float32 of `shape`.
fn read_x_t(path: &std::path::Path, shape: &[usize]) -> Result<Vec<f32>> {
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
    let sigma = args.mixture.sigma()?;
    let var_type = args.mixture.var_type()?;
    let tables = args.schedule.tables()?;
    let data = args.mixture.load()?;
    let kind = out_kind(&args.out)?;
    if matches!(kind, OutKind::Png) || args.progress_out.is_some() {
        picture::image_dims(&data.point_shape)?;
    }
    if let Some(p) = &args.progress_out {
        if !matches!(out_kind(p)?, OutKind::Png) {
            return Err(Error::Unsupported("--progress-out must be a .png".into()));
        }
        check_writable(p)?;
    }
    check_writable(&args.out)?;

    let model = ModelOptions {
        mean_type: args.mean_type.parse::<MeanType>()?,
        var_type,
        clip_denoised: args.clip_denoised,
        clip_range: args.clip_range,
    };
    let chain = chain(args, &tables)?;
    let sampler = sampler(args, chain, model)?;
    let mut shape = vec![args.count];
    shape.extend_from_slice(&data.point_shape);
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
    let (x0, kept, device) = match args.device {
        Device::Gpu => {
            let ctx = Context::new()?;
            let mut den = MixtureDenoiser::from_dataset(&ctx, &data, sigma, model)?;
            let mut bar = Progress::new(steps);
            let s = sample_loop(
                &ctx,
                sampler.as_ref(),
                &mut den,
                &shape,
                &opts,
                &mut |done, total| bar.show(done, total),
            )?;
            bar.finish();
            (s.x0, s.kept, gpu::context::describe(ctx.adapter_info()))
        }
        Device::Cpu => {
            if keep_every.is_some() {
                return Err(Error::Unsupported(
                    "--progress-out needs --device gpu".into(),
                ));
            }
            // The denoiser reads the chain's rows by training timestep, as on the GPU.
            let by_t = sampler.chain().by_timestep();
            let mix = Mixture::from_dataset(&by_t, &data, sigma, model);
            let x = cpu::sample_loop::sample_loop(
                sampler.as_ref(),
                &mix,
                args.count,
                data.point_len(),
                &opts,
            )?;
            (
                x.into_iter().map(|v| v as f32).collect(),
                Vec::new(),
                "f64 CPU reference".to_string(),
            )
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let n = data.point_len();
    match kind {
        OutKind::Npy => npy::write_f32_atomic(&args.out, &shape, &x0)?,
        OutKind::Png => {
            let tiles: Vec<&[f32]> = x0.chunks(n).collect();
            let cols = (args.count as f64).sqrt().ceil() as usize;
            picture::save_png(&picture::grid(&tiles, &data.point_shape, cols)?, &args.out)?;
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
        picture::save_png(
            &picture::grid(&tiles, &data.point_shape, kept.len() + 1)?,
            p,
        )?;
    }
    println!(
        "ddpm: {} samples of shape {:?}, {} {} steps of T = {} on {} in {:.2} s: {:.1} steps/s, {:.2} samples/s -> {}",
        args.count,
        data.point_shape,
        steps,
        sampler.name(),
        tables.num_timesteps(),
        device,
        secs,
        steps as f64 / secs,
        args.count as f64 / secs,
        args.out.display()
    );
    Ok(())
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    total: usize,
    start: Instant,
    tty: bool,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            start: Instant::now(),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, done: usize, total: usize) {
        self.total = total;
        if !self.tty {
            return;
        }
        let width = 40;
        let filled = done * width / self.total.max(1);
        let rate = done as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\r[{}{}] {done}/{} steps, {rate:.0} steps/s ",
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.total
        );
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}
