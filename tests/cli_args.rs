//! Every numeric option of every subcommand, given a negative value, is refused with one line
//! on stderr that names the option and says why, a non-zero exit code, and no output file.
//! (clap used to take "-1" for an unknown flag: "unexpected argument '-1'".) The CPU device is
//! used wherever there is one, so no GPU is needed.

mod common;

use std::path::Path;
use std::process::Command;

/// (subcommand and the arguments it needs, option, negative value, expected reason).
fn cases(dir: &Path) -> Vec<(Vec<String>, &'static str, &'static str, &'static str)> {
    let d = |name: &str| dir.join(name).display().to_string();
    let sample = vec![
        "sample".into(),
        "--denoiser".into(),
        "mixture".into(),
        "--device".into(),
        "cpu".into(),
        "--out".into(),
        d("s.npy"),
    ];
    let op = vec![
        "op".into(),
        "q-sample".into(),
        "--device".into(),
        "cpu".into(),
        "--out-dir".into(),
        d("op"),
    ];
    let bpd = vec![
        "bpd".into(),
        "--device".into(),
        "cpu".into(),
        "--out".into(),
        d("bpd"),
    ];
    let soak = vec!["soak".into(), "--json".into()];
    let unsigned = "must be a non-negative integer";
    let beta = "must be in (0, 1]";
    let mut v = vec![
        (vec!["check".into()], "--seed", "-1", unsigned),
        (vec!["bench".into()], "--elements", "-4", unsigned),
    ];
    for (args, opts) in [
        (sample, &["--count", "--seed", "--timesteps"][..]),
        (bpd.clone(), &["--seed", "--timesteps"]),
        (op.clone(), &["--timesteps"]),
        (soak.clone(), &["--loops", "--ops", "--every"]),
    ] {
        for &o in opts {
            v.push((args.clone(), o, "-1", unsigned));
        }
    }
    let sample = v[2].0.clone();
    for args in [&sample, &op, &bpd] {
        v.push((args.clone(), "--beta-start", "-0.001", beta));
        v.push((args.clone(), "--beta-end", "-1", beta));
    }
    for args in [&sample, &bpd] {
        v.push((
            args.clone(),
            "--data-sigma",
            "-1",
            "must be finite and >= 0",
        ));
        v.push((
            args.clone(),
            "--size",
            "-3x4",
            "is not WxH with positive W and H",
        ));
    }
    v
}

#[test]
fn negative_numbers_get_the_real_reason() {
    let dir = std::env::temp_dir().join(format!("ddpm-cli-args-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let all = cases(&dir);
    assert_eq!(all.len(), 21, "every option listed once");
    for (args, opt, value, reason) in all {
        let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .args(&args)
            .args([opt, value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("ddpm {} {opt} {value}", args.join(" "));
        assert!(!out.status.success(), "{what} succeeded");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(
            stderr.contains(opt),
            "{what}: the message does not name {opt}: {stderr}"
        );
        assert!(
            stderr.contains(reason),
            "{what}: no reason '{reason}': {stderr}"
        );
        assert!(!stderr.contains("unexpected argument"), "{what}: {stderr}");
    }
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(left.is_empty(), "output files were written: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same options with ordinary values still parse (the rewording applies to negatives only).
#[test]
fn ordinary_values_and_other_mistakes_keep_their_messages() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run(&["sample", "--seed", "abc"]);
    assert!(e.contains("invalid value 'abc' for '--seed"), "{e}");
    let e = run(&["sample", "--no-such-flag"]);
    assert!(e.contains("unexpected argument '--no-such-flag'"), "{e}");
}

/// `--tune` takes off, auto or full, and is refused by name where nothing runs a UNet on the
/// device (the mixture, the f64 twin, the bench without a model): one line, a non-zero exit,
/// no output file.
#[test]
fn tune_is_checked_and_refused_where_it_chooses_nothing() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-tune");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("s.npy").display().to_string();
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "sample", "--tune", "fastest", "--device", "cpu", "--out", &out,
            ],
            "fastest",
        ),
        (
            &[
                "sample",
                "--denoiser",
                "mixture",
                "--tune",
                "full",
                "--out",
                &out,
            ],
            "the mixture runs none",
        ),
        (
            &[
                "sample",
                "--model",
                "embedded:digits",
                "--tune",
                "auto",
                "--device",
                "cpu",
                "--out",
                &out,
            ],
            "--device cpu",
        ),
        (
            &["bpd", "--tune", "off", "--device", "cpu", "--out", &out],
            "--device cpu",
        ),
        (&["bench", "--tune", "full", "--quick"], "without --model"),
        (
            &["bench", "--variants", "--quick"],
            "--variants times the UNet's convs",
        ),
    ];
    for (args, want) in cases {
        common::cli::assert_fails_in_one_line(args, want);
    }
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(left.is_empty(), "output files were written: {left:?}");
}

/// `--precision` takes f32 or f16, and is refused by name where nothing stores a UNet on the
/// device (the mixture, the f64 twin, a bench without a model, ops other than unet), and on
/// an adapter without SHADER_F16 (llvmpipe's GL): one line, a non-zero exit, no output file.
#[test]
fn precision_is_checked_and_refused_where_it_stores_nothing() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-precision");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("s.npy").display().to_string();
    let op_dir = dir.join("op").display().to_string();
    let digits = ["sample", "--model", "embedded:digits", "--count", "2"];
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&digits[..], &["--precision", "f64", "--device", "cpu"]].concat(),
            "no precision named 'f64'; known: f32, f16",
        ),
        (
            vec!["sample", "--denoiser", "mixture", "--precision", "f16"],
            "the mixture runs none",
        ),
        (
            [&digits[..], &["--precision", "f16", "--device", "cpu"]].concat(),
            "--device cpu",
        ),
        (
            vec!["bpd", "--precision", "f16", "--device", "cpu"],
            "--device cpu",
        ),
        (
            vec!["bench", "--precision", "f16", "--quick"],
            "without --model",
        ),
        (
            vec!["op", "q-sample", "--precision", "f16", "--out-dir", &op_dir],
            "--precision applies to op unet, not q-sample",
        ),
        (
            vec![
                "op",
                "unet",
                "--model",
                "embedded:digits",
                "--precision",
                "f16",
                "--device",
                "cpu",
                "--out-dir",
                &op_dir,
            ],
            "--device cpu runs the f64 twin",
        ),
    ];
    // Where the adapter is llvmpipe's GL (CI's second run), f16 itself is refused.
    if std::env::var("DDPM_EXPECT_BACKEND").is_ok_and(|b| b == "gl") {
        cases.push((
            [&digits[..], &["--precision", "f16"]].concat(),
            "lacks SHADER_F16",
        ));
    }
    for (mut args, want) in cases {
        if args[0] == "sample" || args[0] == "bpd" {
            args.extend(["--out", &out]);
        }
        common::cli::assert_fails_in_one_line(&args, want);
    }
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(left.is_empty(), "output files were written: {left:?}");
}
