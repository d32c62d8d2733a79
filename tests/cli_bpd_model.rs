//! `ddpm bpd --model`: the variational bound under a UNet (the committed tiny diffusers fixture,
//! T = 1000 from its scheduler config), the GPU and the f64 CPU twin agreeing, `--limit` scoring
//! the first points exactly as a full run does, and bad input refused with one line.

mod common;
use common::cli::*;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/unet/attn_two_levels_heads";

fn model() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .display()
        .to_string()
}

/// Three points of the fixture's shape [3, 8, 8], on the 8-bit grid like real images.
fn eval_points() -> Vec<f32> {
    (0..3 * 3 * 64)
        .map(|i| {
            let level = (i * 37 + i / 7) % 256;
            level as f32 / 255.0 * 2.0 - 1.0
        })
        .collect()
}

fn bpd(dir: &Path, name: &str, extra: &[&str]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let out = dir.join(name).display().to_string();
    let m = model();
    let mut args = vec!["bpd", "--model", &m, "--out", &out];
    args.extend_from_slice(extra);
    let r = ddpm(&args);
    assert_eq!(r.code, 0, "{args:?}: {:?}", r.stderr_lines);
    let read = |f: &str| read_f32(&dir.join(name).join(f));
    let (s_total, total) = read("total_bpd.npy");
    let (s_terms, terms) = read("terms_bpd.npy");
    let (_, prior) = read("prior_bpd.npy");
    assert_eq!(s_terms, vec![s_total[0], 1000]);
    for (b, t) in total.iter().enumerate() {
        let sum: f32 = terms[b * 1000..(b + 1) * 1000].iter().sum::<f32>() + prior[b];
        assert!(
            (sum - t).abs() <= 1e-4 * t,
            "{name}: terms sum {sum} vs total {t}"
        );
        assert!(t.is_finite() && *t > 0.0, "{name}: total {t}");
    }
    (total, terms, prior)
}

#[test]
fn bpd_under_a_model_agrees_across_devices_and_limits() {
    let dir = tmp_dir("bpd-model");
    let e = write_f32(&dir, "eval", &[3, 3, 8, 8], &eval_points());
    let (cpu2, cpu_terms2, _) = bpd(
        &dir,
        "cpu2",
        &["--eval", &e, "--limit", "2", "--device", "cpu"],
    );
    assert_eq!(cpu2.len(), 2);
    if common::gpu().is_none() {
        return;
    }
    let (gpu3, gpu_terms3, _) = bpd(&dir, "gpu3", &["--eval", &e, "--device", "gpu"]);
    assert_eq!(gpu3.len(), 3);
    // The twin runs the UNet in f64 and the GPU in f32 (outputs agree to ~1e-6, tests/unet_gpu.rs);
    // each term's KL divides small differences of means by small variances near t = 0, so the
    // per-term budget is relative 1e-3 plus 1e-6 absolute, and the total's (a sum of positive
    // terms) relative 1e-3.
    for (g, c) in gpu3.iter().zip(&cpu2) {
        assert!((g - c).abs() <= 1e-3 * c, "gpu {g} vs cpu {c}");
    }
    for (g, c) in gpu_terms3.iter().zip(&cpu_terms2) {
        assert!(
            (g - c).abs() <= 1e-6 + 1e-3 * c.abs(),
            "term: gpu {g} vs cpu {c}"
        );
    }
    // The first two points' noise does not depend on how many points are scored.
    let (gpu2, _, _) = bpd(&dir, "gpu2", &["--eval", &e, "--limit", "2"]);
    assert_eq!(gpu2[..], gpu3[..2]);
}

#[test]
fn bpd_model_rejects_bad_input_with_one_line() {
    let dir = tmp_dir("bpd-model-bad");
    let e = write_f32(&dir, "eval", &[3, 3, 8, 8], &eval_points());
    let wrong = write_f32(&dir, "wrong", &[2, 1, 8, 8], &[0.0; 128]);
    let m = model();
    let cases: [(Vec<&str>, &str); 6] = [
        (vec![], "--model needs --eval"),
        (vec!["--eval", &wrong], "[1, 8, 8]"),
        (vec!["--eval", &e, "--data", &e], "not both"),
        (vec!["--eval", &e, "--limit", "0"], "--limit"),
        (vec!["--eval", &e, "--timesteps", "10"], "scheduler config"),
        (vec!["--eval", &e, "--var-type", "sideways"], "sideways"),
    ];
    let out = dir.join("out");
    let o = out.display().to_string();
    for (extra, expect) in cases {
        let mut args = vec!["bpd", "--model", &m, "--device", "cpu", "--out", &o];
        args.extend(extra.iter().copied());
        let r = ddpm(&args);
        assert_ne!(r.code, 0, "{extra:?}");
        assert_eq!(r.stderr_lines.len(), 1, "{extra:?}: {:?}", r.stderr_lines);
        assert!(
            r.stderr_lines[0].contains(expect),
            "{extra:?}: {}",
            r.stderr_lines[0]
        );
        assert!(!out.exists(), "{extra:?} wrote output");
    }
}
