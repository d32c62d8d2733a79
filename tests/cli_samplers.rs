//! The samplers' CLI: `ddpm timesteps`, the stepping ops' options (`--respace`, `ddim-step`,
//! `ddim-reverse-step`, `--mean-type v`, schedules), and `ddpm sample --sampler ddim ...`.

mod common;
use common::cli::*;
use ddpm_wgpu::npy::{self, NpyData};

fn stdout(args: &[&str]) -> (i32, String, Vec<String>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .map(str::to_string)
        .collect();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

#[test]
fn timesteps_prints_and_writes_each_spacing() {
    let (code, out, _) = stdout(&["timesteps", "--steps", "10", "--spacing", "trailing"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "999 899 799 699 599 499 399 299 199 99");
    let (code, out, _) = stdout(&[
        "timesteps",
        "--steps",
        "4",
        "--timesteps",
        "10",
        "--steps-offset",
        "1",
    ]);
    assert_eq!((code, out.trim()), (0, "7 5 3 1"));
    let (code, out, _) = stdout(&[
        "timesteps",
        "--spacing",
        "improved:ddim5",
        "--timesteps",
        "10",
    ]);
    assert_eq!((code, out.trim()), (0, "8 6 4 2 0"));
    let dir = tmp_dir("timesteps");
    let path = dir.join("t.npy");
    let p = path.display().to_string();
    let (code, _, err) = stdout(&[
        "timesteps",
        "--steps",
        "7",
        "--spacing",
        "linspace",
        "--out",
        &p,
    ]);
    assert_eq!(code, 0, "{err:?}");
    let a = npy::read(&path).unwrap();
    assert_eq!(a.shape, [7]);
    assert!(matches!(a.data, NpyData::I64(ref v) if v == &[999, 832, 666, 500, 333, 166, 0]));
    // numpy rounds 166.5 to even: 166.
}

#[test]
fn timesteps_rejects_impossible_spacings_with_one_line() {
    let cases: [&[&str]; 5] = [
        // leading + offset reaching T
        &[
            "timesteps",
            "--steps",
            "10",
            "--timesteps",
            "10",
            "--steps-offset",
            "1",
        ],
        &["timesteps", "--steps", "0"],
        &["timesteps", "--steps", "1001"],
        &["timesteps", "--spacing", "improved:ddim999"],
        &["timesteps", "--spacing", "sideways", "--steps", "3"],
    ];
    for args in cases {
        let (code, _, err) = stdout(args);
        assert_ne!(code, 0, "{args:?}");
        assert_eq!(err.len(), 1, "{args:?}: {err:?}");
    }
}

fn step_inputs(dir: &std::path::Path, t: &[i64], with_noise: bool) -> Vec<String> {
    let b = t.len();
    let x: Vec<f32> = (0..b * 6).map(|i| (i as f32 * 0.37).sin()).collect();
    let out: Vec<f32> = (0..b * 6).map(|i| (i as f32 * 0.91).cos()).collect();
    let mut v = vec![
        format!("x={}", write_f32(dir, "x", &[b, 6], &x)),
        format!("model_output={}", write_f32(dir, "mo", &[b, 6], &out)),
        format!("t={}", write_i64(dir, "t", t)),
    ];
    if with_noise {
        let z: Vec<f32> = (0..b * 6).map(|i| (i as f32 * 1.3).sin() * 2.0).collect();
        v.push(format!("noise={}", write_f32(dir, "z", &[b, 6], &z)));
    }
    v
}

/// ddim-step and ddim-reverse-step on both devices agree (an f32 kernel against the f64 twin),
/// with respacing, eta and v prediction.
#[test]
fn ddim_ops_agree_across_devices() {
    let dir = tmp_dir("ddim-op");
    let inputs = step_inputs(&dir, &[999, 99, 499], true);
    let gpu = common::gpu().is_some();
    for (op, extra) in [
        ("ddim-step", vec!["--respace", "trailing:10", "--eta", "1"]),
        (
            "ddim-step",
            vec!["--mean-type", "v", "--respace", "trailing:10"],
        ),
        (
            "ddim-reverse-step",
            vec!["--respace", "trailing:10", "--mean-type", "v"],
        ),
    ] {
        let out = |dev: &str| dir.join(format!("{op}-{dev}")).display().to_string();
        let names: &[&str] = if op == "ddim-step" {
            &["prev_sample", "pred_xstart"]
        } else {
            &["next_sample", "pred_xstart"]
        };
        let inputs: Vec<String> = if op == "ddim-step" {
            inputs.clone()
        } else {
            inputs[..3].to_vec()
        };
        let mut devices = vec!["cpu"];
        if gpu {
            devices.push("gpu");
        }
        for dev in &devices {
            let o = out(dev);
            let mut args = op_args(op, &inputs, &o, &["--device", dev]);
            args.extend(extra.iter().copied());
            let r = ddpm(&args);
            assert_eq!(r.code, 0, "{op} {extra:?} {dev}: {:?}", r.stderr_lines);
        }
        if gpu {
            for name in names {
                let (_, c) = read_f32(&dir.join(format!("{op}-cpu/{name}.npy")));
                let (_, g) = read_f32(&dir.join(format!("{op}-gpu/{name}.npy")));
                for (a, b) in c.iter().zip(&g) {
                    assert!(
                        (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
                        "{op} {name}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn stepping_ops_reject_bad_options_with_one_line() {
    let cases: Vec<(&str, &[i64], Vec<&str>)> = vec![
        // t not kept by the respaced chain
        ("ddim-step", &[998], vec!["--respace", "trailing:10"]),
        // eta > 0 without noise, eta past 1, xprev outputs, eta on the inverse
        ("ddim-step", &[10], vec!["--eta", "0.5"]),
        ("ddim-step", &[10], vec!["--eta", "2"]),
        ("ddim-step", &[10], vec!["--mean-type", "xprev"]),
        ("ddim-reverse-step", &[10], vec!["--eta", "0.5"]),
        ("ddim-step", &[10], vec!["--respace", "sideways:3"]),
        // --respace on an op that does not step
        ("q-sample", &[10], vec!["--respace", "trailing:10"]),
        // eps at the end of a zero-terminal-SNR schedule
        ("ddim-step", &[999], vec!["--rescale-zero-snr"]),
    ];
    for (k, (op, t, extra)) in cases.into_iter().enumerate() {
        let dir = tmp_dir(&format!("ddim-bad-{k}"));
        let out = dir.join("out").display().to_string();
        let inputs = step_inputs(&dir, t, false);
        let mut args = op_args(op, &inputs, &out, &["--device", "cpu"]);
        args.extend(extra.iter().copied());
        let r = ddpm(&args);
        assert_ne!(r.code, 0, "{op} {extra:?}");
        assert_eq!(
            r.stderr_lines.len(),
            1,
            "{op} {extra:?}: {:?}",
            r.stderr_lines
        );
        assert!(!dir.join("out").exists(), "{op} {extra:?} wrote outputs");
    }
}

/// `ddpm sample` with DDIM in 10 steps, eta 1, v prediction and the torch stream writes a PNG
/// and an .npy; the CPU twin's .npy agrees with the GPU's.
#[test]
fn sample_with_ddim_and_the_torch_stream() {
    let dir = tmp_dir("sample-ddim");
    let args = |dev: &str, out: &str| -> Vec<String> {
        [
            "sample",
            "--denoiser",
            "mixture",
            "--sampler",
            "ddim",
            "--steps",
            "10",
            "--eta",
            "1",
            "--mean-type",
            "v",
            "--noise",
            "torch",
            "--count",
            "3",
            "--device",
            dev,
            "--out",
            out,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let cpu_npy = dir.join("cpu.npy").display().to_string();
    let a = args("cpu", &cpu_npy);
    let r = ddpm(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (shape, cpu) = read_f32(&dir.join("cpu.npy"));
    assert_eq!(shape, [3, 16, 16, 1]);
    if common::gpu().is_none() {
        return;
    }
    let gpu_npy = dir.join("gpu.npy").display().to_string();
    let a = args("gpu", &gpu_npy);
    let r = ddpm(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (_, gpu) = read_f32(&dir.join("gpu.npy"));
    let worst = cpu
        .iter()
        .zip(&gpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "{worst}");
    let png = dir.join("s.png").display().to_string();
    let a = args("gpu", &png);
    let r = ddpm(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    assert!(dir.join("s.png").exists());
}

#[test]
fn sample_rejects_bad_sampler_options_with_one_line() {
    let dir = tmp_dir("sample-bad");
    let out = dir.join("s.png").display().to_string();
    let cases: [&[&str]; 5] = [
        &["--sampler", "heun"],
        &["--steps", "10", "--respace", "trailing:10"],
        &["--noise", "uniform"],
        &["--sampler", "ddim", "--mean-type", "xprev"],
        &["--x-t", "/nonexistent/x.npy"],
    ];
    for extra in cases {
        let mut args = vec!["sample", "--denoiser", "mixture"];
        args.extend(["--out", &out, "--device", "cpu"]);
        args.extend_from_slice(extra);
        let r = ddpm(&args);
        assert_ne!(r.code, 0, "{extra:?}");
        assert_eq!(r.stderr_lines.len(), 1, "{extra:?}: {:?}", r.stderr_lines);
        assert!(!dir.join("s.png").exists(), "{extra:?}");
    }
}
