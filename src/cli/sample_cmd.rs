//! `ddpm sample`: draw samples with a sampler (DDPM over all or some steps, DDIM) and a
//! denoiser (the digits model embedded in the crate by default, a diffusers UNet model folder
//! with `--model`, or the exact mixture denoiser over a data set with `--denoiser mixture` or
//! `--data`), and write them as .npy or a PNG grid. What to
//! sample with is set up in `sample_setup.rs`.

use crate::progress::Progress;
use crate::sample_args::SampleArgs;
use crate::sample_setup::Setup;
use crate::Device;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::sampling::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::{self, Context};
use ddpm_wgpu::npy::{self, NpyData};
use ddpm_wgpu::{cpu, picture};
use std::path::Path;
use std::time::Instant;

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
    if matches!(args.device, Device::Cpu) {
        args.tune
            .refuse_without_unet("--device cpu (the f64 twin)")?;
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
        first_sample: args.first_index,
        class_labels: (args.classes).labels(setup.class_kind(), args.count, args.first_index)?,
    };
    let guidance = args.classes.guidance(setup.class_kind())?;
    let start = Instant::now();
    let (x0, kept, device) = match ctx {
        Some(ctx) => {
            let mut den = setup.gpu_denoiser(&ctx, guidance)?;
            let mut bar = Progress::new(steps, args.quiet);
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
            let x = setup.with_cpu_denoiser(guidance, |den| {
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
            // A --class list of L labels (L >= 2) puts one cycle per row, so each column holds
            // one class (--class 0,1,...,9: ten to a row); otherwise a square-ish grid.
            let cycle = args.classes.class.as_deref().map(|s| s.split(',').count());
            let cols = match cycle {
                Some(l) if l >= 2 => l.min(args.count),
                _ => (args.count as f64).sqrt().ceil() as usize,
            };
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
        "ddpm: {} samples of shape {:?} from {}, {} {} steps ({} model evaluations) of T = {} on {} in {:.2} s: {:.1} steps/s, {:.2} samples/s -> {}",
        args.count,
        point_shape,
        setup.describe(),
        sampler.steps(),
        sampler.name(),
        steps,
        setup.tables.num_timesteps(),
        device,
        secs,
        steps as f64 / secs,
        args.count as f64 / secs,
        args.out.display()
    );
    Ok(())
}
