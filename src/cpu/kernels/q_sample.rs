//! CPU twin of `shaders/q_sample.wgsl`: forward noising x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps.

use crate::cpu::kernels::common::check_batch;
use crate::error::Result;
use crate::schedule::Tables;

/// Draw x_t from q(x_t | x_0) with the given standard normal `noise`.
pub fn q_sample(
    tb: &Tables,
    t: &[u32],
    sample_len: usize,
    x_start: &[f32],
    noise: &[f32],
) -> Result<Vec<f64>> {
    check_batch(
        tb,
        t,
        sample_len,
        &[("x_start", x_start.len()), ("noise", noise.len())],
    )?;
    Ok((0..x_start.len())
        .map(|i| {
            let s = t[i / sample_len] as usize;
            tb.sqrt_alphas_cumprod[s] * x_start[i] as f64
                + tb.sqrt_one_minus_alphas_cumprod[s] * noise[i] as f64
        })
        .collect())
}
