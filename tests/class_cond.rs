//! Class-conditional UNet2DModels (`class_embed_type` null with `num_class_embeds`: the
//! `class_embedding` table): the f64 twin against diffusers' `model(x, t, class_labels)`
//! (tests/fixtures/class_cond/, made by tests/reference/class_cond_fixtures.py), on the library
//! and through `ddpm op unet --input class_labels=L.npy`; labels missing, unexpected, out of
//! range or of the wrong length refused; the GPU, which has no class-embedding kernel yet,
//! refusing such a model by name.

mod common;

use common::cli::{ddpm, op_args, read_f32, tmp_dir, write_i64};
use ddpm_wgpu::cpu::nn::unet::forward_labeled;
use ddpm_wgpu::nn::{ModelFolder, UNet2D};
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
    let ce = m.class_embedding.as_ref().unwrap();
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

/// The GPU has no class-embedding kernel yet: `UNetDenoiser` refuses the model by name rather
/// than run it without its labels.
#[test]
fn the_gpu_refuses_class_embeddings_by_name() {
    let Some(ctx) = common::gpu() else { return };
    let e = ddpm_wgpu::gpu::UNetDenoiser::new(&ctx, &model(), 1000).unwrap_err();
    assert!(e.to_string().contains("num_class_embeds 11"), "{e}");
}

/// `ddpm op unet --input class_labels=L.npy --device cpu` writes diffusers' output; without
/// the labels, with labels out of range, or on the GPU: one line, no output.
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
    let out = dir.join("cpu").display().to_string();
    let args = ["--model", model.as_str(), "--device", "cpu"];
    let r = ddpm(&op_args(
        "unet",
        &[x.clone(), t.clone(), l.clone()],
        &out,
        &args,
    ));
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let (shape, got) = read_f32(&dir.join("cpu").join("model_output.npy"));
    let (_, want) = read_f32(&fixture("b3_out.npy"));
    assert_eq!(shape, [3, 3, 8, 8]);
    for (a, b) in got.iter().zip(&want) {
        assert!((a - b).abs() <= 1e-5 + 1e-5 * b.abs(), "{a} vs {b}");
    }
    let late = format!("class_labels={}", write_i64(&dir, "late", &[0, 11, 3]));
    let bad = dir.join("bad").display().to_string();
    let gpu = ["--model", model.as_str(), "--device", "gpu"];
    for (inputs, extra) in [
        (vec![x.clone(), t.clone()], args),
        (vec![x.clone(), t.clone(), late], args),
        (vec![x, t, l], gpu),
    ] {
        let r = ddpm(&op_args("unet", &inputs, &bad, &extra));
        assert_ne!(r.code, 0, "{inputs:?} {extra:?}");
        assert_eq!(r.stderr_lines.len(), 1, "{:?}", r.stderr_lines);
        assert!(!dir.join("bad").exists());
    }
}
