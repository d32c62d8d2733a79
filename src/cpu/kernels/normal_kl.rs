//! CPU twin of `shaders/normal_kl.wgsl`: elementwise KL between two diagonal Gaussians.

use crate::cpu::kernels::common::{self, check_lens};
use crate::error::Result;

/// KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))) per element, in nats.
pub fn normal_kl(
    mean1: &[f32],
    logvar1: &[f32],
    mean2: &[f32],
    logvar2: &[f32],
) -> Result<Vec<f64>> {
    let n = check_lens(
        mean1.len(),
        &[
            ("logvar1", logvar1.len()),
            ("mean2", mean2.len()),
            ("logvar2", logvar2.len()),
        ],
    )?;
    Ok((0..n)
        .map(|i| {
            common::normal_kl(
                mean1[i] as f64,
                logvar1[i] as f64,
                mean2[i] as f64,
                logvar2[i] as f64,
            )
        })
        .collect())
}
