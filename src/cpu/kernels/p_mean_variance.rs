//! CPU twin of `shaders/p_mean_variance.wgsl`: the reverse-step moments from the model's output.

use crate::cpu::kernels::common::{self, check_batch, check_model_var};
use crate::cpu::ModelOut;
use crate::error::Result;
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// `p_mean_variance` outputs, each of x's full shape.
#[derive(Clone, Debug, PartialEq)]
pub struct PMeanVariance {
    /// The reverse-step mean.
    pub model_mean: Vec<f64>,
    /// The reverse-step variance.
    pub model_variance: Vec<f64>,
    /// The reverse-step log-variance.
    pub model_log_variance: Vec<f64>,
    /// The predicted x_0.
    pub pred_xstart: Vec<f64>,
}

/// Mean, variance, log-variance and predicted x_0 of p(x_{t-1} | x_t).
pub fn p_mean_variance(
    tb: &Tables,
    opts: &ModelOptions,
    t: &[u32],
    sample_len: usize,
    x: &[f32],
    model: ModelOut<'_>,
) -> Result<PMeanVariance> {
    check_model_var(opts, model.var)?;
    let n = check_batch(
        tb,
        t,
        sample_len,
        &[
            ("x", x.len()),
            ("model_output", model.output.len()),
            ("model_var", model.var.map_or(x.len(), <[f32]>::len)),
        ],
    )?;
    let mut out = PMeanVariance {
        model_mean: Vec::with_capacity(n),
        model_variance: Vec::with_capacity(n),
        model_log_variance: Vec::with_capacity(n),
        pred_xstart: Vec::with_capacity(n),
    };
    for i in 0..n {
        let s = t[i / sample_len] as usize;
        let m = common::p_mean_variance(
            tb,
            opts,
            s,
            x[i] as f64,
            model.output[i] as f64,
            model.var_at(i),
        );
        out.model_mean.push(m.mean);
        out.model_variance.push(m.variance);
        out.model_log_variance.push(m.log_variance);
        out.pred_xstart.push(m.pred_xstart);
    }
    Ok(out)
}
