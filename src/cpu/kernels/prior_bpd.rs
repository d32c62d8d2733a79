//! CPU twin of `shaders/prior_bpd.wgsl` (+ the per-sample mean of `shaders/sample_mean.wgsl`).

use crate::cpu::kernels::common::{self, check_lens, LN_2};
use crate::error::Result;
use crate::schedule::Tables;

/// `_prior_bpd`: KL(q(x_{T-1} | x_0) || N(0, I)) per sample, in bits/dim.
pub fn prior_bpd(
    tb: &Tables,
    batch: usize,
    sample_len: usize,
    x_start: &[f32],
) -> Result<Vec<f64>> {
    let n = batch.checked_mul(sample_len).ok_or_else(|| {
        crate::Error::ShapeMismatch(format!("{batch} samples of {sample_len} overflow usize"))
    })?;
    check_lens(n, &[("x_start", x_start.len())])?;
    let last = tb.num_timesteps() - 1;
    let terms: Vec<f64> = x_start
        .iter()
        .map(|&x| {
            common::normal_kl(
                tb.sqrt_alphas_cumprod[last] * x as f64,
                tb.log_one_minus_alphas_cumprod[last],
                0.0,
                0.0,
            )
        })
        .collect();
    Ok(crate::cpu::kernels::sample_mean::sample_mean(
        &terms,
        sample_len,
        1.0 / LN_2,
    ))
}
