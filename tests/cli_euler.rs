//! `ddpm sample --sampler euler|euler-a|lms` and Euler and LMS scheduler configs against
//! diffusers'
//! loops (tests/fixtures/euler/; the library side is tests/euler.rs), `ddpm timesteps` of an
//! Euler config, and the refusals in one line with no output file.

mod common;

use common::dpm::{fixtures_of, read_f32_of};
use ddpm_wgpu::npy::{self, NpyData};
use std::process::{Command, Output};

fn ddpm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(args)
        .output()
        .unwrap()
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ddpm-euler-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Short names and a config file reproduce diffusers' Euler and Euler ancestral loops (the
/// ancestral one from the same torch seed) within the bound of tests/euler.rs.
#[test]
fn euler_samples_as_diffusers_does() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = tmp("cli");
    let folder = common::unet::fixture("attn_two_levels_heads")
        .display()
        .to_string();
    let config = dir.join("euler.json");
    std::fs::write(
        &config,
        r#"{"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "leading",
            "prediction_type": "v_prediction"}"#,
    )
    .unwrap();
    let config = config.display().to_string();
    // The class's defaults: linspace spacing, x_T = sigma_max z.
    let linspace = dir.join("lin.json");
    std::fs::write(&linspace, r#"{"_class_name": "EulerDiscreteScheduler"}"#).unwrap();
    let linspace = linspace.display().to_string();
    let lms_config = dir.join("lms.json");
    std::fs::write(
        &lms_config,
        r#"{"_class_name": "LMSDiscreteScheduler", "timestep_spacing": "leading",
            "prediction_type": "v_prediction", "steps_offset": 1}"#,
    )
    .unwrap();
    let lms_config = lms_config.display().to_string();
    let z = |case: &str| {
        fixtures_of("euler")
            .join(format!("{case}_x_t.npy"))
            .display()
            .to_string()
    };
    let (z10, z7) = (z("euler_eps_10"), z("euler_v_7"));
    let (l10, l8) = (z("lms_eps_10"), z("lms_v_offset_8"));
    let t8 = z("euler_trailing_8");
    let e8l = z("euler_linspace_8");
    let k8 = z("euler_karras_8");
    let c6 = z("euler_continuous_v_6");
    let continuous = dir.join("continuous.json");
    std::fs::write(
        &continuous,
        r#"{"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "leading",
            "prediction_type": "v_prediction", "timestep_type": "continuous"}"#,
    )
    .unwrap();
    let continuous = continuous.display().to_string();
    let cases: [(&str, Vec<&str>, &str); 9] = [
        (
            "euler_continuous_v_6",
            vec![
                "--scheduler-config",
                &continuous,
                "--steps",
                "6",
                "--x-t",
                &c6,
            ],
            "6 euler steps (6 model evaluations)",
        ),
        (
            "euler_karras_8",
            vec![
                "--sampler",
                "euler",
                "--spacing",
                "linspace",
                "--sigmas",
                "karras",
                "--steps",
                "8",
                "--x-t",
                &k8,
            ],
            "8 euler steps (8 model evaluations)",
        ),
        (
            "euler_linspace_8",
            vec![
                "--scheduler-config",
                &linspace,
                "--steps",
                "8",
                "--x-t",
                &e8l,
            ],
            "8 euler steps (8 model evaluations)",
        ),
        (
            "euler_trailing_8",
            vec![
                "--sampler",
                "euler",
                "--spacing",
                "trailing",
                "--steps",
                "8",
                "--x-t",
                &t8,
            ],
            "8 euler steps",
        ),
        (
            "lms_eps_10",
            vec!["--sampler", "lms", "--steps", "10", "--x-t", &l10],
            "10 lms steps",
        ),
        (
            "lms_v_offset_8",
            vec![
                "--scheduler-config",
                &lms_config,
                "--steps",
                "8",
                "--x-t",
                &l8,
            ],
            "8 lms steps",
        ),
        (
            "euler_eps_10",
            vec!["--sampler", "euler", "--steps", "10", "--x-t", &z10],
            "10 euler steps",
        ),
        (
            "euler_v_7",
            vec!["--scheduler-config", &config, "--steps", "7", "--x-t", &z7],
            "7 euler steps",
        ),
        (
            "euler_a_eps_10",
            vec![
                "--sampler",
                "euler-a",
                "--steps",
                "10",
                "--noise",
                "torch",
                "--seed",
                "45",
            ],
            "10 euler-a steps",
        ),
    ];
    for (case, args, line) in cases {
        let out = dir.join(format!("{case}.npy"));
        let o = out.display().to_string();
        let mut all = vec!["sample", "--model", &folder, "--count", "2", "--quiet"];
        all.extend(args);
        all.extend(["--out", &o]);
        let r = ddpm(&all);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert!(stdout.contains(line), "{stdout}");
        let got = match npy::read(&out).unwrap().data {
            NpyData::F32(v) => v,
            other => panic!("{other:?}"),
        };
        let (_, want) = read_f32_of("euler", &format!("{case}_out.npy"));
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let e = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0f32, f32::max)
            / scale;
        // As tests/euler.rs: 1e-5 catches a missing x_T scale with trailing spacing.
        assert!(e < 1e-5, "{case}: {e:.3e}");
    }
    // ddpm timesteps of an Euler config: its leading timesteps; of the class's default
    // (linspace), float32 timesteps between integers, written as float64.
    let r = ddpm(&["timesteps", "--scheduler-config", &config, "--steps", "4"]);
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "750 500 250 0");
    let r = ddpm(&["timesteps", "--scheduler-config", &linspace, "--steps", "5"]);
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        "999 749.25 499.5 249.75 0"
    );
    let t_npy = dir.join("t.npy");
    let t = t_npy.display().to_string();
    let r = ddpm(&[
        "timesteps",
        "--scheduler-config",
        &linspace,
        "--steps",
        "5",
        "--out",
        &t,
    ]);
    assert!(r.status.success());
    match npy::read(&t_npy).unwrap().data {
        NpyData::F64(v) => assert_eq!(v, vec![999.0, 749.25, 499.5, 249.75, 0.0]),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_euler_does_not_run_is_refused_in_one_line() {
    let dir = tmp("bad");
    let folder = common::unet::fixture("attn_two_levels_heads")
        .display()
        .to_string();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let karras = write(
        "karras.json",
        r#"{"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "leading",
            "use_karras_sigmas": true, "sigma_min": 0.0}"#,
    );
    let log_linear = write(
        "log_linear.json",
        r#"{"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "leading",
            "interpolation_type": "log_linear"}"#,
    );
    let lms_karras = write(
        "lms_karras.json",
        r#"{"_class_name": "LMSDiscreteScheduler", "use_beta_sigmas": true,
            "use_karras_sigmas": true}"#,
    );
    let out = dir.join("o.npy");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--scheduler-config", &karras, "--steps", "5"],
            "sigma_min",
        ),
        (
            vec![
                "--sampler",
                "euler",
                "--steps",
                "5",
                "--spacing",
                "improved:ddim5",
            ],
            "leading, linspace or trailing",
        ),
        (vec!["--sampler", "euler"], "--steps"),
        (
            vec![
                "--sampler",
                "euler-a",
                "--steps",
                "5",
                "--final-sigma",
                "sigma-min",
            ],
            "sigma zero only",
        ),
        (
            vec!["--sampler", "euler", "--steps", "5", "--order", "2"],
            "not Euler's",
        ),
        (
            vec!["--sampler", "euler", "--steps", "5", "--thresholding"],
            "thresholding",
        ),
        (
            vec!["--sampler", "euler", "--steps", "5", "--eta", "0.5"],
            "--eta",
        ),
        (
            vec!["--sampler", "heun", "--steps", "5", "--thresholding"],
            "thresholding",
        ),
        (
            vec!["--sampler", "lms", "--steps", "5", "--order", "5"],
            "order 5",
        ),
        (
            vec!["--sampler", "lms", "--steps", "5", "--final-sigma", "zero"],
            "not LMS's",
        ),
        (
            vec!["--scheduler-config", &lms_karras, "--steps", "5"],
            "use_karras_sigmas and use_beta_sigmas",
        ),
        (
            vec!["--scheduler-config", &log_linear, "--steps", "5"],
            "interpolation_type",
        ),
        (
            vec!["--sampler", "euler", "--steps", "5", "--sigmas", "lu"],
            "DPM-Solver's",
        ),
        (
            vec!["--sampler", "euler-a", "--steps", "5", "--sigmas", "karras"],
            "not Euler ancestral's",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["sample", "--model", &folder, "--count", "1", "--quiet"];
        all.extend(args.iter().copied());
        common::cli::assert_refused(&all, needle, &out);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
