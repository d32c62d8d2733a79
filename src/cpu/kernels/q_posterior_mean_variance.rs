//! CPU twin of `shaders/q_posterior_mean_variance.wgsl`: the moments of q(x_{t-1} | x_t, x_0).

use crate::cpu::kernels::common::{check_batch, q_posterior};
use crate::error::Result;
use crate::schedule::Tables;

/// `q_posterior_mean_variance` outputs, each of x's full shape.
#[derive(Clone, Debug, PartialEq)]
pub struct QPosterior {
    /// coef1 x_0 + coef2 x_t.
    pub posterior_mean: Vec<f64>,
    /// beta tilde_t.
    pub posterior_variance: Vec<f64>,
    /// log beta tilde_t, clipped at t = 0.
    pub posterior_log_variance_clipped: Vec<f64>,
}

/// Mean, variance and clipped log-variance of the forward posterior.
pub fn q_posterior_mean_variance(
    tb: &Tables,
    t: &[u32],
    sample_len: usize,
    x_start: &[f32],
    x_t: &[f32],
) -> Result<QPosterior> {
    let n = check_batch(
        tb,
        t,
        sample_len,
        &[("x_start", x_start.len()), ("x_t", x_t.len())],
    )?;
    let mut out = QPosterior {
        posterior_mean: Vec::with_capacity(n),
        posterior_variance: Vec::with_capacity(n),
        posterior_log_variance_clipped: Vec::with_capacity(n),
    };
    for i in 0..n {
        let s = t[i / sample_len] as usize;
        let (m, v, lv) = q_posterior(tb, s, x_start[i] as f64, x_t[i] as f64);
        out.posterior_mean.push(m);
        out.posterior_variance.push(v);
        out.posterior_log_variance_clipped.push(lv);
    }
    Ok(out)
}
