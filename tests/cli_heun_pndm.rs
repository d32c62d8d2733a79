//! `ddpm sample --sampler heun|pndm` and Heun and PNDM scheduler configs against diffusers'
//! loops (tests/fixtures/heun_pndm/; the library side is tests/heun_pndm.rs), `ddpm timesteps`
//! of their configs (visits repeated, Heun's sigmas interleaved), and the refusals in one line
//! with no output file.

mod common;

use common::cli::{assert_refused, read_f32, rel_error, tmp_dir as tmp, write_text as write};
use common::dpm::{cases_of, fixtures_of, read_f32_of};
use serde_json::Value;
use std::process::{Command, Output};

const DIR: &str = "heun_pndm";

/// The binary's whole output (the runs here read its stdout).
fn ddpm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(args)
        .output()
        .unwrap()
}

fn case(name: &str) -> Value {
    let all = cases_of(DIR);
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"] == name)
        .unwrap()
        .clone()
}

/// Short names over the model folder's DDPMScheduler config (diffusers' `from_config`: Heun
/// keeps its clip_sample) and config files reproduce diffusers' loops within the bounds of
/// tests/heun_pndm.rs (1e-4 where x_0 is clipped, else 1e-5); the output line gives N and
/// the model evaluations.
#[test]
fn heun_and_pndm_sample_as_diffusers_does() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = tmp("heun-cli");
    let folder = common::unet::fixture("attn_two_levels_heads")
        .display()
        .to_string();
    let plms = write(
        &dir,
        "plms.json",
        r#"{"_class_name": "PNDMScheduler", "skip_prk_steps": true}"#,
    );
    let prk = write(&dir, "prk.json", r#"{"_class_name": "PNDMScheduler"}"#);
    // The class's defaults: linspace spacing (float32 timesteps between integers), no clip.
    let heun = write(
        &dir,
        "heun.json",
        r#"{"_class_name": "HeunDiscreteScheduler"}"#,
    );
    let z = |case: &str| {
        fixtures_of(DIR)
            .join(format!("{case}_x_t.npy"))
            .display()
            .to_string()
    };
    let (h6, h5t, p8, p6) = (
        z("heun_eps_6"),
        z("heun_trailing_5"),
        z("pndm_prk_eps_8"),
        z("pndm_plms_eps_6"),
    );
    let h5l = z("heun_linspace_5");
    let cases: [(&str, Vec<&str>, &str, f32); 7] = [
        (
            "heun_linspace_5",
            vec!["--scheduler-config", &heun, "--steps", "5", "--x-t", &h5l],
            "5 heun steps (9 model evaluations)",
            1e-5,
        ),
        (
            "heun_eps_6",
            vec!["--sampler", "heun", "--steps", "6", "--x-t", &h6],
            "6 heun steps (11 model evaluations)",
            1e-4,
        ),
        (
            "heun_trailing_5",
            vec![
                "--sampler",
                "heun",
                "--spacing",
                "trailing",
                "--clip-denoised",
                "false",
                "--steps",
                "5",
                "--x-t",
                &h5t,
            ],
            "5 heun steps (9 model evaluations)",
            1e-5,
        ),
        (
            "pndm_prk_eps_8",
            vec!["--sampler", "pndm", "--steps", "8", "--x-t", &p8],
            "8 pndm steps (17 model evaluations)",
            1e-5,
        ),
        (
            "pndm_prk_eps_8",
            vec!["--scheduler-config", &prk, "--steps", "8", "--x-t", &p8],
            "8 pndm steps (17 model evaluations)",
            1e-5,
        ),
        (
            "pndm_plms_eps_6",
            vec!["--scheduler-config", &plms, "--steps", "6", "--x-t", &p6],
            "6 pndm steps (7 model evaluations)",
            1e-5,
        ),
        // The flag over the model folder's DDPMScheduler config: from_config with
        // skip_prk_steps=True.
        (
            "pndm_plms_eps_6",
            vec![
                "--sampler",
                "pndm",
                "--skip-prk-steps",
                "true",
                "--steps",
                "6",
                "--x-t",
                &p6,
            ],
            "6 pndm steps (7 model evaluations)",
            1e-5,
        ),
    ];
    let batch = |name: &str| case(name)["batch"].as_u64().unwrap().to_string();
    for (name, args, line, bound) in cases {
        let out = dir.join(format!("{name}.npy"));
        let o = out.display().to_string();
        let count = batch(name);
        let mut all = vec!["sample", "--model", &folder, "--count", &count, "--quiet"];
        all.extend(args);
        all.extend(["--out", &o]);
        let r = ddpm(&all);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let stdout = String::from_utf8_lossy(&r.stdout);
        assert!(stdout.contains(line), "{stdout}");
        let (_, want) = read_f32_of(DIR, &format!("{name}_out.npy"));
        let e = rel_error(&out, &want);
        assert!(e < bound, "{name}: {e:.3e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `ddpm timesteps` of a Heun and a PNDM config: diffusers' `timesteps` (a timestep visited
/// twice is listed twice) and Heun's interleaved `sigmas`, as the fixtures recorded them.
#[test]
fn timesteps_of_heun_and_pndm_configs_are_diffusers() {
    let dir = tmp("heun-timesteps");
    let heun = write(
        &dir,
        "heun.json",
        r#"{"_class_name": "HeunDiscreteScheduler", "timestep_spacing": "trailing"}"#,
    );
    let pndm = write(&dir, "pndm.json", r#"{"_class_name": "PNDMScheduler"}"#);
    let listed = |c: &Value| -> String {
        let ts = c["timesteps"].as_array().unwrap().iter();
        let ts: Vec<String> = ts
            .map(|t| (t.as_f64().unwrap() as i64).to_string())
            .collect();
        ts.join(" ")
    };
    let sigmas = dir.join("sigmas.npy");
    let s = sigmas.display().to_string();
    let r = ddpm(&[
        "timesteps",
        "--scheduler-config",
        &heun,
        "--steps",
        "5",
        "--sigmas-out",
        &s,
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let want = case("heun_trailing_5");
    assert_eq!(String::from_utf8_lossy(&r.stdout).trim(), listed(&want));
    let (_, got) = read_f32(&sigmas);
    let want_sigmas: Vec<f32> = want["sigmas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got.len(), want_sigmas.len());
    for (g, w) in got.iter().zip(&want_sigmas) {
        // Both are the f32 of the table's sigma; diffusers' table is float32 torch.
        assert!((g - w).abs() <= 2e-6 * w.abs().max(1.0), "{g} vs {w}");
    }
    let r = ddpm(&["timesteps", "--scheduler-config", &pndm, "--steps", "8"]);
    assert_eq!(
        String::from_utf8_lossy(&r.stdout).trim(),
        listed(&case("pndm_prk_eps_8"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_heun_and_pndm_do_not_run_is_refused_in_one_line() {
    let dir = tmp("heun-bad");
    let folder = common::unet::fixture("attn_two_levels_heads")
        .display()
        .to_string();
    let karras = write(
        &dir,
        "karras.json",
        r#"{"_class_name": "HeunDiscreteScheduler", "use_exponential_sigmas": true,
            "use_karras_sigmas": true}"#,
    );
    let sample = write(
        &dir,
        "sample.json",
        r#"{"_class_name": "PNDMScheduler", "prediction_type": "sample"}"#,
    );
    let out = dir.join("o.npy");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--scheduler-config", &karras, "--steps", "5"],
            "use_karras_sigmas and use_exponential_sigmas",
        ),
        (
            vec!["--scheduler-config", &sample, "--steps", "5"],
            "PNDM reads eps or v",
        ),
        (
            vec!["--sampler", "pndm", "--steps", "3"],
            "4 timesteps or more",
        ),
        (vec!["--sampler", "heun"], "--steps"),
        (
            vec!["--sampler", "heun", "--steps", "5", "--eta", "0.5"],
            "--eta",
        ),
        (
            vec![
                "--sampler",
                "heun",
                "--steps",
                "5",
                "--skip-prk-steps",
                "true",
            ],
            "--skip-prk-steps is PNDM's",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["sample", "--model", &folder, "--count", "1", "--quiet"];
        all.extend(args.iter().copied());
        assert_refused(&all, needle, &out);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
