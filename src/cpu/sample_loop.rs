//! CPU twin of the sampling loop (`src/gpu/sample_loop.rs` + `shaders/sample_step.wgsl`):
//! `p_sample_loop` in f64 with the same noise draws, the reference the GPU loop is measured
//! against.

use super::common;
use super::noise::{self, stream};
use crate::error::Result;
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// A model on the CPU: model_output (and model_var for learned types) from x_t and t.
pub trait CpuDenoiser {
    /// Outputs for x ([B * sample_len]) at per-sample steps `t`.
    fn denoise(&self, t: &[u32], x: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>)>;
}

/// Samples of `batch` x `sample_len` through the full reverse process with seed `seed`: x_T from
/// the INIT stream at step T, then for t = T-1 .. 0 the model and the reparameterised step with
/// the SAMPLE stream's draws at step t (none at t = 0).
pub fn p_sample_loop(
    tb: &Tables,
    model: &ModelOptions,
    denoiser: &dyn CpuDenoiser,
    batch: usize,
    sample_len: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let big_t = tb.num_timesteps();
    let mut x = noise::noise(seed, stream::INIT, big_t as u32, 0, batch, sample_len);
    for t in (0..big_t).rev() {
        let steps = vec![t as u32; batch];
        let (out, var) = denoiser.denoise(&steps, &x)?;
        for (i, xi) in x.iter_mut().enumerate() {
            let v = var.as_ref().map_or(0.0, |v| v[i]);
            let m = common::p_mean_variance(tb, model, t, *xi, out[i], v);
            let z = if t == 0 {
                0.0
            } else {
                let (b, j) = (i / sample_len, i % sample_len);
                noise::normal(seed, stream::SAMPLE, t as u32, b as u32, j as u32)
            };
            *xi = m.mean + (0.5 * m.log_variance).exp() * z;
        }
    }
    Ok(x)
}
