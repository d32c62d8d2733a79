//! Guidance is the denoiser's, not a sampler's: `ddpm sample --class --guidance-scale` runs
//! with every sampler the toolkit has, on the GPU and the twin alike, and moves every one of
//! them away from its unguided samples. (Conformance with diffusers' own guided loops, for
//! DDIM, DPM-Solver++ 2M, Euler ancestral and DDPM: tests/guided_conformance.rs.)

mod common;

use common::cli::{ddpm, read_f32, tmp_dir};
use std::path::Path;

/// Each sampler at 3 steps (Heun: 5 evaluations; PNDM's warm-up skipped), labels 1 and 6 of
/// the class-conditional fixture, guided at w = 2 and unguided (w = 1, the labelled pass).
/// The device's f32 against the twin's f64: within 1e-4 of the largest value, the guided
/// loops' budget (tests/guided_loop.rs: the guided output amplifies the passes' f32
/// difference w times).
#[test]
fn every_sampler_runs_guided_on_both_devices() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = tmp_dir("guided-samplers");
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/class_cond/embedding")
        .display()
        .to_string();
    let run = |sampler: &str, w: &str, dev: &str| {
        let out = dir.join(format!("{sampler}-{w}-{dev}.npy"));
        let o = out.display().to_string();
        let mut args = vec!["sample", "--model", &model, "--count", "2", "--quiet"];
        args.extend(["--sampler", sampler, "--steps", "3", "--seed", "5"]);
        args.extend(["--class", "1,6", "--guidance-scale", w, "--device", dev]);
        if sampler == "pndm" {
            args.extend(["--skip-prk-steps", "true"]);
        }
        args.extend(["--out", &o]);
        let r = ddpm(&args);
        assert_eq!(r.code, 0, "{sampler} w {w} {dev}: {:?}", r.stderr_lines);
        read_f32(&out).1
    };
    for sampler in [
        "ddpm",
        "ddim",
        "dpm++2m",
        "dpm++3m",
        "dpm++2m-sde",
        "unipc",
        "euler",
        "euler-a",
        "heun",
        "pndm",
        "lms",
    ] {
        let guided = run(sampler, "2", "gpu");
        let twin = run(sampler, "2", "cpu");
        let scale = twin.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = guided
            .iter()
            .zip(&twin)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= 1e-4 * scale, "{sampler}: {worst} of {scale}");
        let plain = run(sampler, "1", "gpu");
        let moved = guided
            .iter()
            .zip(&plain)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            moved > 1e-3 * scale,
            "{sampler}: guidance moved it by {moved}"
        );
        println!("{sampler}: gpu vs twin {worst:.2e} of {scale:.2}, guidance moved {moved:.2e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
