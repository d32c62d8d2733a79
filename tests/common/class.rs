//! Shared by the class-conditional tests: the committed diffusers fixtures of each
//! `class_embed_type` (tests/fixtures/class_cond/<kind>/, made by
//! tests/reference/class_cond_fixtures.py) and the comparison against them.
#![allow(dead_code)]

use ddpm_wgpu::nn::{ClassLabels, ModelFolder, UNet2D};
use ddpm_wgpu::npy::{self, NpyData};
use std::path::{Path, PathBuf};

pub fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/class_cond")
        .join(kind)
        .join(name)
}

pub fn model(kind: &str) -> UNet2D {
    ModelFolder::open(fixture(kind, ""))
        .unwrap()
        .unet()
        .unwrap()
}

/// A fixture's class labels: integers, or an identity model's rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Labels {
    Ids(Vec<u32>),
    Rows(Vec<f32>, usize),
}

impl Labels {
    pub fn get(&self) -> ClassLabels<'_> {
        match self {
            Labels::Ids(l) => ClassLabels::Ids(l),
            Labels::Rows(rows, width) => ClassLabels::Rows {
                rows,
                width: *width,
            },
        }
    }

    /// Other labels that must move the output: each label + 1, each row + 1 (as the
    /// fixture script checks on diffusers' side).
    pub fn next(&self) -> Labels {
        match self {
            Labels::Ids(l) => Labels::Ids(l.iter().map(|&v| v + 1).collect()),
            Labels::Rows(r, w) => Labels::Rows(r.iter().map(|&v| v + 1.0).collect(), *w),
        }
    }
}

/// Batch `b` of fixture `kind`: x's shape, x, t, the labels and diffusers' output.
pub struct Case {
    pub shape: [usize; 4],
    pub x: Vec<f32>,
    pub t: Vec<u32>,
    pub labels: Labels,
    pub want: Vec<f32>,
}

pub fn case(kind: &str, b: usize) -> Case {
    let f = |name: &str| fixture(kind, &format!("b{b}_{name}.npy"));
    let (shape, x) = super::cli::read_f32(&f("x"));
    let t = match npy::read(f("t")).unwrap().data {
        NpyData::I64(v) => v.iter().map(|&t| u32::try_from(t).unwrap()).collect(),
        other => panic!("t: {other:?}"),
    };
    let a = npy::read(f("labels")).unwrap();
    let labels = match a.data {
        NpyData::I64(v) => Labels::Ids(v.iter().map(|&l| u32::try_from(l).unwrap()).collect()),
        NpyData::F32(v) => Labels::Rows(v, a.shape[1]),
        other => panic!("labels: {other:?}"),
    };
    Case {
        shape: <[usize; 4]>::try_from(shape.as_slice()).unwrap(),
        x,
        t,
        labels,
        want: super::cli::read_f32(&f("out")).1,
    }
}

impl Case {
    /// The twin's output with `labels`.
    pub fn twin(&self, m: &UNet2D, labels: &Labels) -> Vec<f64> {
        let x = self.x.iter().map(|&v| f64::from(v)).collect();
        let t: Vec<f32> = self.t.iter().map(|&v| v as f32).collect();
        ddpm_wgpu::cpu::nn::unet::forward_classes(m, x, self.shape, &t, Some(labels.get())).unwrap()
    }
}

/// diffusers runs in float32, the twin in f64 and the GPU in f32 with other summation orders:
/// every comparison here takes tests/unet_cpu.rs's and tests/unet_gpu.rs's budget, 1e-5
/// absolute plus 1e-5 relative to the reference (~1e-6 measured over ~40 layers). Returns the
/// worst absolute difference.
pub fn assert_close(what: &str, got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        assert!(
            d <= 1e-5 + 1e-5 * w.abs(),
            "{what}: [{i}] {g} against {w} ({d:.3e})"
        );
        worst = worst.max(d);
    }
    eprintln!("{what}: worst difference {worst:.2e}");
    worst
}

pub fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// The largest |a - b|.
pub fn max_shift(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
