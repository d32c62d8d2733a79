//! Class-conditional UNet2DModels (`class_embed_type` null with `num_class_embeds`: the
//! `class_embedding` table): the f64 twin against diffusers' `model(x, t, class_labels)`
//! (tests/fixtures/class_cond/, made by tests/reference/class_cond_fixtures.py), on the library
//! and through `ddpm op unet --input class_labels=L.npy`, and the GPU (linear.wgsl's CLASS_ROW)
//! against both; labels missing, unexpected, out of range or of the wrong length refused.

mod common;

use common::cli::{ddpm, op_args, read_f32, tmp_dir, write_i64};
use ddpm_wgpu::cpu::nn::unet::forward_labeled;
use ddpm_wgpu::nn::{ClassEmbedding, ModelFolder, UNet2D};
use ddpm_wgpu::npy::{self, NpyData};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/class_cond/embedding")
        .join(name)
}

fn model() -> UNet2D {
    ModelFolder::open(fixture("")).unwrap().unet().unwrap()
}

fn ints(name: &str) -> Vec<u32> {
    match npy::read(fixture(name)).unwrap().data {
        NpyData::I64(v) => v.iter().map(|&t| t as u32).collect(),
        other => panic!("{name}: {other:?}"),
    }
}

/// The twin's output for batch `b` of the fixture, and diffusers'.
fn twin(m: &UNet2D, b: usize, labels: Option<&[u32]>) -> (Vec<f64>, Vec<f32>) {
    let (shape, x) = read_f32(&fixture(&format!("b{b}_x.npy")));
    let t: Vec<f32> = ints(&format!("b{b}_t.npy"))
        .iter()
        .map(|&v| v as f32)
        .collect();
    let shape = <[usize; 4]>::try_from(shape.as_slice()).unwrap();
    let x = x.iter().map(|&v| f64::from(v)).collect();
    let (_, want) = read_f32(&fixture(&format!("b{b}_out.npy")));
    (forward_labeled(m, x, shape, &t, labels).unwrap(), want)
}

/// diffusers runs in float32 and the twin in f64: the difference is diffusers' rounding, as
/// for the unconditional fixtures (tests/unet_cpu.rs: ~1e-6 measured over ~40 layers), so the
/// same budget, 1e-5 absolute plus 1e-5 relative. The labels must matter: the same x and t
/// with the next labels moves the output far past it.
#[test]
fn the_twin_matches_diffusers_with_class_labels() {
    let m = model();
    let Some(ClassEmbedding::Table(ce)) = &m.class_embedding else {
        panic!(
            "not a table: {:?}",
            m.class_embedding.as_ref().map(|c| c.kind())
        )
    };
    assert_eq!((ce.num_classes, ce.width), (11, 32));
    for b in [1, 3] {
        let labels = ints(&format!("b{b}_labels.npy"));
        let (got, want) = twin(&m, b, Some(&labels));
        let mut worst = 0.0f64;
        for (g, &w) in got.iter().zip(&want) {
            let (d, w) = ((g - f64::from(w)).abs(), f64::from(w));
            assert!(d <= 1e-5 + 1e-5 * w.abs(), "B = {b}: {g} against {w}");
            worst = worst.max(d);
        }
        eprintln!("B = {b}, labels {labels:?}: worst |twin - diffusers| = {worst:.2e}");
        let next: Vec<u32> = labels.iter().map(|&l| (l + 1) % 11).collect();
        let (moved, _) = twin(&m, b, Some(&next));
        let shift = moved
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            shift > 1e-2,
            "B = {b}: labels moved the output by {shift:.3e}"
        );
    }
}

#[test]
fn labels_missing_unexpected_or_out_of_range_are_refused() {
    let m = model();
    let (shape, x) = read_f32(&fixture("b3_x.npy"));
    let shape = <[usize; 4]>::try_from(shape.as_slice()).unwrap();
    let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let t = [0.0f32, 500.0, 999.0];
    let run = |m: &UNet2D, labels: Option<&[u32]>| {
        forward_labeled(m, x.clone(), shape, &t, labels)
            .unwrap_err()
            .to_string()
    };
    assert!(run(&m, None).contains("class_labels"));
    assert!(run(&m, Some(&[0, 11, 2])).contains("class label 11"));
    assert!(run(&m, Some(&[0, 1])).contains("2 class labels for a batch of 3"));
    let (plain, _) = common::unet::model("attn_two_levels_heads");
    assert!(run(&plain, Some(&[0, 1, 2])).contains("class_labels"));
}

/// The GPU adds each sample's class row in the time embedding's linear_2 dispatch
/// (linear.wgsl with CLASS_ROW, the labels read by sample index): against diffusers within the
/// budget of tests/unet_gpu.rs (f32 on both sides, other summation orders: 1e-5 absolute plus
/// 1e-5 relative), whole and in sub-batches of one sample (each reads its own label). Through
/// the `Denoiser` side, labels set once are rewritten without another `prepare`.
#[test]
fn the_gpu_matches_diffusers_with_class_labels() {
    use ddpm_wgpu::gpu::{Denoiser, DenoiserIo, GpuSteps, GpuTables, GpuTensor, UNetDenoiser};
    let Some(ctx) = common::gpu() else { return };
    let m = model();
    let mut den = UNetDenoiser::new(&ctx, &m, 1000).unwrap();
    assert_eq!(den.num_classes(), Some(11));
    let (shape, x) = read_f32(&fixture("b3_x.npy"));
    let t = ints("b3_t.npy");
    let labels = ints("b3_labels.npy");
    let (_, want) = read_f32(&fixture("b3_out.npy"));
    let close = |got: &[f32], what: &str| {
        let mut worst = 0.0f32;
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-5 + 1e-5 * b.abs(), "{what}: {a} vs {b}");
            worst = worst.max((a - b).abs());
        }
        eprintln!("{what}: worst |gpu - diffusers| = {worst:.2e}");
    };
    for sub in [None, Some(1)] {
        den.set_max_sub_batch(sub);
        let got = den.forward_labeled(&ctx, &x, &shape, &t, Some(&labels));
        close(&got.unwrap(), &format!("forward, sub-batch {sub:?}"));
    }
    assert!(den.forward(&ctx, &x, &shape, &t).is_err());
    assert!(den
        .forward_labeled(&ctx, &x, &shape, &t, Some(&[0, 11, 1]))
        .is_err());
    // The Denoiser side: prepare once, record with these labels, then others, then these.
    den.set_max_sub_batch(None);
    let tables =
        ddpm_wgpu::Tables::from_schedule(ddpm_wgpu::ScheduleKind::Linear, 1e-4, 0.02, 1000);
    let gt = GpuTables::new(&ctx, &tables.unwrap()).unwrap();
    let steps = GpuSteps::new(&ctx, &gt, &t).unwrap();
    let x_t = GpuTensor::from_slice(&ctx, &shape, &x).unwrap();
    let out = GpuTensor::zeros(&ctx, &shape).unwrap();
    let io = DenoiserIo {
        x_t: &x_t,
        timesteps: steps.buffer(),
        tables: &gt,
        model_output: &out,
        model_var: None,
        times: None,
    };
    let run = |den: &UNetDenoiser| {
        let mut enc = ctx.encoder();
        den.record(&ctx, &mut enc, &io).unwrap();
        ctx.submit(enc).unwrap();
        out.to_vec(&ctx).unwrap()
    };
    assert!(den.prepare(&ctx, &io).is_err(), "prepared without labels");
    den.set_class_labels(&ctx, &labels).unwrap();
    den.prepare(&ctx, &io).unwrap();
    close(&run(&den), "prepare and record");
    den.set_class_labels(&ctx, &[1, 2, 3]).unwrap();
    let other = run(&den);
    assert!(other.iter().zip(&want).any(|(a, b)| (a - b).abs() > 1e-2));
    den.set_class_labels(&ctx, &labels).unwrap();
    close(&run(&den), "labels rewritten, not prepared again");
    assert!(den.set_class_labels(&ctx, &[0, 11, 1]).is_err());
    let plain = common::unet::model("attn_two_levels_heads").0;
    let mut plain = UNetDenoiser::new(&ctx, &plain, 1000).unwrap();
    assert!(plain.set_class_labels(&ctx, &[0]).is_err());
}

/// `ddpm op unet --input class_labels=L.npy` writes diffusers' output on either device; without
/// the labels or with labels out of range: one line, no output.
#[test]
fn op_unet_takes_class_labels() {
    let dir = tmp_dir("op-unet-class");
    let model = fixture("").display().to_string();
    let f = |name: &str| fixture(name).display().to_string();
    let (x, t, l) = (
        format!("x={}", f("b3_x.npy")),
        format!("t={}", f("b3_t.npy")),
        format!("class_labels={}", f("b3_labels.npy")),
    );
    let (_, want) = read_f32(&fixture("b3_out.npy"));
    let mut devices = vec!["cpu"];
    if common::gpu().is_some() {
        devices.push("gpu");
    }
    for dev in devices {
        let out = dir.join(dev).display().to_string();
        let args = ["--model", model.as_str(), "--device", dev];
        let all = [x.clone(), t.clone(), l.clone()];
        let r = ddpm(&op_args("unet", &all, &out, &args));
        assert_eq!(r.code, 0, "{dev}: {:?}", r.stderr_lines);
        let (shape, got) = read_f32(&dir.join(dev).join("model_output.npy"));
        assert_eq!(shape, [3, 3, 8, 8]);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-5 + 1e-5 * b.abs(), "{dev}: {a} vs {b}");
        }
    }
    let late = format!("class_labels={}", write_i64(&dir, "late", &[0, 11, 3]));
    let bad = dir.join("bad").display().to_string();
    for dev in ["cpu", "gpu"] {
        let args = ["--model", model.as_str(), "--device", dev];
        for inputs in [
            vec![x.clone(), t.clone()],
            vec![x.clone(), t.clone(), late.clone()],
        ] {
            let r = ddpm(&op_args("unet", &inputs, &bad, &args));
            assert_ne!(r.code, 0, "{inputs:?} {dev}");
            assert_eq!(r.stderr_lines.len(), 1, "{:?}", r.stderr_lines);
            assert!(!dir.join("bad").exists());
        }
    }
}
