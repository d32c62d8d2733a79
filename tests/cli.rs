//! The `ddpm` binary: outputs of `ddpm op`, and bad input rejected with a non-zero exit, one
//! line on stderr naming the problem, and no output file written.

mod common;
use ddpm_wgpu::npy::{self, NpyData};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ddpm-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Raw .npy bytes of any dtype, for inputs the library itself never writes.
fn npy_bytes(descr: &str, shape: &[usize], body: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(body);
    b
}

fn write_f32(dir: &Path, name: &str, shape: &[usize], data: &[f32]) -> String {
    let p = dir.join(format!("{name}.npy"));
    npy::write_f32(&p, shape, data).unwrap();
    p.display().to_string()
}

fn write_i64(dir: &Path, name: &str, data: &[i64]) -> String {
    let p = dir.join(format!("{name}.npy"));
    let body: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&p, npy_bytes("<i8", &[data.len()], &body)).unwrap();
    p.display().to_string()
}

struct Run {
    code: i32,
    stderr_lines: Vec<String>,
}

fn ddpm(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    Run {
        code: out.status.code().unwrap_or(-1),
        // Mesa's GL driver prints this harmless line itself when XDG_RUNTIME_DIR is unset.
        stderr_lines: stderr
            .lines()
            .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
            .map(str::to_string)
            .collect(),
    }
}

/// A q-sample input set in `dir`: x_start [2, 3], noise [2, 3], t [2].
fn q_sample_inputs(dir: &Path) -> Vec<String> {
    vec![
        format!(
            "x_start={}",
            write_f32(dir, "x0", &[2, 3], &[1.0, -1.0, 0.5, 0.0, 0.25, -0.75])
        ),
        format!(
            "noise={}",
            write_f32(dir, "noise", &[2, 3], &[0.1, 0.2, -0.3, 1.0, -2.0, 6.0])
        ),
        format!("t={}", write_i64(dir, "t", &[0, 999])),
    ]
}

fn op_args<'a>(op: &'a str, inputs: &'a [String], out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["op", op, "--out-dir", out];
    for i in inputs {
        a.push("--input");
        a.push(i);
    }
    a.extend_from_slice(extra);
    a
}

fn read_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let a = npy::read(path).unwrap();
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        other => panic!("{} is {}", path.display(), other.dtype()),
    }
}

#[test]
fn op_writes_outputs_on_cpu_and_gpu_that_agree() {
    let dir = tmp_dir("ok");
    let inputs = q_sample_inputs(&dir);
    let cpu_out = dir.join("cpu").display().to_string();
    let r = ddpm(&op_args(
        "q-sample",
        &inputs,
        &cpu_out,
        &["--device", "cpu"],
    ));
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (shape, cpu) = read_f32(&dir.join("cpu/x_t.npy"));
    assert_eq!(shape, vec![2, 3]);
    // t = 0: sqrt(1 - 1e-4) x0 + 1e-2 noise.
    assert!((cpu[0] as f64 - ((1.0f64 - 1e-4).sqrt() + 0.01 * 0.1)).abs() < 1e-7);
    if common::gpu().is_none() {
        return;
    }
    let gpu_out = dir.join("gpu").display().to_string();
    let r = ddpm(&op_args(
        "q-sample",
        &inputs,
        &gpu_out,
        &["--device", "gpu"],
    ));
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (_, gpu) = read_f32(&dir.join("gpu/x_t.npy"));
    for (g, c) in gpu.iter().zip(&cpu) {
        assert!((g - c).abs() <= 1e-6 * c.abs().max(1.0), "{g} vs {c}");
    }
}

#[test]
fn per_sample_outputs_have_shape_b() {
    let dir = tmp_dir("bpd");
    let x0 = format!("x_start={}", write_f32(&dir, "x0", &[3, 2, 2], &[0.5; 12]));
    let out = dir.join("out").display().to_string();
    let r = ddpm(&op_args(
        "prior-bpd",
        &[x0],
        &out,
        &["--device", "cpu", "--timesteps", "100"],
    ));
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (shape, v) = read_f32(&dir.join("out/prior_bpd.npy"));
    assert_eq!(shape, vec![3]);
    assert!(v.iter().all(|&x| x > 0.0));
}

/// One element per sample: the per-sample output is still [B], not x's shape [B, 1].
#[test]
fn per_sample_output_of_single_element_samples_is_b() {
    let dir = tmp_dir("b1");
    let x0 = format!(
        "x_start={}",
        write_f32(&dir, "x0", &[4, 1], &[0.5, -1.0, 1.0, 0.0])
    );
    let out = dir.join("out").display().to_string();
    let r = ddpm(&op_args("prior-bpd", &[x0], &out, &["--device", "cpu"]));
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    assert_eq!(read_f32(&dir.join("out/prior_bpd.npy")).0, vec![4]);
}

/// User-supplied betas (float64 .npy) give the same result as the named schedule they spell.
#[test]
fn user_betas_match_the_named_schedule() {
    let dir = tmp_dir("betas");
    let betas = ddpm_wgpu::schedule::beta_schedule(ddpm_wgpu::ScheduleKind::Quad, 1e-4, 0.02, 1000)
        .unwrap();
    let body: Vec<u8> = betas.iter().flat_map(|v| v.to_le_bytes()).collect();
    let bpath = dir.join("betas.npy");
    std::fs::write(&bpath, npy_bytes("<f8", &[1000], &body)).unwrap();
    let inputs = q_sample_inputs(&dir);
    let (a, b) = (
        dir.join("a").display().to_string(),
        dir.join("b").display().to_string(),
    );
    let bp = bpath.display().to_string();
    assert_eq!(
        ddpm(&op_args(
            "q-sample",
            &inputs,
            &a,
            &["--device", "cpu", "--betas", &bp]
        ))
        .code,
        0
    );
    assert_eq!(
        ddpm(&op_args(
            "q-sample",
            &inputs,
            &b,
            &["--device", "cpu", "--schedule", "quad"]
        ))
        .code,
        0
    );
    assert_eq!(
        read_f32(&dir.join("a/x_t.npy")),
        read_f32(&dir.join("b/x_t.npy"))
    );
    std::fs::write(&bpath, npy_bytes("<f8", &[2, 500], &body)).unwrap();
    rejected(
        "betas-2d",
        "q-sample",
        &inputs,
        &["--device", "cpu", "--betas", &bp],
        "betas must be 1-D",
    );
    let bad: Vec<u8> = [0.1f64, 1.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&bpath, npy_bytes("<f8", &[2], &bad)).unwrap();
    rejected(
        "betas-range",
        "q-sample",
        &inputs,
        &["--device", "cpu", "--betas", &bp],
        "beta[1] = 1.5",
    );
}

/// Run `ddpm op` with a broken input and check the rejection; `expect` must appear in the line.
fn rejected(name: &str, op: &str, inputs: &[String], extra: &[&str], expect: &str) {
    let dir = tmp_dir(name);
    let out = dir.join("out");
    let out_s = out.display().to_string();
    let r = ddpm(&op_args(op, inputs, &out_s, extra));
    assert_ne!(r.code, 0, "{name}: accepted");
    assert_eq!(
        r.stderr_lines.len(),
        1,
        "{name}: stderr {:?}",
        r.stderr_lines
    );
    let line = &r.stderr_lines[0];
    assert!(
        line.contains(expect),
        "{name}: '{line}' does not mention '{expect}'"
    );
    assert!(!line.contains("panicked"), "{name}: {line}");
    let written = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(written, 0, "{name}: output files were written");
}

#[test]
fn bad_input_is_rejected_with_one_line() {
    let dir = tmp_dir("inputs");
    let ok = q_sample_inputs(&dir);
    let with = |name: &str, value: String| -> Vec<String> {
        ok.iter()
            .filter(|s| !s.starts_with(&format!("{name}=")))
            .cloned()
            .chain([format!("{name}={value}")])
            .collect()
    };
    for device in ["cpu", "gpu"] {
        if device == "gpu" && common::gpu().is_none() {
            continue;
        }
        let d = ["--device", device];
        let n = |s: &str| format!("{s}-{device}");
        rejected(
            &n("t-too-big"),
            "q-sample",
            &with("t", write_i64(&dir, "tbig", &[0, 1000])),
            &d,
            "outside [0, 1000)",
        );
        rejected(
            &n("t-negative"),
            "q-sample",
            &with("t", write_i64(&dir, "tneg", &[-1, 3])),
            &d,
            "outside [0, 1000)",
        );
        rejected(
            &n("t-batch"),
            "q-sample",
            &with("t", write_i64(&dir, "t3", &[0, 1, 2])),
            &d,
            "t has shape [3]",
        );
        rejected(
            &n("shapes"),
            "q-sample",
            &with("noise", write_f32(&dir, "n23", &[3, 2], &[0.0; 6])),
            &d,
            "shape",
        );
        let f64_body: Vec<u8> = [0.0f64; 6].iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = dir.join("x64.npy");
        std::fs::write(&p, npy_bytes("<f8", &[2, 3], &f64_body)).unwrap();
        rejected(
            &n("dtype"),
            "q-sample",
            &with("x_start", p.display().to_string()),
            &d,
            "float64, expected float32",
        );
        let t_f32 = write_f32(&dir, "tf", &[2], &[0.0, 1.0]);
        rejected(
            &n("t-dtype"),
            "q-sample",
            &with("t", t_f32),
            &d,
            "int32 or int64",
        );
        let nan = write_f32(&dir, "nan", &[2, 3], &[0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0]);
        rejected(
            &n("nan"),
            "q-sample",
            &with("noise", nan),
            &d,
            "non-finite value at flat index 1",
        );
        let inf = write_f32(
            &dir,
            "inf",
            &[2, 3],
            &[0.0, 0.0, 0.0, 0.0, 0.0, f32::INFINITY],
        );
        rejected(
            &n("inf"),
            "q-sample",
            &with("x_start", inf),
            &d,
            "non-finite",
        );
        rejected(&n("missing"), "q-sample", &ok[..2], &d, "missing input 't'");
        let x = format!("x={}", write_f32(&dir, "x", &[2, 3], &[0.0; 6]));
        let mo = format!("model_output={}", write_f32(&dir, "mo", &[2, 3], &[0.0; 6]));
        let t = ok[2].clone();
        let learned = ["--device", device, "--var-type", "learned"];
        rejected(
            &n("no-model-var"),
            "p-mean-variance",
            &[x.clone(), mo.clone(), t.clone()],
            &learned,
            "model_var",
        );
        let mv = format!("model_var={}", write_f32(&dir, "mv", &[2, 3], &[0.0; 6]));
        rejected(
            &n("model-var-unused"),
            "p-mean-variance",
            &[x, mo, t, mv],
            &d,
            "model_var",
        );
        rejected(
            &n("unknown-input"),
            "q-sample",
            &with("bogus", write_i64(&dir, "b", &[0, 1])),
            &d,
            "unexpected input 'bogus'",
        );
        rejected(
            &n("unknown-op"),
            "q-smaple",
            &ok,
            &d,
            "unknown op 'q-smaple'",
        );
        rejected(
            &n("unknown-schedule"),
            "q-sample",
            &ok,
            &["--device", device, "--schedule", "cubic"],
            "unknown schedule 'cubic'",
        );
        rejected(
            &n("unknown-mean"),
            "q-sample",
            &ok,
            &["--device", device, "--mean-type", "x0"],
            "unknown mean type 'x0'",
        );
        rejected(
            &n("zero-steps"),
            "q-sample",
            &ok,
            &["--device", device, "--timesteps", "0"],
            "at least 1",
        );
        let not_npy = dir.join("not.npy");
        std::fs::write(&not_npy, "hello").unwrap();
        rejected(
            &n("not-npy"),
            "q-sample",
            &with("noise", not_npy.display().to_string()),
            &d,
            "not a supported .npy",
        );
        rejected(
            &n("no-file"),
            "q-sample",
            &with("noise", "/nonexistent/n.npy".into()),
            &d,
            "/nonexistent/n.npy",
        );
        rejected(
            &n("no-equals"),
            "q-sample",
            &["noise".to_string()],
            &d,
            "NAME=PATH.npy",
        );
    }
}

#[test]
fn info_names_the_adapter() {
    if common::gpu().is_none() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .arg("info")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "adapter:",
        "backend:",
        "device type:",
        "driver:",
        "max_storage_buffer_binding_size",
    ] {
        assert!(text.contains(key), "missing {key} in {text}");
    }
}

#[test]
fn check_command_passes_and_prints_a_table() {
    if common::gpu().is_none() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("max abs") && text.contains("tolerance") && text.contains("verdict"));
    assert!(
        text.lines().any(|l| l.ends_with(" passed, 0 failed")),
        "{text}"
    );
}

#[test]
fn sample_writes_a_png_grid_and_npy_that_agree_across_devices() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp_dir("sample");
    let png = dir.join("s.png").display().to_string();
    let strip = dir.join("strip.png").display().to_string();
    let r = ddpm(&[
        "sample",
        "--timesteps",
        "100",
        "--out",
        &png,
        "--progress-out",
        &strip,
    ]);
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let img = image::open(&png).unwrap();
    // 16 samples of 16x16 in a 4x4 grid with 1-pixel borders (69 pixels), enlarged 4x to reach
    // picture::MIN_SIDE.
    assert_eq!((img.width(), img.height()), (4 * 69, 4 * 69));
    let strip_img = image::open(&strip).unwrap();
    // 8 snapshots + x_0 across, 8 samples down (137 pixels): enlarged 2x.
    assert_eq!(
        (strip_img.width(), strip_img.height()),
        (2 * (9 * 17 + 1), 2 * (8 * 17 + 1))
    );
    let gpu_npy = dir.join("g.npy");
    let cpu_npy = dir.join("c.npy");
    for (dev, out) in [("gpu", &gpu_npy), ("cpu", &cpu_npy)] {
        let o = out.display().to_string();
        let r = ddpm(&[
            "sample",
            "--timesteps",
            "100",
            "--count",
            "3",
            "--seed",
            "7",
            "--device",
            dev,
            "--out",
            &o,
        ]);
        assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    }
    let (shape, g) = read_f32(&gpu_npy);
    let (_, c) = read_f32(&cpu_npy);
    assert_eq!(shape, vec![3, 16, 16, 1]);
    let worst = g
        .iter()
        .zip(&c)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "gpu and cpu samples differ by {worst}");
}

#[test]
fn sample_from_an_image_folder() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp_dir("folder");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for k in 0..3u8 {
        let img = image::RgbImage::from_fn(10, 12, |x, y| {
            image::Rgb([k * 80, (x * 20) as u8, (y * 20) as u8])
        });
        img.save(data.join(format!("{k}.png"))).unwrap();
    }
    let out = dir.join("o.npy").display().to_string();
    let d = data.display().to_string();
    let r = ddpm(&[
        "sample",
        "--data",
        &d,
        "--size",
        "8x6",
        "--timesteps",
        "50",
        "--count",
        "2",
        "--out",
        &out,
    ]);
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    assert_eq!(read_f32(&dir.join("o.npy")).0, vec![2, 6, 8, 3]);
}

#[test]
fn sample_rejects_bad_input_without_writing() {
    let dir = tmp_dir("sample-bad");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("a.png"), "not a png").unwrap();
    let out = dir.join("out.png");
    let o = out.display().to_string();
    let (e, b) = (empty.display().to_string(), broken.display().to_string());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--count", "0"], "--count must be at least 1"),
        (vec!["--timesteps", "0"], "at least 1"),
        (vec!["--data-sigma=-1"], "--data-sigma"),
        (vec!["--data", &e], "no .png or .jpg images"),
        (vec!["--data", &b], "not a readable image"),
        (vec!["--var-type", "learned"], "fixedsmall or fixedlarge"),
        (vec!["--size", "0x3"], "--size"),
        (vec!["--count", "many"], "invalid value 'many'"),
        (
            vec!["--device", "cpu", "--progress-out", "/tmp/x.png"],
            "--progress-out needs --device gpu",
        ),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["sample", "--out", &o];
        if !extra.contains(&"--timesteps") {
            args.extend(["--timesteps", "10"]);
        }
        args.extend(extra);
        let r = ddpm(&args);
        assert_ne!(r.code, 0, "{args:?} accepted");
        assert_eq!(r.stderr_lines.len(), 1, "{args:?}: {:?}", r.stderr_lines);
        assert!(
            r.stderr_lines[0].contains(expect),
            "{args:?}: {}",
            r.stderr_lines[0]
        );
        assert!(!out.exists(), "{args:?} wrote output");
    }
    for bad_out in ["/nonexistent/dir/s.png", "/tmp/samples.txt"] {
        let r = ddpm(&["sample", "--timesteps", "10", "--out", bad_out]);
        assert_ne!(r.code, 0);
        assert_eq!(r.stderr_lines.len(), 1, "{:?}", r.stderr_lines);
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        2,
        "only the two data folders remain"
    );
}

#[test]
fn bpd_writes_terms_that_sum_to_the_total_on_both_devices() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp_dir("bpd-cmd");
    // Score three of the embedded digits (plus one pixel changed) under the digits' mixture.
    let digits = ddpm_wgpu::dataset::default_digits();
    let mut eval = digits.points[..3 * 256].to_vec();
    eval[0] = 0.0;
    let e = write_f32(&dir, "eval", &[3, 16, 16, 1], &eval);
    let mut totals = Vec::new();
    for dev in ["gpu", "cpu"] {
        let out = dir.join(dev).display().to_string();
        let r = ddpm(&[
            "bpd",
            "--eval",
            &e,
            "--timesteps",
            "50",
            "--device",
            dev,
            "--out",
            &out,
        ]);
        assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
        let (s_total, total) = read_f32(&dir.join(dev).join("total_bpd.npy"));
        let (s_terms, terms) = read_f32(&dir.join(dev).join("terms_bpd.npy"));
        let (_, prior) = read_f32(&dir.join(dev).join("prior_bpd.npy"));
        assert_eq!((s_total, s_terms.clone()), (vec![3], vec![3, 50]));
        assert_eq!(read_f32(&dir.join(dev).join("eps_mse.npy")).0, vec![3, 50]);
        for b in 0..3 {
            let sum: f32 = terms[b * 50..(b + 1) * 50].iter().sum::<f32>() + prior[b];
            assert!(
                (sum - total[b]).abs() <= 1e-5 * total[b],
                "{dev}: {sum} vs {}",
                total[b]
            );
        }
        totals.push(total);
    }
    for (g, c) in totals[0].iter().zip(&totals[1]) {
        assert!((g - c).abs() <= 1e-4 * c, "gpu {g} vs cpu {c}");
    }
    let bad = write_f32(&dir, "bad", &[2, 8, 8, 1], &[0.0; 128]);
    let out = dir.join("bad-out");
    let r = ddpm(&[
        "bpd",
        "--eval",
        &bad,
        "--device",
        "cpu",
        "--out",
        &out.display().to_string(),
    ]);
    assert_ne!(r.code, 0);
    assert_eq!(r.stderr_lines.len(), 1, "{:?}", r.stderr_lines);
    assert!(r.stderr_lines[0].contains("--eval points have shape"));
    assert!(!out.exists());
}

#[test]
fn bench_quick_reports_kernels_and_loops_as_json() {
    if common::gpu().is_none() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(["bench", "--quick", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "\"adapter\"",
        "\"kernel\":\"bandwidth_copy\"",
        "\"kernel\":\"q_sample\"",
        "\"copy_ratio\"",
        "\"kernel\":\"p_sample\"",
        "\"steps_per_s\"",
        "\"samples_per_s\"",
        "\"denoiser\":\"gaussian\"",
        "\"denoiser\":\"mixture\"",
        "\"device\":\"cpu\"",
        "\"overhead_ratio\"",
        "\"kernel\":\"q_sample (f16)\"",
        "\"storage\":\"f16\"",
        "\"loop_bytes\"",
    ] {
        assert!(text.contains(key), "missing {key} in {text}");
    }
    assert!(text.trim().starts_with('{') && text.trim().ends_with('}'));
}
