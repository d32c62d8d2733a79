//! CPU twin of shaders/predict_xstart.wgsl: the raw x_0 of the model's output per element, in
//! f64 (`common::predict_xstart`), the reference for tests.

use crate::cpu::kernels::common;
use crate::error::Result;
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// x_0 of `model_output` at x, sample b at step t\[b\] of `tb`.
pub fn predict_xstart(
    tb: &Tables,
    model: &ModelOptions,
    t: &[u32],
    sample_len: usize,
    x: &[f32],
    model_output: &[f32],
) -> Result<Vec<f64>> {
    let n = common::check_batch(
        tb,
        t,
        sample_len,
        &[("x", x.len()), ("model_output", model_output.len())],
    )?;
    Ok((0..n)
        .map(|i| {
            let s = t[i / sample_len] as usize;
            common::predict_xstart(tb, model.mean_type, s, x[i] as f64, model_output[i] as f64)
        })
        .collect())
}
