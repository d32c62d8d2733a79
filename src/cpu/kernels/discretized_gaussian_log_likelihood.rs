//! CPU twin of `shaders/discretized_gaussian_log_likelihood.wgsl`: the log-probability of
//! 8-bit-binned data under a Gaussian, with open-ended edge bins at -1 and 1.

use crate::cpu::kernels::common::{self, check_lens};
use crate::error::Result;

/// Per-element log-likelihood of `x` (in [-1, 1]) in nats.
pub fn discretized_gaussian_log_likelihood(
    x: &[f32],
    means: &[f32],
    log_scales: &[f32],
) -> Result<Vec<f64>> {
    let n = check_lens(
        x.len(),
        &[("means", means.len()), ("log_scales", log_scales.len())],
    )?;
    Ok((0..n)
        .map(|i| {
            common::discretized_gaussian_log_likelihood(x[i], means[i] as f64, log_scales[i] as f64)
        })
        .collect())
}
