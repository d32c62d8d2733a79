//! CPU twin of `shaders/vb_terms_bpd.wgsl` (+ the per-sample mean of `shaders/sample_mean.wgsl`).

use crate::cpu::kernels::common::{self, check_batch, check_model_var, LN_2};
use crate::cpu::ModelOut;
use crate::error::Result;
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// `_vb_terms_bpd` outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct VbTerms {
    /// Per sample, bits/dim: the decoder NLL where t = 0, else KL(q(x_{t-1}|x_t,x_0) || p).
    pub output: Vec<f64>,
    /// The predicted x_0, x's full shape.
    pub pred_xstart: Vec<f64>,
}

/// One term of the variational bound per sample, in bits/dim.
#[allow(clippy::too_many_arguments)] // mirrors the original's signature plus the batch layout
pub fn vb_terms_bpd(
    tb: &Tables,
    opts: &ModelOptions,
    t: &[u32],
    sample_len: usize,
    x_start: &[f32],
    x_t: &[f32],
    model: ModelOut<'_>,
) -> Result<VbTerms> {
    check_model_var(opts, model.var)?;
    let n = check_batch(
        tb,
        t,
        sample_len,
        &[
            ("x_start", x_start.len()),
            ("x_t", x_t.len()),
            ("model_output", model.output.len()),
            ("model_var", model.var.map_or(x_start.len(), <[f32]>::len)),
        ],
    )?;
    let (terms, pred_xstart): (Vec<f64>, Vec<f64>) = (0..n)
        .map(|i| {
            common::vb_term(
                tb,
                opts,
                t[i / sample_len] as usize,
                x_start[i],
                x_t[i] as f64,
                model.output[i] as f64,
                model.var_at(i),
            )
        })
        .unzip();
    Ok(VbTerms {
        output: crate::cpu::kernels::sample_mean::sample_mean(&terms, sample_len, 1.0 / LN_2),
        pred_xstart,
    })
}
