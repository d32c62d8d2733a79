//! Shared by the UNet GPU tests: the committed diffusers fixtures (tests/fixtures/unet/, made by
//! tests/reference/unet_fixtures.py).
#![allow(dead_code)]

use ddpm_wgpu::nn::{ModelFolder, UNet2D};
use ddpm_wgpu::npy::{self, NpyData};
use std::path::{Path, PathBuf};

/// Every committed model fixture.
pub const FIXTURES: &[&str] = &[
    "attn_two_levels_heads",
    "odd_scale_shift_pad0",
    "no_attn_center_learned",
    "cifar10_tiny",
    "f16_no_mid",
    "bf16",
    "pipeline",
    "old_attention_names",
];

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/unet")
        .join(name)
}

/// The model and its scheduler's T.
pub fn model(name: &str) -> (UNet2D, usize) {
    let folder = ModelFolder::open(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let t = folder
        .scheduler
        .as_ref()
        .map_or(1000, |s| s.num_train_timesteps);
    (folder.unet().unwrap_or_else(|e| panic!("{name}: {e}")), t)
}

pub fn read_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let a = npy::read(path).unwrap();
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        other => panic!("{}: {} is not float32", path.display(), other.dtype()),
    }
}

pub fn read_t(path: &Path) -> Vec<u32> {
    match npy::read(path).unwrap().data {
        NpyData::I64(v) => v.iter().map(|&t| u32::try_from(t).unwrap()).collect(),
        other => panic!("{}: {} is not int64", path.display(), other.dtype()),
    }
}

/// (x shape, x, t, diffusers' output) of batch `b` of fixture `name`.
pub fn inputs(name: &str, b: usize) -> (Vec<usize>, Vec<f32>, Vec<u32>, Vec<f32>) {
    let dir = fixture(name);
    let (xs, x) = read_f32(&dir.join(format!("b{b}_x.npy")));
    let t = read_t(&dir.join(format!("b{b}_t.npy")));
    let (_, out) = read_f32(&dir.join(format!("b{b}_out.npy")));
    (xs, x, t, out)
}
