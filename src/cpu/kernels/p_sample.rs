//! CPU twin of `shaders/p_sample.wgsl`: one reparameterised reverse step.

use crate::cpu::kernels::common::{self, check_batch, check_model_var};
use crate::cpu::ModelOut;
use crate::error::Result;
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// `p_sample` outputs, each of x's full shape.
#[derive(Clone, Debug, PartialEq)]
pub struct PSample {
    /// x_{t-1} = mean + [t != 0] exp(0.5 logvar) noise.
    pub sample: Vec<f64>,
    /// The predicted x_0.
    pub pred_xstart: Vec<f64>,
}

/// Draw x_{t-1} from p(x_{t-1} | x_t) with the given standard normal `noise`.
pub fn p_sample(
    tb: &Tables,
    opts: &ModelOptions,
    t: &[u32],
    sample_len: usize,
    x: &[f32],
    model: ModelOut<'_>,
    noise: &[f32],
) -> Result<PSample> {
    check_model_var(opts, model.var)?;
    let n = check_batch(
        tb,
        t,
        sample_len,
        &[
            ("x", x.len()),
            ("model_output", model.output.len()),
            ("model_var", model.var.map_or(x.len(), <[f32]>::len)),
            ("noise", noise.len()),
        ],
    )?;
    let mut out = PSample {
        sample: Vec::with_capacity(n),
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
        // No noise at t == 0: the last step returns the mean.
        let nonzero = if s == 0 { 0.0 } else { 1.0 };
        out.sample
            .push(m.mean + nonzero * (0.5 * m.log_variance).exp() * noise[i] as f64);
        out.pred_xstart.push(m.pred_xstart);
    }
    Ok(out)
}
