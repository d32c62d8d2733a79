//! The DPM-Solver++ fixtures of diffusers' loops (tests/fixtures/dpm_solver/, written by
//! tests/reference/dpm_solver_fixtures.py): their folder, cases and arrays.

use ddpm_wgpu::npy::{self, NpyData};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The fixtures' folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dpm_solver")
}

/// cases.json: the loop cases and the timestep lists.
pub fn cases() -> Value {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A float32 fixture array: (shape, values).
pub fn read_f32(name: &str) -> (Vec<usize>, Vec<f32>) {
    let a = npy::read(fixtures().join(name)).unwrap();
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        other => panic!("{name}: {other:?}"),
    }
}
