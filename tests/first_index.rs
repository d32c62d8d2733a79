//! A run's samples do not depend on the batch they are drawn in: samples K .. K + B - 1
//! (`LoopOptions::first_sample`, `ddpm sample --first-index K`) are bit for bit those rows of
//! one run of K + B samples, on the GPU (UNet and mixture denoisers, stochastic and multistep
//! samplers, any chunking) and in the f64 twin; and the options that cannot honour it are
//! refused.

mod common;

use common::unet::model;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::nn::UNetCpu;
use ddpm_wgpu::cpu::sampling::sample_loop as cpu_loop;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::{Context, Denoiser, UNetDenoiser};
use ddpm_wgpu::sampler::{Ddpm, DpmSolver, DpmSolverOptions, Sampler, UniPc, UniPcOptions};
use ddpm_wgpu::spacing::{multistep_timesteps, timesteps, Spacing};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};

fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

fn samplers() -> Vec<Box<dyn Sampler>> {
    let tb = tables();
    let ddpm = timesteps(1000, 6, &Spacing::Trailing).unwrap();
    let multi = multistep_timesteps(1000, 6, &Spacing::Linspace).unwrap();
    let chain = |k: &[usize]| Chain::respaced(&tb, k).unwrap();
    let m = ModelOptions {
        clip_denoised: false,
        ..ModelOptions::default()
    };
    vec![
        // Draws noise at every step.
        Box::new(Ddpm::new(chain(&ddpm), ModelOptions::default(), None).unwrap()),
        Box::new(DpmSolver::new(chain(&multi), m, None, DpmSolverOptions::default()).unwrap()),
        Box::new(UniPc::new(chain(&multi), m, None, UniPcOptions::default()).unwrap()),
    ]
}

fn run(
    ctx: &Context,
    sampler: &dyn Sampler,
    den: &mut dyn Denoiser,
    shape: &[usize],
    first: u32,
    chunk: Option<usize>,
) -> Vec<f32> {
    let opts = LoopOptions {
        seed: 3,
        first_sample: first,
        max_chunk_samples: chunk,
        steps_per_submit: 2,
        ..LoopOptions::default()
    };
    sample_loop(ctx, sampler, den, shape, &opts, &mut |_, _| {})
        .unwrap()
        .x0
}

/// The UNet (batch 5 against batches of 2 at K = 3 and of 1 at K = 4, and chunks of 2) and
/// the mixture: equal bits.
#[test]
fn rows_of_a_run_are_the_same_bits_in_any_batch() {
    let Some(ctx) = common::gpu() else { return };
    let (unet, _) = model("attn_two_levels_heads");
    let c = unet.config.in_channels;
    let (h, w) = unet.config.sample_size.unwrap();
    let len = c * h * w;
    for sampler in samplers() {
        let mut den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
        let whole = run(&ctx, sampler.as_ref(), &mut den, &[5, c, h, w], 0, None);
        for (first, count, chunk) in [(3, 2, None), (4, 1, None), (1, 4, Some(3))] {
            let mut den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
            let part = run(
                &ctx,
                sampler.as_ref(),
                &mut den,
                &[count, c, h, w],
                first,
                chunk,
            );
            let rows = &whole[first as usize * len..(first as usize + count) * len];
            assert!(
                part.iter()
                    .zip(rows)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{} samples {first}..+{count}",
                sampler.name()
            );
        }
        // The f64 twin keys its noise the same way.
        let twin = UNetCpu::new(&unet, h, w).unwrap();
        let opts = |first| LoopOptions {
            seed: 3,
            first_sample: first,
            ..LoopOptions::default()
        };
        let all = cpu_loop::sample_loop(sampler.as_ref(), &twin, 3, len, &opts(0)).unwrap();
        let last = cpu_loop::sample_loop(sampler.as_ref(), &twin, 1, len, &opts(2)).unwrap();
        assert_eq!(&all[2 * len..], &last[..], "{} twin", sampler.name());
    }
    let points = [-0.6f32, -0.6, 0.2, 0.5, 0.6, -0.4, -0.3, 0.0];
    for sampler in samplers() {
        let model = *sampler.model();
        let mut den =
            ddpm_wgpu::gpu::MixtureDenoiser::new(&ctx, &points, &[2, 4], 0.05, model).unwrap();
        let whole = run(&ctx, sampler.as_ref(), &mut den, &[7, 4], 0, None);
        let part = run(&ctx, sampler.as_ref(), &mut den, &[3, 4], 4, None);
        assert!(
            part.iter()
                .zip(&whole[16..])
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{} mixture",
            sampler.name()
        );
    }
}

#[test]
fn a_first_index_with_the_torch_stream_or_a_given_x_t_is_refused() {
    let sampler = &samplers()[0];
    let twin_points = [0.0f32; 4];
    let by_t = sampler.chain().by_timestep();
    let mix = ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture {
        tables: &by_t,
        points: &twin_points,
        sample_len: 4,
        data_var: 0.01,
        model: *sampler.model(),
    };
    for (opts, batch, why) in [
        (
            LoopOptions {
                first_sample: 2,
                noise: NoiseSource::Torch,
                ..LoopOptions::default()
            },
            1,
            "--first-index",
        ),
        (
            LoopOptions {
                first_sample: 2,
                x_t: Some(vec![0.0; 4]),
                ..LoopOptions::default()
            },
            1,
            "--first-index",
        ),
        (
            LoopOptions {
                first_sample: u32::MAX,
                ..LoopOptions::default()
            },
            2,
            "32 bits",
        ),
    ] {
        let e = cpu_loop::sample_loop(sampler.as_ref(), &mix, batch, 4, &opts).unwrap_err();
        assert!(e.to_string().contains(why), "{opts:?}: {e}");
    }
    // The last index that fits is fine.
    let last = LoopOptions {
        first_sample: u32::MAX,
        ..LoopOptions::default()
    };
    assert!(cpu_loop::sample_loop(sampler.as_ref(), &mix, 1, 4, &last).is_ok());
}

/// `ddpm sample --first-index K`: the rows of the whole run; refused with `--noise torch`.
#[test]
fn the_command_line_splits_a_run() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = std::env::temp_dir().join(format!("ddpm-first-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .args(["sample", "--denoiser", "mixture", "--sampler", "ddpm"])
            .args(["--steps", "8", "--seed", "5", "--quiet"])
            .args(args)
            .output()
            .unwrap()
    };
    let read = |p: &std::path::Path| match ddpm_wgpu::npy::read(p).unwrap().data {
        ddpm_wgpu::npy::NpyData::F32(v) => v,
        other => panic!("{other:?}"),
    };
    let (a, b) = (dir.join("a.npy"), dir.join("b.npy"));
    let r = run(&["--count", "3", "--out", a.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let r = run(&[
        "--count",
        "1",
        "--first-index",
        "2",
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let (whole, part) = (read(&a), read(&b));
    let len = part.len();
    assert_eq!(whole.len(), 3 * len);
    assert!(whole[2 * len..]
        .iter()
        .zip(&part)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    let c = dir.join("c.npy");
    let r = run(&[
        "--count",
        "1",
        "--first-index",
        "2",
        "--noise",
        "torch",
        "--out",
        c.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains("--first-index"),
        "{err}"
    );
    assert!(!c.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
