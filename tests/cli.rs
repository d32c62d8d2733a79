//! The `ddpm` binary: outputs of `ddpm op`, and bad input rejected with a non-zero exit, one
//! line on stderr naming the problem, and no output file written. The other commands:
//! tests/cli_commands.rs; the samplers' options: tests/cli_samplers.rs.

mod common;
use common::cli::*;

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
