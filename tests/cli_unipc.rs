//! `ddpm sample` with UniPC and DPM-Solver++ 3M, by short name with the multistep flags and by
//! `--scheduler-config`, against diffusers' loops (tests/fixtures/unipc/ and dpm_solver/; the
//! library side is tests/unipc.rs and tests/dpm_solver.rs); and the refusals of the flags and
//! configs, in one line with no output file.

mod common;

use common::dpm::{fixtures_of, read_f32_of};
use ddpm_wgpu::npy::{self, NpyData};
use std::path::Path;
use std::process::{Command, Output};

fn sample(folder: &str, count: usize, args: &[&str]) -> Output {
    let count = count.to_string();
    Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(["sample", "--model", folder, "--count", &count, "--quiet"])
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
    // A DPM-Solver config with lambda clipping: trailing from the clipped end, 8 of 10 steps.
    let clipped = dir.join("clipped.json");
    std::fs::write(
        &clipped,
        r#"{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -3.0,
            "timestep_spacing": "trailing"}"#,
    )
    .unwrap();
    let clipped = clipped.display().to_string();
    let cases: [(&str, &str, Vec<&str>, &str); 8] = [
        (
            "dpm_solver",
            "clipped_trailing_10",
            vec!["--scheduler-config", &clipped, "--steps", "10"],
            "dpm++2m",
        ),
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
        // Exponential sigmas at 30 steps visit t = 0 twice, as diffusers does.
        (
            "dpm_solver",
            "exponential_repeat_30",
            vec![
                "--sampler",
                "dpm++2m",
                "--sigmas",
                "exponential",
                "--steps",
                "30",
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
        let count = read_f32_of(fixture_dir, &format!("{case}_x_t.npy")).0[0];
        let r = sample(&folder, count, &all);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let line = String::from_utf8_lossy(&r.stdout);
        assert!(line.contains(&format!(" {name} steps")), "{line}");
        if case == "clipped_trailing_10" {
            assert!(line.contains("8 dpm++2m steps"), "{line}");
        }
        if case == "exponential_repeat_30" {
            assert!(
                line.contains("30 dpm++2m steps (30 model evaluations)"),
                "{line}"
            );
        }
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
    let single = write(
        "single.json",
        r#"{"_class_name": "DPMSolverSinglestepScheduler"}"#,
    );
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
            vec!["--scheduler-config", &single, "--steps", "5"],
            "DPMSolverSinglestepScheduler",
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
        // Karras sigmas at 100 of 1000 steps call the model at a timestep twice: the SDE's
        // noise is keyed by timestep.
        (
            vec![
                "--sampler",
                "dpm++2m-sde",
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
        (
            vec!["--sampler", "pndm", "--steps", "5", "--order", "2"],
            "PNDM's",
        ),
        (
            vec!["--sampler", "unipc", "--steps", "5", "--order", "x"],
            "--order",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["sample", "--model", &folder, "--count", "2", "--quiet"];
        all.extend(args.iter().copied());
        common::cli::assert_refused(&all, needle, &dir.join("out.npy"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
