//! The UNet on the command line: `ddpm op unet` against diffusers' own outputs on both devices,
//! `ddpm sample --model` (its scheduler config's defaults, PNG and .npy, the devices agreeing),
//! `ddpm bench --model` as JSON, and bad model folders refused with one line.

mod common;
use common::cli::*;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/unet/attn_two_levels_heads";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .join(name)
        .display()
        .to_string()
}

/// diffusers computes in f32 and the twin in f64; the GPU in f32 with other sums: 1e-5 absolute
/// plus 1e-5 relative covers both (tests/unet_gpu.rs and tests/unet_cpu.rs measure ~1e-6).
#[test]
fn op_unet_matches_diffusers_on_both_devices() {
    let dir = tmp_dir("op-unet");
    let inputs = [
        format!("x={}", fixture("b3_x.npy")),
        format!("t={}", fixture("b3_t.npy")),
    ];
    let (_, want) = read_f32(Path::new(&fixture("b3_out.npy")));
    // (device, precision, tolerance): f16 storage within tests/nn_f16.rs's measured budget,
    // where the adapter has SHADER_F16 (lavapipe; GL refuses it: tests/cli_args.rs).
    let mut runs = vec![("cpu", "f32", 1e-5)];
    if let Some(ctx) = common::gpu() {
        runs.push(("gpu", "f32", 1e-5));
        if ddpm_wgpu::gpu::runtime::Precision::F16.runs_on(&ctx) {
            runs.push(("gpu", "f16", 1e-2));
        }
    }
    for (dev, precision, tol) in runs {
        let name = format!("{dev}-{precision}");
        let out = dir.join(&name).display().to_string();
        let model = fixture("");
        let mut extra = vec!["--model", &model, "--device", dev];
        if dev == "gpu" {
            extra.extend(["--precision", precision]);
        }
        let r = ddpm(&op_args("unet", &inputs, &out, &extra));
        assert_eq!(r.code, 0, "{name}: {:?}", r.stderr_lines);
        let (shape, got) = read_f32(&dir.join(&name).join("model_output.npy"));
        assert_eq!(shape, [3, 3, 8, 8]);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() <= tol + tol * b.abs(), "{name}: {a} vs {b}");
        }
    }
}

#[test]
fn op_unet_rejects_bad_input_with_one_line() {
    let dir = tmp_dir("op-unet-bad");
    let out = dir.join("out").display().to_string();
    let good_x = format!("x={}", fixture("b1_x.npy"));
    let good_t = format!("t={}", fixture("b1_t.npy"));
    let wrong_shape = format!("x={}", write_f32(&dir, "x", &[1, 2, 8, 8], &[0.0; 128]));
    let odd_size = format!("x={}", write_f32(&dir, "x5", &[1, 3, 5, 5], &[0.0; 75]));
    let late_t = format!("t={}", write_i64(&dir, "t", &[1000]));
    let model = fixture("");
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (vec![good_x.clone(), good_t.clone()], vec![]), // no --model
        (
            vec![good_x.clone(), good_t.clone()],
            vec!["--model", "/nonexistent"],
        ),
        (vec![wrong_shape, good_t.clone()], vec!["--model", &model]),
        (vec![odd_size, good_t.clone()], vec!["--model", &model]),
        (vec![good_x.clone(), late_t], vec!["--model", &model]),
        (vec![good_x.clone()], vec!["--model", &model]),
        (vec![good_x, good_t], vec!["--model", "synthetic:mnist"]),
    ];
    for (inputs, extra) in cases {
        let mut args = op_args("unet", &inputs, &out, &["--device", "cpu"]);
        args.extend(extra.iter().copied());
        let r = ddpm(&args);
        assert_ne!(r.code, 0, "{extra:?}");
        assert_eq!(r.stderr_lines.len(), 1, "{extra:?}: {:?}", r.stderr_lines);
        assert!(!dir.join("out").exists());
    }
}

/// The model's own scheduler config sets the schedule and sampler; DDIM in 5 steps writes
/// [B, C, H, W] samples, the same on both devices within the loop's f32 error.
#[test]
fn sample_with_a_model_folder() {
    let dir = tmp_dir("sample-model");
    let model = fixture("");
    let run = |dev: &str, out: &str| {
        ddpm(&[
            "sample",
            "--model",
            &model,
            "--count",
            "3",
            "--sampler",
            "ddim",
            "--steps",
            "5",
            "--device",
            dev,
            "--out",
            out,
        ])
    };
    let cpu = dir.join("cpu.npy").display().to_string();
    let r = run("cpu", &cpu);
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (shape, c) = read_f32(&dir.join("cpu.npy"));
    assert_eq!(shape, [3, 3, 8, 8]);
    if common::gpu().is_none() {
        return;
    }
    let gpu = dir.join("gpu.npy").display().to_string();
    let r = run("gpu", &gpu);
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (_, g) = read_f32(&dir.join("gpu.npy"));
    let worst = c
        .iter()
        .zip(&g)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "{worst}");
    let png = dir.join("s.png").display().to_string();
    assert_eq!(run("gpu", &png).code, 0);
    assert!(dir.join("s.png").exists());
}

#[test]
fn sample_refuses_model_with_data_and_bad_folders() {
    let dir = tmp_dir("sample-model-bad");
    let out = dir.join("s.png").display().to_string();
    let model = fixture("");
    let data = write_f32(&dir, "d", &[2, 4], &[0.0; 8]);
    let cases: [(Vec<&str>, &str); 10] = [
        (vec!["--model", &model, "--data", &data], "not both"),
        (vec!["--model", "/nonexistent"], "/nonexistent"),
        (
            vec!["--model", &model, "--mean-type", "sideways"],
            "sideways",
        ),
        (vec!["--model", &model, "--denoiser", "mixture"], "not both"),
        (vec!["--denoiser", "model", "--data", &data], "not both"),
        (vec!["--denoiser", "unet"], "model, mixture"),
        (
            vec!["--model", &model, "--timesteps", "10"],
            "scheduler config",
        ),
        // The embedded model (the default) takes its schedule from its own config too.
        (vec!["--timesteps", "10"], "mixture denoiser"),
        (vec!["--data-sigma", "0.2"], "--data-sigma"),
        (
            vec!["--model", "embedded:nothing"],
            "unknown embedded model",
        ),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["sample", "--out", &out, "--device", "cpu"];
        args.extend(extra.iter().copied());
        let r = ddpm(&args);
        assert_ne!(r.code, 0, "{extra:?}");
        assert_eq!(r.stderr_lines.len(), 1, "{extra:?}: {:?}", r.stderr_lines);
        assert!(
            r.stderr_lines[0].contains(expect),
            "{extra:?}: {}",
            r.stderr_lines[0]
        );
        assert!(!dir.join("s.png").exists());
    }
}

#[test]
fn bench_model_reports_forwards_and_loops_as_json() {
    if common::gpu().is_none() {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args([
            "bench",
            "--model",
            &fixture(""),
            "--batch",
            "2",
            "--ddim-steps",
            "3",
            "--ddpm-steps",
            "3",
            "--trials",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = json.to_string();
    for key in ["gflop", "ddim", "ddpm", "forwards_per_s"] {
        assert!(text.contains(key), "{key} missing in {text}");
    }
}
