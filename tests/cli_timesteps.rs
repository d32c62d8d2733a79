//! `ddpm timesteps --scheduler-config S.json --steps N`: diffusers' `set_timesteps(N)` of the
//! config's class, its timesteps and (`--sigmas-out`) sigmas, against the fixtures of
//! tests/fixtures/unipc/ and dpm_solver/.

mod common;

use ddpm_wgpu::npy::{self, NpyData};
use std::process::Command;

/// `ddpm timesteps --scheduler-config S.json --steps N --out T.npy --sigmas-out S.npy`:
/// diffusers' `set_timesteps(N)` for every UniPC and DPM-Solver fixture case's config (its
/// timesteps exactly, and UniPC's sigmas, the final one included, within what diffusers' f32
/// abar moves them by (the bound is written at the comparison; measured fraction of it
/// printed); a DDIM config's timesteps; and the refusals.
#[test]
fn timesteps_and_sigmas_of_a_config_are_diffusers() {
    let dir = std::env::temp_dir().join(format!("ddpm-unipc-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .arg("timesteps")
            .args(args)
            .output()
            .unwrap()
    };
    let (t_out, s_out) = (dir.join("t.npy"), dir.join("s.npy"));
    let (t, s) = (t_out.to_str().unwrap(), s_out.to_str().unwrap());
    let mut worst = 0.0f64;
    for (fixtures, class) in [
        ("unipc", "UniPCMultistepScheduler"),
        ("dpm_solver", "DPMSolverMultistepScheduler"),
    ] {
        let all = common::dpm::cases_of(fixtures);
        for case in all["cases"].as_array().unwrap() {
            let mut config = case["options"].as_object().unwrap().clone();
            config.insert("_class_name".into(), class.into());
            // The fixtures' model folders are DDPMSchedulers: leading unless the case says.
            config.entry("timestep_spacing").or_insert("leading".into());
            let path = dir.join("config.json");
            std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
            let n = case["steps"].to_string();
            let p = path.to_str().unwrap();
            let r = run(&[
                "--scheduler-config",
                p,
                "--steps",
                &n,
                "--out",
                t,
                "--sigmas-out",
                s,
            ]);
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            let ts = match npy::read(&t_out).unwrap().data {
                NpyData::I64(v) => v,
                other => panic!("{other:?}"),
            };
            let want: Vec<i64> = case["timesteps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect();
            assert_eq!(ts, want, "{}", case["case"]);
            let Some(want) = case["sigmas"].as_array() else {
                continue;
            };
            let sigmas = match npy::read(&s_out).unwrap().data {
                NpyData::F32(v) => v,
                other => panic!("{other:?}"),
            };
            assert_eq!(sigmas.len(), want.len());
            for (g, w) in sigmas.iter().zip(want) {
                let w = w.as_f64().unwrap();
                // diffusers' abar = 1 / (1 + sigma^2) carries f32 rounding, about 6e-8 near 1
                // and up to 1e-6 relative from the 1000 products of its cumprod; it moves
                // sigma by d abar / (2 sigma abar^2). Our sigmas are f64's, rounded once.
                let a = 1.0 / (1.0 + w * w);
                let bound = if w == 0.0 {
                    0.0
                } else {
                    (1e-6 * a + 6e-8) / (2.0 * w * a * a) + 1.2e-7 * w
                };
                let d = (f64::from(*g) - w).abs();
                worst = worst.max(if bound > 0.0 { d / bound } else { d });
                assert!(d <= bound, "{}: {g} {w}", case["case"]);
            }
        }
    }
    println!("worst sigma difference: {worst:.3} of its bound");
    // A minimal UniPC config spaces by linspace, as its class does.
    let minimal = dir.join("minimal.json");
    std::fs::write(&minimal, r#"{"_class_name": "UniPCMultistepScheduler"}"#).unwrap();
    let r = run(&[
        "--scheduler-config",
        minimal.to_str().unwrap(),
        "--steps",
        "4",
    ]);
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "999 749 500 250");
    let ddim = dir.join("ddim.json");
    std::fs::write(
        &ddim,
        r#"{"_class_name": "DDIMScheduler", "timestep_spacing": "trailing"}"#,
    )
    .unwrap();
    let d = ddim.to_str().unwrap();
    let r = run(&["--scheduler-config", d, "--steps", "4"]);
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), "999 749 499 249");
    for (args, needle) in [
        (
            vec!["--scheduler-config", d, "--steps", "4", "--sigmas-out", s],
            "no sigmas",
        ),
        (
            vec!["--steps", "4", "--sigmas-out", s],
            "--scheduler-config",
        ),
        (
            vec!["--scheduler-config", d, "--steps", "4", "--timesteps", "50"],
            "--timesteps",
        ),
    ] {
        let _ = std::fs::remove_file(&s_out);
        let r = run(&args);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            !r.status.success() && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!s_out.exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
