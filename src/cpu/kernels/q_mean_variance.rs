//! CPU twin of `shaders/q_mean_variance.wgsl`: the moments of q(x_t | x_0).

use crate::cpu::kernels::common::check_batch;
use crate::error::Result;
use crate::schedule::Tables;

/// `q_mean_variance` outputs, each of x's full shape.
#[derive(Clone, Debug, PartialEq)]
pub struct QMeanVariance {
    /// sqrt(abar_t) x_0.
    pub mean: Vec<f64>,
    /// 1 - abar_t.
    pub variance: Vec<f64>,
    /// log(1 - abar_t).
    pub log_variance: Vec<f64>,
}

/// Mean, variance and log-variance of q(x_t | x_0).
pub fn q_mean_variance(
    tb: &Tables,
    t: &[u32],
    sample_len: usize,
    x_start: &[f32],
) -> Result<QMeanVariance> {
    let n = check_batch(tb, t, sample_len, &[("x_start", x_start.len())])?;
    let mut out = QMeanVariance {
        mean: Vec::with_capacity(n),
        variance: Vec::with_capacity(n),
        log_variance: Vec::with_capacity(n),
    };
    for (i, &x) in x_start.iter().enumerate() {
        let s = t[i / sample_len] as usize;
        out.mean.push(tb.sqrt_alphas_cumprod[s] * x as f64);
        out.variance.push(tb.one_minus_alphas_cumprod[s]);
        out.log_variance.push(tb.log_one_minus_alphas_cumprod[s]);
    }
    Ok(out)
}
