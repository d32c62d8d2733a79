//! The class-conditional digits model embedded in the crate (`embedded:digits-cond`, trained by
//! `tools/train/train.py --class-cond`): it is the finished run with 11 class rows, its labelled
//! forward on the GPU matches the f64 twin and diffusers' own outputs (fixture written by
//! tools/train/embedded_fixture.py), `ddpm sample --class` without `--model` samples it and
//! draws the digit asked for, and a `--class` list puts one cycle per row of the PNG grid.

mod common;

use common::cli::{ddpm, read_f32, tmp_dir};
use ddpm_wgpu::cpu::nn::unet::forward_labeled;
use ddpm_wgpu::gpu::UNetDenoiser;
use ddpm_wgpu::nn::presets::{digits_cond, EMBEDDED_DIGITS_COND};
use ddpm_wgpu::nn::{ClassEmbedding, ModelFolder};
use ddpm_wgpu::npy::{self, NpyData};
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/embedded_digits_cond";

fn ints(name: &str) -> Vec<u32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .join(name);
    match npy::read(path).unwrap().data {
        NpyData::I64(v) => v.into_iter().map(|v| v as u32).collect(),
        other => panic!("{name} is {}", other.dtype()),
    }
}

#[test]
fn the_embedded_cond_model_is_a_finished_run_with_eleven_classes() {
    let folder = ModelFolder::resolve(EMBEDDED_DIGITS_COND).unwrap();
    let unet = folder.unet().unwrap();
    assert!(folder.unused_tensors().is_empty());
    let Some(ClassEmbedding::Table(ce)) = &unet.class_embedding else {
        panic!(
            "not a class table: {:?}",
            unet.class_embedding.as_ref().map(|c| c.kind())
        );
    };
    assert_eq!(ce.num_classes, 11, "digits 0-9 and the null class 10");
    assert_eq!(
        (unet.config.in_channels, unet.config.sample_size),
        (1, Some((16, 16)))
    );
    let record: serde_json::Value = serde_json::from_str(digits_cond::TRAINING).unwrap();
    assert_eq!(record["class_cond"], serde_json::Value::Bool(true));
    let steps = record["steps"].as_u64().unwrap();
    assert_eq!(
        Some(steps),
        record["planned_steps"].as_u64(),
        "a stopped run"
    );
    // f16 weights of 1.1M parameters: the 3 MB ceiling.
    assert!(digits_cond::WEIGHTS.len() <= 3_000_000);
}

/// As for embedded:digits (tests/embedded_model.rs): the twin in f64 from the same f16 weights,
/// diffusers and the GPU in f32, within the UNet tests' 1e-5 absolute plus 1e-5 relative. The
/// labels are 0, 7 and the null class 10, at timesteps 0, 500, 999.
#[test]
fn its_labelled_forward_matches_the_twin_and_diffusers() {
    let Some(ctx) = common::gpu() else { return };
    let unet = ModelFolder::embedded_digits_cond().unwrap().unet().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let (xs, x) = read_f32(&dir.join("x.npy"));
    assert_eq!(xs, [3, 1, 16, 16]);
    let (t, labels) = (ints("t.npy"), ints("labels.npy"));
    assert_eq!(labels, [0, 7, 10]);
    let (_, want) = read_f32(&dir.join("out.npy"));
    let den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
    let got = den
        .forward_labeled(&ctx, &x, &xs, &t, Some(&labels))
        .unwrap();
    let tf: Vec<f32> = t.iter().map(|&v| v as f32).collect();
    let xd = x.iter().map(|&v| f64::from(v)).collect();
    let twin = forward_labeled(&unet, xd, [3, 1, 16, 16], &tf, Some(&labels)).unwrap();
    let (mut to_twin, mut to_diffusers) = (0.0f64, 0.0f64);
    for ((&g, &c), &d) in got.iter().zip(&twin).zip(&want) {
        let (g, d) = (f64::from(g), f64::from(d));
        assert!((g - c).abs() <= 1e-5 + 1e-5 * c.abs(), "gpu {g} twin {c}");
        assert!(
            (d - c).abs() <= 1e-5 + 1e-5 * c.abs(),
            "diffusers {d} twin {c}"
        );
        to_twin = to_twin.max((g - c).abs());
        to_diffusers = to_diffusers.max((g - d).abs());
    }
    println!("worst |gpu - twin| {to_twin:.2e}, |gpu - diffusers| {to_diffusers:.2e}");
    // Without labels the model is refused, as diffusers raises.
    assert!(den.forward_labeled(&ctx, &x, &xs, &t, None).is_err());
}

/// `--class 0,1` alternates zeros and ones. A 0 is a ring around a dark hole and a 1 a stroke
/// through the middle: the central 4x4 pixels are darker than the sample's mean for every 0 and
/// brighter for every 1 (measured on this model: centre -0.46 to -0.85 against means of -0.19 to
/// -0.59 for zeros, 0.37 to 0.82 against -0.19 to -0.53 for ones). A model that ignored the
/// labels, or read them in the wrong order, fails it.
#[test]
fn class_without_a_model_draws_the_digits_asked_for() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp_dir("embedded_cond");
    let out = dir.join("s.npy").display().to_string();
    let r = ddpm(&["sample", "--class", "0,1", "--count", "8", "--out", &out]);
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    assert!(r.stdout.contains(EMBEDDED_DIGITS_COND), "{}", r.stdout);
    let (shape, v) = read_f32(Path::new(&out));
    assert_eq!(shape, [8, 1, 16, 16]);
    for (i, img) in v.chunks(256).enumerate() {
        let mean = img.iter().sum::<f32>() / 256.0;
        let centre = (6..10)
            .flat_map(|y| (6..10).map(move |x| img[y * 16 + x]))
            .sum::<f32>()
            / 16.0;
        if i % 2 == 0 {
            assert!(
                centre < mean,
                "sample {i} (a 0): centre {centre}, mean {mean}"
            );
        } else {
            assert!(
                centre > mean,
                "sample {i} (a 1): centre {centre}, mean {mean}"
            );
        }
    }
}

/// A `--class` list of L labels gives grids of L columns (one cycle a row); one label keeps the
/// square grid. Tiles are 16 pixels with 1-pixel borders, enlarged by a whole factor.
#[test]
fn a_class_list_puts_one_cycle_per_row_of_the_grid() {
    if common::gpu().is_none() {
        return;
    }
    let dir = tmp_dir("embedded_cond_grid");
    let size = |class: &str, count: &str| {
        let png = dir
            .join(format!("{class}-{count}.png"))
            .display()
            .to_string();
        let args = ["sample", "--class", class, "--count", count, "--steps", "2"];
        let r = ddpm(&[&args[..], &["--out", &png]].concat());
        assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
        let (w, h) = image::image_dimensions(&png).unwrap();
        (w as usize, h as usize)
    };
    // 2 columns x 3 rows, 35 x 52 pixels before enlarging (the square grid of 6 would be 3 x 2).
    let (w, h) = size("0,1", "6");
    assert_eq!(w * 52, h * 35, "{w}x{h}");
    // One label keeps the square grid (4 samples: 2 x 2); a list of 4 labels and 4 samples is
    // one row of 4: 69 x 18.
    let (w, h) = size("4", "4");
    assert_eq!(w, h, "2x2 grid: {w}x{h}");
    let (w, h) = size("0,1,2,3", "4");
    assert_eq!(w * 18, h * 69, "{w}x{h}");
}
