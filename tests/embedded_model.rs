//! The digits model embedded in the crate (`embedded:digits`, trained by tools/train/train.py):
//! it loads with the paper's schedule, is the finished run (not a checkpoint of a stopped one),
//! its forward on the GPU matches the f64 twin and diffusers' own outputs (fixture written by
//! tools/train/embedded_fixture.py), and the main command's default writes a PNG grid.

mod common;

use common::cli::{ddpm, read_f32, sample_pictures, tmp_dir};
use ddpm_wgpu::cpu::nn as cpu_nn;
use ddpm_wgpu::gpu::UNetDenoiser;
use ddpm_wgpu::nn::presets::digits;
use ddpm_wgpu::nn::scheduler_config::SchedulerConfig;
use ddpm_wgpu::nn::ModelFolder;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/embedded_digits";

/// x [3, 1, 16, 16], t [3] and diffusers' output for them (float32 forward of the f16 weights).
fn fixture() -> (Vec<f32>, Vec<u32>, Vec<f32>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let (xs, x) = read_f32(&dir.join("x.npy"));
    assert_eq!(xs, [3, 1, 16, 16]);
    let t = ddpm_wgpu::npy::read(dir.join("t.npy")).unwrap();
    let t = match t.data {
        ddpm_wgpu::npy::NpyData::I64(v) => v.into_iter().map(|v| v as u32).collect(),
        other => panic!("t.npy is {}", other.dtype()),
    };
    let (os, out) = read_f32(&dir.join("out.npy"));
    assert_eq!(os, [3, 1, 16, 16]);
    (x, t, out)
}

#[test]
fn the_embedded_model_is_the_finished_training_run_with_the_papers_schedule() {
    let folder = ModelFolder::embedded_digits().unwrap();
    let unet = folder.unet().unwrap();
    assert_eq!(unet.config.in_channels, 1);
    assert_eq!(unet.config.sample_size, Some((16, 16)));
    assert!(folder.unused_tensors().is_empty());
    let p = unet.num_parameters();
    assert!((1_000_000..1_200_000).contains(&p), "{p} parameters");
    let s = SchedulerConfig::from_json(digits::SCHEDULER, "scheduler_config.json").unwrap();
    assert_eq!(s.num_train_timesteps, 1000);
    assert_eq!((s.beta_start, s.beta_end), (1e-4, 0.02));
    assert_eq!(s.beta_schedule, "linear");
    let record: serde_json::Value = serde_json::from_str(digits::TRAINING).unwrap();
    let steps = record["steps"].as_u64().unwrap();
    assert_eq!(
        Some(steps),
        record["planned_steps"].as_u64(),
        "a stopped run"
    );
    assert!(steps >= 1000, "{steps} steps");
}

/// The twin computes in f64 from the same f16 weights, diffusers and the GPU in f32: the UNet
/// tests' budget (tests/unet_gpu.rs: 1e-5 absolute plus 1e-5 relative) holds for this model too.
#[test]
fn its_gpu_forward_matches_the_twin_and_diffusers() {
    let Some(ctx) = common::gpu() else { return };
    let unet = ModelFolder::embedded_digits().unwrap().unet().unwrap();
    let (x, t, want) = fixture();
    let den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
    let got = den.forward(&ctx, &x, &[3, 1, 16, 16], &t).unwrap();
    let twin = cpu_nn::forward(&unet, &x, [3, 1, 16, 16], &t).unwrap();
    let (mut to_twin, mut to_diffusers) = (0.0f64, 0.0f64);
    for ((&g, &c), &d) in got.iter().zip(&twin).zip(&want) {
        let (g, d) = (g as f64, d as f64);
        assert!((g - c).abs() <= 1e-5 + 1e-5 * c.abs(), "gpu {g} twin {c}");
        assert!(
            (d - c).abs() <= 1e-5 + 1e-5 * c.abs(),
            "diffusers {d} twin {c}"
        );
        to_twin = to_twin.max((g - c).abs());
        to_diffusers = to_diffusers.max((g - d).abs());
    }
    println!("worst |gpu - twin| {to_twin:.2e}, |gpu - diffusers| {to_diffusers:.2e}");
}

#[test]
fn the_main_command_writes_a_grid_of_digits() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp_dir("embedded");
    // The default is 10 DPM-Solver++ 2M steps; 5 keep the test short and take the same path.
    let args = ["--count", "4", "--sampler", "dpm++2m", "--steps", "5"];
    let ((w, h), (sw, sh)) = sample_pictures(&dir, &args);
    // 4 samples of 16x16 in a 2x2 grid with 1-pixel borders (35 pixels), enlarged to reach
    // picture::MIN_SIDE.
    assert_eq!(w, h);
    assert!(w >= 35, "{w}");
    // x_0 beside snapshots, one row per sample: wider than high.
    assert!(sw > sh && sh >= 35, "{sw}x{sh}");
    let npy = dir.join("s.npy").display().to_string();
    let r = ddpm(&["sample", "--count", "2", "--steps", "3", "--out", &npy]);
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (shape, v) = read_f32(Path::new(&npy));
    assert_eq!(shape, [2, 1, 16, 16]);
    assert!(v.iter().all(|x| x.is_finite() && (-1.0..=1.0).contains(x)));
}
