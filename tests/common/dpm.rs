//! The fixtures of diffusers' multistep loops (tests/fixtures/dpm_solver/ and
//! tests/fixtures/unipc/, written by tests/reference/dpm_solver_fixtures.py and
//! unipc_fixtures.py): their folders, cases and arrays.

use ddpm_wgpu::npy::{self, NpyData};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The DPM-Solver fixtures' folder.
pub fn fixtures() -> PathBuf {
    fixtures_of("dpm_solver")
}

/// tests/fixtures/<dir>.
pub fn fixtures_of(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

/// The DPM-Solver cases.json: the loop cases and the timestep lists.
pub fn cases() -> Value {
    cases_of("dpm_solver")
}

/// tests/fixtures/<dir>/cases.json.
pub fn cases_of(dir: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_of(dir).join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A float32 DPM-Solver fixture array: (shape, values).
pub fn read_f32(name: &str) -> (Vec<usize>, Vec<f32>) {
    read_f32_of("dpm_solver", name)
}

/// A float32 array of tests/fixtures/<dir>: (shape, values).
pub fn read_f32_of(dir: &str, name: &str) -> (Vec<usize>, Vec<f32>) {
    let a = npy::read(fixtures_of(dir).join(name)).unwrap();
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        other => panic!("{name}: {other:?}"),
    }
}
