//! `ddpm sample` with UniPC and DPM-Solver++ 3M, by short name with the multistep flags and by
//! `--scheduler-config`, against diffusers' loops (tests/fixtures/unipc/ and dpm_solver/; the
//! library side is tests/unipc.rs and tests/dpm_solver.rs); and the refusals of the flags and
//! configs, in one line with no output file.

mod common;

use common::dpm::{fixtures_of, read_f32_of};
use ddpm_wgpu::npy::{self, NpyData};
use std::path::Path;
use std::process::{Command, Output};

fn sample(folder: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(["sample", "--model", folder, "--count", "2", "--quiet"])
        .args(args)
        .output()
        .unwrap()
}

/// The worst |got - want| / max |want| of `out` against fixture `dir/case`.
fn rel_error(out: &Path, dir: &str, case: &str) -> f32 {
    let got = match npy::read(out).unwrap().data {
        NpyData::F32(v) => v,
        other => panic!("{other:?}"),
    };
    let (_, want) = read_f32_of(dir, &format!("{case}_out.npy"));
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    got.iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f32, f32::max)
        / scale
}

/// Short names with flags and a diffusers-saved config reproduce diffusers' loops from their
/// x_T, within the bound of tests/unipc.rs (1e-4 of the largest value). The fixture model's
/// own config is a DDPMScheduler: `--sampler unipc` takes it into UniPC as diffusers'
/// `from_config` does; `--scheduler-config` replaces it.
#[test]
fn short_names_flags_and_config_files_sample_as_diffusers_does() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = std::env::temp_dir().join(format!("ddpm-unipc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let folder = common::unet::fixture("attn_two_levels_heads")
        .display()
        .to_string();
    let x_t = |dir: &str, case: &str| {
        fixtures_of(dir)
            .join(format!("{case}_x_t.npy"))
            .display()
            .to_string()
    };
    let config = fixtures_of("unipc").join("scheduler_config.json");
    let config = config.display().to_string();
    let cases: [(&str, &str, Vec<&str>, &str); 6] = [
        (
            "unipc",
            "bh2_eps_leading_10",
            vec!["--sampler", "unipc", "--steps", "10"],
            "unipc",
        ),
        (
            "unipc",
            "order1_7",
            vec!["--sampler", "unipc", "--order", "1", "--steps", "7"],
            "unipc",
        ),
        (
            "unipc",
            "bh2_order3_linspace_12",
            vec!["--scheduler-config", &config, "--steps", "12"],
            "unipc",
        ),
        (
            "dpm_solver",
            "order3_12",
            vec!["--sampler", "dpm++3m", "--steps", "12"],
            "dpm++3m",
        ),
        (
            "dpm_solver",
            "karras_12",
            vec![
                "--sampler",
                "dpm++2m",
                "--sigmas",
                "karras",
                "--steps",
                "12",
            ],
            "dpm++2m",
        ),
        (
            "unipc",
            "exponential_order3_12",
            vec![
                "--sampler",
                "unipc",
                "--sigmas",
                "exponential",
                "--order",
                "3",
                "--steps",
                "12",
            ],
            "unipc",
        ),
    ];
    for (fixture_dir, case, args, name) in cases {
        let out = dir.join(format!("{case}.npy"));
        let o = out.display().to_string();
        let xt = x_t(fixture_dir, case);
        let mut all = args.clone();
        all.extend(["--x-t", &xt, "--out", &o]);
        let r = sample(&folder, &all);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let line = String::from_utf8_lossy(&r.stdout);
        assert!(line.contains(&format!(" {name} steps")), "{line}");
        assert!(line.contains("model evaluations"), "{line}");
        let e = rel_error(&out, fixture_dir, case);
        assert!(e < 1e-4, "{case}: {e:.3e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad flags and configs: one line on stderr, a non-zero exit, no output file.
#[test]
fn bad_flags_and_configs_are_refused_in_one_line() {
    let dir = std::env::temp_dir().join(format!("ddpm-unipc-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let folder = common::unet::fixture("attn_two_levels_heads")
        .display()
        .to_string();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let flow = write(
        "flow.json",
        r#"{"_class_name": "UniPCMultistepScheduler", "flow_shift": 3.0}"#,
    );
    let karras = write(
        "karras.json",
        r#"{"_class_name": "UniPCMultistepScheduler", "use_karras_sigmas": true,
            "use_exponential_sigmas": true}"#,
    );
    let not_json = write("bad.json", "{solver_order: 2");
    let order4 = write(
        "order4.json",
        r#"{"_class_name": "DPMSolverMultistepScheduler", "solver_order": 4}"#,
    );
    let euler = write("euler.json", r#"{"_class_name": "EulerDiscreteScheduler"}"#);
    let missing = dir.join("missing.json").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--scheduler-config", &flow, "--steps", "5"],
            "flow_shift",
        ),
        (
            vec!["--scheduler-config", &karras, "--steps", "5"],
            "use_karras_sigmas and use_exponential_sigmas",
        ),
        (
            vec!["--scheduler-config", &not_json, "--steps", "5"],
            "not JSON",
        ),
        (
            vec!["--scheduler-config", &order4, "--steps", "5"],
            "solver_order",
        ),
        (
            vec!["--scheduler-config", &euler, "--steps", "5"],
            "EulerDiscreteScheduler",
        ),
        (
            vec!["--scheduler-config", &missing, "--steps", "5"],
            "missing.json",
        ),
        (
            vec!["--sampler", "unipc", "--steps", "5", "--sigmas", "lu"],
            "--sigmas lu",
        ),
        (
            vec!["--sampler", "unipc", "--steps", "5", "--sigmas", "kras"],
            "kras",
        ),
        (
            vec!["--sampler", "ddim", "--steps", "5", "--sigmas", "karras"],
            "--sigmas",
        ),
        // Karras sigmas at 100 of 1000 steps call the model at a timestep twice.
        (
            vec![
                "--sampler",
                "dpm++2m",
                "--steps",
                "100",
                "--sigmas",
                "karras",
            ],
            "twice",
        ),
        (
            vec![
                "--sampler",
                "dpm++2m",
                "--sigmas",
                "beta",
                "--respace",
                "10",
            ],
            "--respace",
        ),
        (
            vec!["--sampler", "unipc", "--steps", "5", "--order", "4"],
            "solver_order",
        ),
        (
            vec!["--sampler", "ddim", "--steps", "5", "--order", "2"],
            "--order",
        ),
        (
            vec!["--sampler", "unipc", "--steps", "5", "--final-sigma", "one"],
            "one",
        ),
        (
            vec![
                "--sampler",
                "unipc",
                "--steps",
                "5",
                "--lower-order-final",
                "false",
            ],
            "lower_order_final",
        ),
        (vec!["--sampler", "unipc"], "--steps"),
        (
            vec!["--sampler", "unipc", "--steps", "5", "--eta", "0.5"],
            "--eta",
        ),
        (vec!["--sampler", "pndm", "--steps", "5"], "PNDMScheduler"),
        (
            vec!["--sampler", "unipc", "--steps", "5", "--order", "x"],
            "--order",
        ),
    ];
    for (args, needle) in cases {
        let out = dir.join("out.npy");
        let o = out.display().to_string();
        let mut all = args.clone();
        all.extend(["--out", &o]);
        let r = sample(&folder, &all);
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
