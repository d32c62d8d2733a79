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
        (vec!["--sampler", "dpm++4m", "--steps", "5"], "dpm++4m"),
        (
            vec!["--sampler", "heun", "--steps", "5", "--order", "2"],
            "not Heun's",
        ),
    ] {
        let mut all = vec!["sample", "--model", &folder, "--count", "2", "--quiet"];
        all.extend(args.iter().copied());
        common::cli::assert_refused(&all, needle, &dir.join("refused.npy"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model folder whose scheduler config is a DPMSolverMultistepScheduler as diffusers'
/// `save_config` writes it (tests/fixtures/dpm_solver/scheduler_config.json: Python's
/// `-Infinity`, the DDPM keys from_config carried over) samples with DPM-Solver++ and no
/// `--sampler`: diffusers' loop of eps_leading_10 again. A class ddpm does not sample with is
/// refused by name unless `--sampler` picks one (the config's schedule is kept then).
#[test]
fn a_dpm_solver_scheduler_config_selects_it() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = std::env::temp_dir().join(format!("ddpm-dpm-config-{}", std::process::id()));
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    let unet = common::unet::fixture("attn_two_levels_heads");
    for f in ["config.json", "diffusion_pytorch_model.safetensors"] {
        std::fs::copy(unet.join(f), model.join(f)).unwrap();
    }
    let config = std::fs::read_to_string(fixtures().join("scheduler_config.json")).unwrap();
    assert!(config.contains("-Infinity"));
    std::fs::write(model.join("scheduler_config.json"), &config).unwrap();
    let m = model.display().to_string();
    let x_t = fixtures()
        .join("eps_leading_10_x_t.npy")
        .display()
        .to_string();
    let out = dir.join("out.npy").display().to_string();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .args([
                "sample", "--model", &m, "--count", "2", "--quiet", "--out", &out,
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let r = run(&["--steps", "10", "--x-t", &x_t]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stdout).contains("dpm++2m"));
    let got = match npy::read(&out).unwrap().data {
        NpyData::F32(v) => v,
        other => panic!("{other:?}"),
    };
    let (_, want) = read_f32("eps_leading_10_out.npy");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f32, f32::max);
    assert!(worst / scale < 1e-4, "{worst} of {scale}");

    let kdpm2 = config.replace("DPMSolverMultistepScheduler", "KDPM2DiscreteScheduler");
    std::fs::write(model.join("scheduler_config.json"), kdpm2).unwrap();
    std::fs::remove_file(&out).unwrap();
    let r = run(&["--steps", "3"]);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains("KDPM2DiscreteScheduler"),
        "{err}"
    );
    assert!(!std::path::Path::new(&out).exists());
    let r = run(&["--steps", "3", "--sampler", "ddim"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// DPM-Solver's lu and Karras timesteps on the squared-cosine schedule are truncated, as
/// diffusers' class takes them there (tests/fixtures/dpm_solver/sigma_lists.json has the
/// lists): `ddpm timesteps` of such a config.
#[test]
fn cosine_schedule_truncates_dpm_solver_timesteps() {
    let dir = common::cli::tmp_dir("dpm-cosine");
    let config = common::cli::write_text(
        &dir,
        "lu.json",
        r#"{"_class_name": "DPMSolverMultistepScheduler", "beta_schedule": "squaredcos_cap_v2",
            "use_lu_lambdas": true}"#,
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(["timesteps", "--scheduler-config", &config, "--steps", "5"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "999 997 942 160 0"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
