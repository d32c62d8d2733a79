//! The check's seeded inputs: for every op, its tensors, timesteps and model outputs drawn
//! over the ranges the kernels must handle. Shared by the sweeps of `cases.rs` and
//! `step_cases.rs`.

use super::Gen;
use crate::npy::{NpyArray, NpyData};
use crate::ops::{self, Op};
use crate::options::{MeanType, ModelOptions, VarType};
use crate::schedule::Tables;
use std::collections::BTreeMap;

fn arr(shape: &[usize], data: Vec<f32>) -> NpyArray {
    NpyArray {
        shape: shape.to_vec(),
        data: NpyData::F32(data),
    }
}

fn steps_arr(t: &[u32]) -> NpyArray {
    NpyArray {
        shape: vec![t.len()],
        data: NpyData::I64(t.iter().map(|&v| v as i64).collect()),
    }
}

/// Timesteps covering 0, 1, T-1, the middle and random steps.
fn timesteps(g: &mut Gen, batch: usize, big_t: usize) -> Vec<u32> {
    let fixed = [0, 1.min(big_t - 1), big_t - 1, big_t / 2];
    (0..batch)
        .map(|b| match fixed.get(b) {
            Some(&v) => v as u32,
            None => (g.next_u64() % big_t as u64) as u32,
        })
        .collect()
}

/// Normals with a few elements at |6|, the extreme the issue names.
fn noise(g: &mut Gen, n: usize) -> Vec<f32> {
    let mut v = g.vec(n, Gen::normal);
    if n >= 2 {
        v[1] = 6.0;
        v[n - 2] = -6.0;
    }
    v
}

/// The model's output for a mean type: eps ~ N(0, 1); x_0 slightly beyond [-1, 1] so clipping
/// acts; x_{t-1} ~ N(0, 1).
fn model_output(g: &mut Gen, n: usize, mean: MeanType) -> Vec<f32> {
    match mean {
        MeanType::Xstart => g.vec(n, |g| g.range(-1.2, 1.2)),
        _ => g.vec(n, Gen::normal),
    }
}

/// model_var for a variance type: log-variances in [-30, 5] or v in [-1, 1].
fn model_var(g: &mut Gen, n: usize, var: VarType) -> Option<Vec<f32>> {
    match var {
        VarType::Learned => Some(g.vec(n, |g| g.range(-30.0, 5.0))),
        VarType::LearnedRange => Some(g.vec(n, |g| g.range(-1.0, 1.0))),
        _ => None,
    }
}

/// Inputs for `op` with x of `shape`, T from `tables`.
pub fn inputs(
    g: &mut Gen,
    op: Op,
    model: &ModelOptions,
    tables: &Tables,
    shape: &[usize],
) -> BTreeMap<String, NpyArray> {
    let n: usize = shape.iter().product();
    let mut m = BTreeMap::new();
    let mut put = |name: &str, data: Vec<f32>| {
        m.insert(name.to_string(), arr(shape, data));
    };
    for &name in op.tensor_inputs() {
        let data = match name {
            "x_start" => g.pixels(n),
            "noise" => noise(g, n),
            "model_output" => model_output(g, n, model.mean_type),
            // KL/likelihood inputs: means near each other, log-variances over [-30, 5].
            "mean1" | "mean2" => g.vec(n, |g| 2.0 * g.normal()),
            "logvar1" | "logvar2" => g.vec(n, |g| g.range(-30.0, 5.0)),
            "x" if op == Op::DiscretizedGaussianLogLikelihood => g.pixels(n),
            "means" => g.vec(n, |g| g.range(-1.1, 1.1)),
            "log_scales" => g.vec(n, |g| g.range(-15.0, 2.5)),
            _ => g.vec(n, |g| 1.5 * g.normal()), // x, x_t
        };
        put(name, data);
    }
    if op.takes_model() {
        if let Some(v) = model_var(g, n, model.var_type) {
            put(ops::MODEL_VAR, v);
        }
    }
    if op.takes_t() {
        m.insert(
            "t".into(),
            steps_arr(&timesteps(g, shape[0], tables.num_timesteps())),
        );
    }
    m
}
