//! Guided sampling against diffusers' own loops (tests/fixtures/class_cond/guided/, written
//! by tests/reference/guided_fixtures.py): `ddpm sample --model` on the class-conditional
//! fixture with `--class`, `--guidance-scale` (and `--guidance-rescale`) from diffusers' x_T,
//! on the GPU and the f64 twin, DDIM and DPM-Solver++ 2M; and from the same seed with
//! `--noise torch`, Euler ancestral and DDPM, whose steps draw noise (guidance draws none).
//!
//! Tolerance: as the unguided loops of these samplers (tests/dpm_solver.rs, tests/samplers.rs):
//! diffusers runs the UNet and the steps in f32; the guided output amplifies the two passes'
//! difference w times, and this random model's samples reach |x| ~ 100 (relative errors stay
//! near f32's: measured below 1e-6, the printed lines), so the bound is 1e-5 of the largest
//! value.

mod common;

use common::cli::{ddpm, read_f32, rel_error, tmp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/class_cond")
}

#[test]
fn guided_loops_match_diffusers() {
    let Some(_ctx) = common::gpu() else { return };
    let text = std::fs::read_to_string(dir().join("guided/cases.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(cases.len(), 4);
    let tmp = tmp_dir("guided-conformance");
    let model = dir().join("embedding").display().to_string();
    for case in &cases {
        let name = case["case"].as_str().unwrap();
        let labels: Vec<String> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.to_string())
            .collect();
        let (labels, count) = (labels.join(","), labels.len().to_string());
        let steps = case["steps"].to_string();
        let w = case["guidance_scale"].to_string();
        let x_t = dir()
            .join(format!("guided/{name}_x_t.npy"))
            .display()
            .to_string();
        let (_, want) = read_f32(&dir().join(format!("guided/{name}_out.npy")));
        for dev in ["gpu", "cpu"] {
            let out = tmp.join(format!("{name}_{dev}.npy"));
            let o = out.display().to_string();
            let mut args = vec!["sample", "--model", &model, "--count", &count, "--quiet"];
            args.extend([
                "--sampler",
                case["sampler"].as_str().unwrap(),
                "--steps",
                &steps,
            ]);
            args.extend(["--class", &labels, "--guidance-scale", &w]);
            // The stochastic cases replay diffusers' generator: x_T, then each step's draws for
            // the B samples (none for guidance); the others start from its x_T.
            let seed = case["seed"].to_string();
            if case["noise"] == "torch" {
                args.extend(["--noise", "torch", "--seed", &seed]);
            } else {
                args.extend(["--x-t", &x_t]);
            }
            args.extend(["--device", dev, "--out", &o]);
            if case["options"]["clip_sample"] == Value::Bool(false) {
                args.extend(["--clip-denoised", "false"]);
            }
            let rescale = case["guidance_rescale"].to_string();
            if !case["guidance_rescale"].is_null() {
                args.extend(["--guidance-rescale", &rescale]);
            }
            let r = ddpm(&args);
            assert_eq!(r.code, 0, "{name} {dev}: {:?}", r.stderr_lines);
            let e = rel_error(&out, &want);
            eprintln!("{name} on {dev}: {e:.2e} of the largest value");
            assert!(e < 1e-5, "{name} on {dev}: {e:.3e}");
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
