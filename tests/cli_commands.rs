//! The `ddpm` binary's commands besides `op`: info, check, sample, bpd, bench.

mod common;
use common::cli::*;
use std::process::Command;

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
        "max_compute_workgroup_storage_size",
    ] {
        assert!(text.contains(key), "missing {key} in {text}");
    }
}

/// `ddpm info` gives what the kernel variants depend on (subgroup sizes, f16, timestamps,
/// cooperative matrices), as the library reads them from the same adapter.
#[test]
fn info_reports_the_adapters_capabilities() {
    use ddpm_wgpu::gpu::runtime::capabilities::Capabilities;
    let Some(ctx) = common::gpu() else { return };
    let caps = Capabilities::of(&ctx);
    let (lo, hi) = caps.subgroup_sizes;
    assert!(lo >= 1 && lo <= hi, "subgroup sizes {lo} to {hi}");
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .arg("info")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = caps.lines();
    assert_eq!(lines.len(), 4);
    for line in lines {
        assert!(
            text.lines().any(|l| l == line),
            "missing '{line}' in {text}"
        );
    }
    // The tuner's cache of this adapter, where XDG_CACHE_HOME says, with its shape count.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("info-tune-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .arg("info")
        .env("XDG_CACHE_HOME", &dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("tune cache:"))
        .unwrap_or_else(|| panic!("no tune cache line in {text}"));
    assert!(
        line.contains(&dir.join("ddpm-wgpu").display().to_string()),
        "{line}"
    );
    assert!(line.contains("conv shapes"), "{line}");
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
    let args = ["--denoiser", "mixture", "--timesteps", "100"];
    let (grid, strip) = sample_pictures(&dir, &args);
    // 16 samples of 16x16 in a 4x4 grid with 1-pixel borders (69 pixels), enlarged 4x to reach
    // picture::MIN_SIDE.
    assert_eq!(grid, (4 * 69, 4 * 69));
    // 8 snapshots + x_0 across, 8 samples down (137 pixels): enlarged 2x.
    assert_eq!(strip, (2 * (9 * 17 + 1), 2 * (8 * 17 + 1)));
    let gpu_npy = dir.join("g.npy");
    let cpu_npy = dir.join("c.npy");
    for (dev, out) in [("gpu", &gpu_npy), ("cpu", &cpu_npy)] {
        let o = out.display().to_string();
        let r = ddpm(&[
            "sample",
            "--denoiser",
            "mixture",
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
        if !extra.contains(&"--data") {
            args.extend(["--denoiser", "mixture"]);
        }
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
        let r = ddpm(&[
            "sample",
            "--denoiser",
            "mixture",
            "--timesteps",
            "10",
            "--out",
            bad_out,
        ]);
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
        "\"sampler\":\"dpm++2m\"",
    ] {
        assert!(text.contains(key), "missing {key} in {text}");
    }
    assert!(text.trim().starts_with('{') && text.trim().ends_with('}'));
}
