//! `ddpm sample`: draw samples through the full reverse process with the exact mixture
//! denoiser over a data set (the embedded digits by default) and write them as .npy or a PNG
//! grid.

use crate::mixture_args::MixtureArgs;
use crate::{Device, ScheduleArgs};
use ddpm_wgpu::cpu::mixture_denoiser::Mixture;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::{self, Context, GpuTables, MixtureDenoiser, SampleOptions};
use ddpm_wgpu::{cpu, npy, picture, MeanType, ModelOptions};
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
    let ctx = matches!(args.device, Device::Gpu)
        .then(Context::new)
        .transpose()?;
    let tables = args.schedule.tables_for(ctx.as_ref())?;
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
        mean_type: MeanType::Eps,
        var_type,
        clip_denoised: true,
    };
    let mut shape = vec![args.count];
    shape.extend_from_slice(&data.point_shape);
    let big_t = tables.num_timesteps();
    // Eight snapshots (t = T - ceil(T/8), ..., 0) and x_0 make the strip.
    let keep_every = args.progress_out.as_ref().map(|_| big_t.div_ceil(8).max(1));
    let start = Instant::now();
    let (x0, kept, device) = match ctx {
        Some(ctx) => {
            let gt = GpuTables::new(&ctx, &tables)?;
            let mut den = MixtureDenoiser::from_dataset(&ctx, &data, sigma, model)?;
            let opts = SampleOptions {
                model,
                seed: args.seed,
                steps_per_submit: (big_t / 50).max(1),
                keep_every,
                max_chunk_samples: None,
            };
            let mut bar = Progress::new(big_t);
            let s = gpu::p_sample_loop(&ctx, &gt, &mut den, &shape, &opts, &mut |done, total| {
                bar.show(done, total)
            })?;
            bar.finish();
            (s.x0, s.kept, gpu::context::describe(ctx.adapter_info()))
        }
        None => {
            if keep_every.is_some() {
                return Err(Error::Unsupported(
                    "--progress-out needs --device gpu".into(),
                ));
            }
            let mix = Mixture::from_dataset(&tables, &data, sigma, model);
            let x = cpu::sample_loop::p_sample_loop(
                &tables,
                &model,
                &mix,
                args.count,
                data.point_len(),
                args.seed,
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
        "ddpm: {} samples of shape {:?}, {} steps on {} in {:.2} s: {:.1} steps/s, {:.2} samples/s -> {}",
        args.count,
        data.point_shape,
        big_t,
        device,
        secs,
        big_t as f64 / secs,
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
