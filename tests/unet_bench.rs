//! `ddpm bench --model` on a small fixture: every row measured, the table and the JSON complete.
//! (The figures themselves are benchmarks, not tests: benches/unet.md.) The bench is a part of
//! the command line, not of the library, so it is run as users run it.

mod common;

use std::process::Command;

const FIXTURE: &str = "tests/fixtures/unet/attn_two_levels_heads";
/// A class-conditional fixture (11 class rows, tests/class_cond.rs).
const COND: &str = "tests/fixtures/class_cond/embedding";

/// `ddpm bench --model FIXTURE` at batches 1 and 3, one trial, DDIM 3, DPM-Solver++ 2M 4,
/// UniPC 3 and DDPM 2 steps, Heun at 3 steps and PLMS at 2 as `ddpm sample` would run them
/// (`--loop`), with the profile; `json` adds `--json`. Returns stdout.
fn bench(json: bool) -> String {
    let mut args = vec![
        "bench",
        "--model",
        FIXTURE,
        "--batch",
        "1",
        "--batch",
        "3",
        "--trials",
        "1",
        "--ddim-steps",
        "3",
        "--ddpm-steps",
        "2",
        "--dpm-steps",
        "4",
        "--unipc-steps",
        "3",
        "--profile",
        "--loop",
        "--sampler heun --steps 3",
        "--loop",
        "--sampler pndm --skip-prk-steps true --steps 2",
    ];
    if json {
        args.push("--json");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// `ddpm` with `args` (ending in `--json`), which must succeed: its report.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn unet_bench_reports_every_row() {
    let Some(_ctx) = common::gpu() else { return };
    let (unet, _) = common::unet::model("attn_two_levels_heads");
    let r: serde_json::Value = serde_json::from_str(&bench(true)).unwrap();
    assert_eq!(r["sample"], serde_json::json!([3, 8, 8]));
    assert_eq!(r["flops_per_sample"].as_u64(), Some(unet.flops(8, 8)));
    let forwards = r["forwards"].as_array().unwrap();
    assert_eq!(forwards.len(), 2);
    for f in forwards {
        assert!(f["seconds"].as_f64().unwrap() > 0.0);
        assert!(f["gflop_per_s"].as_f64().unwrap() > 0.0);
        assert!(f["activation_bytes"].as_u64().unwrap() > 0);
        assert_eq!(f["sub_batch"], f["batch"]);
    }
    let kinds: Vec<(&str, u64)> = r["loops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["sampler"].as_str().unwrap(), l["steps"].as_u64().unwrap()))
        .collect();
    // Heun at 3 steps: 5 model evaluations; PLMS at 2: 3.
    let per_batch = [
        ("ddim", 3),
        ("dpm++2m", 4),
        ("unipc", 3),
        ("ddpm", 2),
        ("heun", 5),
        ("pndm", 3),
    ];
    assert_eq!(kinds, [per_batch, per_batch].concat());
    // The profile covers every dispatch of one forward.
    let profile = r["profile"].as_array().unwrap();
    let convs: u64 = profile
        .iter()
        .filter(|p| p["kind"].as_str().unwrap().starts_with("conv2d"))
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert!(convs > 10, "{profile:?}");
    let table = bench(false);
    assert!(table.contains("ms/forward") && table.contains("ddim") && table.contains("share"));
}

/// `--loop picked`: every sampler of benches/samplers.md at the model evaluations picked there,
/// built from the model folder's scheduler config as `ddpm sample` builds it.
#[test]
fn picked_loops_cover_every_sampler() {
    let Some(_ctx) = common::gpu() else { return };
    let mut args = vec!["bench", "--model", FIXTURE, "--batch", "1", "--trials", "1"];
    args.extend(["--ddim-steps", "0", "--ddpm-steps", "0", "--dpm-steps", "0"]);
    args.extend(["--unipc-steps", "0", "--loop", "picked", "--json"]);
    let r = bench_json(&args);
    let rows: Vec<(&str, u64)> = r["loops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["sampler"].as_str().unwrap(), l["steps"].as_u64().unwrap()))
        .collect();
    let want = [
        ("ddim", 50),
        ("dpm++2m", 10),
        ("dpm++3m", 10),
        ("unipc", 10),
        ("pndm", 10),
        ("heun", 19),
        ("lms", 15),
        ("euler", 20),
        ("euler-a", 25),
        ("dpm++2m-sde", 25),
    ];
    assert_eq!(rows, want);
}

/// A loop's ARGS take the sampler flags only; anything else, and --loop without --model, is
/// refused in one line.
#[test]
fn loop_args_other_than_the_samplers_are_refused() {
    for (args, needle) in [
        (
            vec![
                "--model",
                FIXTURE,
                "--loop",
                "--sampler heun --steps 3 --count 4",
            ],
            "--count",
        ),
        (
            vec!["--model", FIXTURE, "--loop", "--sampler heun --stepz 3"],
            "--stepz",
        ),
        (vec!["--model", FIXTURE, "--loop", "--steps 3"], "--sampler"),
        (
            vec!["--model", FIXTURE, "--loop", "--sampler sgm --steps 3"],
            "sgm",
        ),
        (vec!["--loop", "--sampler heun --steps 3"], "--model"),
        (
            vec!["--model", FIXTURE, "--guidance-scale", "2"],
            "no class embeddings",
        ),
        (vec!["--guidance-scale", "2"], "--model"),
        (
            vec!["--model", COND, "--guidance-scale", "-1"],
            "guidance scale -1",
        ),
        (
            vec!["--model", COND, "--guidance-rescale", "0.5"],
            "needs --guidance-scale",
        ),
        (
            vec![
                "--model",
                "tests/fixtures/class_cond/timestep",
                "--guidance-scale",
                "2",
            ],
            "no null class",
        ),
        (
            vec!["--model", "tests/fixtures/class_cond/identity"],
            "identity",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("bench")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// `--guidance-scale` on a class-conditional model: each forward and loop row measured unguided
/// (labelled samples) and then guided, the guided rows carrying the scale and their time over
/// the unguided row's; a guided forward is one forward of 2B, its GFLOP/s counting 2B samples.
/// (Whether the ratio stays under 2.1 is a benchmark figure, benches/guidance.md, not a test.)
#[test]
fn guided_rows_follow_the_unguided_ones() {
    let Some(_ctx) = common::gpu() else { return };
    let mut args = vec!["bench", "--model", COND, "--batch", "2", "--trials", "1"];
    args.extend(["--ddim-steps", "2", "--ddpm-steps", "0", "--dpm-steps", "2"]);
    args.extend(["--unipc-steps", "0", "--guidance-scale", "2.5", "--json"]);
    let r = bench_json(&args);
    let flops = r["flops_per_sample"].as_f64().unwrap();
    let f = r["forwards"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert!(f[0]["guidance_scale"].is_null() && f[0]["vs_unguided"].is_null());
    assert_eq!(f[1]["guidance_scale"].as_f64(), Some(2.5));
    assert_eq!(f[1]["sub_batch"].as_u64(), Some(4), "one forward of 2B");
    let secs = |row: &serde_json::Value| row["seconds"].as_f64().unwrap();
    let ratio = f[1]["vs_unguided"].as_f64().unwrap();
    assert!((ratio - secs(&f[1]) / secs(&f[0])).abs() < 1e-9);
    let g = f[1]["gflop_per_s"].as_f64().unwrap();
    assert!((g - flops * 4.0 / secs(&f[1]) / 1e9).abs() <= 1e-9 * g);
    let loops: Vec<(&str, Option<f64>)> = r["loops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["sampler"].as_str().unwrap(), l["guidance_scale"].as_f64()))
        .collect();
    let want = [
        ("ddim", None),
        ("ddim", Some(2.5)),
        ("dpm++2m", None),
        ("dpm++2m", Some(2.5)),
    ];
    assert_eq!(loops, want);
}

/// `--variants --json`: per batch every conv shape with each variant timed (or why not), the
/// choice among them, and the tuned forward against the rule's; the table prints them too.
#[test]
fn variants_report_every_shape_and_the_tuned_forward() {
    let Some(_ctx) = common::gpu() else { return };
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-variants-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let args = [
        "bench",
        "--model",
        FIXTURE,
        "--batch",
        "1",
        "--batch",
        "2",
        "--trials",
        "1",
        "--ddim-steps",
        "0",
        "--ddpm-steps",
        "0",
        "--dpm-steps",
        "0",
        "--unipc-steps",
        "0",
        "--variants",
    ];
    let run = |json: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ddpm"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .env("XDG_CACHE_HOME", &cache)
            // Mesa keeps its shader cache under XDG_CACHE_HOME too: leave it where it was, so
            // that this test does not compile every pipeline from nothing.
            .env("MESA_SHADER_CACHE_DIR", mesa_cache())
            .env_remove("DDPM_KERNEL");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let r: serde_json::Value = serde_json::from_str(&run(true)).unwrap();
    let batches = r["variants"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    let choices = r["conv_choices"].as_array().unwrap();
    assert!(choices.len() >= 5);
    for (v, b) in batches.iter().zip([1, 2]) {
        assert_eq!(v["batch"], b);
        assert_eq!(v["tune"], "auto");
        let layers = v["layers"].as_array().unwrap();
        assert_eq!(layers.len(), choices.len());
        for l in layers {
            assert_eq!(l["samples"], b);
            let vs = l["variants"].as_array().unwrap();
            assert_eq!(
                vs[0]["variant"], "conv2d",
                "the rule's kernel first on software"
            );
            for t in vs {
                // Every variant timed (the bench times all) with a positive rate.
                assert!(t["seconds"].as_f64().unwrap() > 0.0, "{t}");
                assert!(t["gflops"].as_f64().unwrap() > 0.0, "{t}");
            }
            let choice = l["choice"].as_str().unwrap();
            assert!(vs.iter().any(|t| t["variant"] == choice), "{l}");
        }
        for k in ["rule_seconds", "tuned_seconds", "tuned_over_rule"] {
            assert!(v[k].as_f64().unwrap() > 0.0, "{k}: {v}");
        }
    }
    // The cache the bench's tuning wrote is this run's.
    assert!(std::fs::read_dir(cache.join("ddpm-wgpu")).unwrap().count() == 1);
    let table = run(false);
    assert!(
        table.contains("conv variants at batch 2 (tune auto)"),
        "{table}"
    );
    assert!(table.contains("tuned/rule"), "{table}");
}

/// What MESA_SHADER_CACHE_DIR must be for Mesa to keep using its shader cache as it does
/// without the test's XDG_CACHE_HOME: the variable's own value where it is set, else the
/// directory Mesa's default lies in (Mesa appends `mesa_shader_cache` to either).
fn mesa_cache() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("MESA_SHADER_CACHE_DIR") {
        return d.into();
    }
    match std::env::var_os("XDG_CACHE_HOME") {
        Some(x) => std::path::PathBuf::from(x),
        None => {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache")
        }
    }
}
