//! `ddpm sample --sampler dpm++2m` and `dpm++2m-sde` against diffusers' DPMSolverMultistepScheduler
//! loops (tests/fixtures/dpm_solver/; the library side is tests/dpm_solver.rs).

mod common;

use common::dpm::{fixtures, read_f32};
use ddpm_wgpu::npy::{self, NpyData};

/// `ddpm sample --sampler dpm++2m` (and `dpm++2m-sde`) on a model folder: the folder's
/// DDPMScheduler config taken into DPM-Solver++ as diffusers' `from_config` takes it, giving
/// diffusers' loops of the fixtures (eps_leading_10 from its x_T, sde_midpoint_10 from the torch
/// seed) within the bound of `loops_match_diffusers_on_gpu_and_cpu`; DDIM's options, a missing
/// --steps and an unknown name refused in one line, with no output file.
#[test]
fn the_command_line_samples_as_diffusers_does() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = std::env::temp_dir().join(format!("ddpm-dpm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let folder = common::unet::fixture("attn_two_levels_heads");
    let folder = folder.display().to_string();
    let x_t = fixtures()
        .join("eps_leading_10_x_t.npy")
        .display()
        .to_string();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .args(["sample", "--model", &folder, "--count", "2", "--quiet"])
            .args(args)
            .output()
            .unwrap()
    };
    for (case, args) in [
        (
            "eps_leading_10",
            vec!["--sampler", "dpm++2m", "--x-t", &x_t],
        ),
        (
            "sde_midpoint_10",
            vec![
                "--sampler",
                "dpm++2m-sde",
                "--noise",
                "torch",
                "--seed",
                "9",
            ],
        ),
    ] {
        let out = dir.join(format!("{case}.npy")).display().to_string();
        let mut all = args.clone();
        all.extend(["--steps", "10", "--out", &out]);
        let r = run(&all);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let got = match npy::read(&out).unwrap().data {
            NpyData::F32(v) => v,
            other => panic!("{other:?}"),
        };
        let (_, want) = read_f32(&format!("{case}_out.npy"));
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0f32, f32::max);
        assert!(worst / scale < 1e-4, "{case}: {worst} of {scale}");
    }
    for (args, needle) in [
        (vec!["--sampler", "dpm++2m"], "--steps"),
        (
            vec!["--sampler", "dpm++2m", "--steps", "5", "--eta", "0.5"],
            "--eta",
        ),
        (vec!["--sampler", "dpm++3m", "--steps", "5"], "dpm++3m"),
    ] {
        let out = dir.join("refused.npy");
        let mut all = args.clone();
        let o = out.display().to_string();
        all.extend(["--out", &o]);
        let r = run(&all);
        let err = String::from_utf8_lossy(&r.stderr);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
            .collect();
        assert!(!r.status.success(), "{args:?}");
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(lines[0].contains(needle), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote {o}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
