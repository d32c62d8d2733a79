//! Element math shared by several CPU twins, mirroring `shaders/common.wgsl`, in f64 and written
//! as the original code writes it (the accuracy yardstick, not a copy of the shader's tricks).

use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions, VarType};
use crate::schedule::Tables;

/// ln 2: `_vb_terms_bpd` and `_prior_bpd` divide nats by it to get bits.
pub const LN_2: f64 = std::f64::consts::LN_2;

/// The half-width of one 8-bit pixel bin on [-1, 1], as in `discretized_gaussian_log_likelihood`.
pub const BIN_HALF_WIDTH: f64 = 1.0 / 255.0;

/// Validate a batch: `t` has one entry per sample, each < T, and every tensor holds
/// `t.len() * sample_len` elements. Returns the element count.
pub fn check_batch(
    tables: &Tables,
    t: &[u32],
    sample_len: usize,
    tensors: &[(&str, usize)],
) -> Result<usize> {
    check_timesteps(t, tables.num_timesteps())?;
    let n = t.len().checked_mul(sample_len).ok_or_else(|| {
        Error::ShapeMismatch(format!(
            "{} samples of {sample_len} overflow usize",
            t.len()
        ))
    })?;
    check_lens(n, tensors)
}

/// Every timestep must lie in [0, T).
pub fn check_timesteps(t: &[u32], num_timesteps: usize) -> Result<()> {
    match t
        .iter()
        .enumerate()
        .find(|(_, &v)| v as usize >= num_timesteps)
    {
        Some((index, &value)) => Err(Error::TimestepOutOfRange {
            index,
            value: value as i64,
            num_timesteps,
        }),
        None => Ok(()),
    }
}

/// Validate that every named tensor holds `n` elements; returns `n`.
pub fn check_lens(n: usize, tensors: &[(&str, usize)]) -> Result<usize> {
    for &(name, len) in tensors {
        if len != n {
            return Err(Error::ShapeMismatch(format!(
                "'{name}' has {len} elements, expected {n}"
            )));
        }
    }
    Ok(n)
}

/// `model_var` must be present exactly when the variance type is learned.
pub fn check_model_var(opts: &ModelOptions, model_var: Option<&[f32]>) -> Result<()> {
    if opts.var_type.is_learned() && model_var.is_none() {
        return Err(Error::MissingInput(format!(
            "model_var (required by variance type {})",
            opts.var_type
        )));
    }
    Ok(())
}

/// `q_posterior_mean_variance` for one element: (mean, variance, log_variance_clipped).
pub fn q_posterior(tb: &Tables, t: usize, x_start: f64, x_t: f64) -> (f64, f64, f64) {
    (
        tb.posterior_mean_coef1[t] * x_start + tb.posterior_mean_coef2[t] * x_t,
        tb.posterior_variance[t],
        tb.posterior_log_variance_clipped[t],
    )
}

/// One element of `p_mean_variance`'s four outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanVar {
    /// The reverse-step mean.
    pub mean: f64,
    /// The reverse-step variance (as the original reports it; see [`p_mean_variance`]).
    pub variance: f64,
    /// The reverse-step log-variance.
    pub log_variance: f64,
    /// The predicted x_0 (clipped when asked).
    pub pred_xstart: f64,
}

/// x_0 as the model's output predicts it at step t, before clipping (shaders/shared/model.wgsl
/// `predict_xstart`).
pub fn predict_xstart(
    tb: &Tables,
    mean_type: MeanType,
    t: usize,
    x: f64,
    model_output: f64,
) -> f64 {
    match mean_type {
        MeanType::Xprev => {
            (1.0 / tb.posterior_mean_coef1[t]) * model_output
                - (tb.posterior_mean_coef2[t] / tb.posterior_mean_coef1[t]) * x
        }
        MeanType::Xstart => model_output,
        MeanType::Eps => {
            tb.sqrt_recip_alphas_cumprod[t] * x - tb.sqrt_recipm1_alphas_cumprod[t] * model_output
        }
        MeanType::V => {
            tb.sqrt_alphas_cumprod[t] * x - tb.sqrt_one_minus_alphas_cumprod[t] * model_output
        }
    }
}

/// The predicted x_0 as a step uses it: clamped to [-s, s] and divided by s for a dynamic
/// threshold `scale` = Some(s), else clipped to [-R, R] when `opts.clip_denoised`.
pub fn process_xstart(opts: &ModelOptions, x0: f64, scale: Option<f64>) -> f64 {
    match scale {
        Some(s) => x0.clamp(-s, s) / s,
        None if opts.clip_denoised => x0.clamp(-opts.clip_range, opts.clip_range),
        None => x0,
    }
}

/// `p_mean_variance` for one element, given the model's outputs at that element.
///
/// As in the original, fixedsmall/fixedlarge report `variance` = pv_t / beta_t but
/// `log_variance` clipped at t = 0 (log pv_1), so the two disagree at t = 0 on purpose.
pub fn p_mean_variance(
    tb: &Tables,
    opts: &ModelOptions,
    t: usize,
    x: f64,
    model_output: f64,
    model_var: f64,
) -> MeanVar {
    p_mean_variance_scaled(tb, opts, t, x, model_output, model_var, None)
}

/// [`p_mean_variance`] with pred_xstart divided by the sample's dynamic threshold `scale`.
pub fn p_mean_variance_scaled(
    tb: &Tables,
    opts: &ModelOptions,
    t: usize,
    x: f64,
    model_output: f64,
    model_var: f64,
    scale: Option<f64>,
) -> MeanVar {
    let (variance, log_variance) = match opts.var_type {
        VarType::FixedSmall => (
            tb.posterior_variance[t],
            tb.posterior_log_variance_clipped[t],
        ),
        VarType::FixedLarge => (tb.betas[t], tb.fixedlarge_log_variance[t]),
        VarType::Learned => (model_var.exp(), model_var),
        VarType::LearnedRange => {
            let frac = (model_var + 1.0) / 2.0;
            let lv = frac * tb.log_betas[t] + (1.0 - frac) * tb.posterior_log_variance_clipped[t];
            (lv.exp(), lv)
        }
    };
    let raw = predict_xstart(tb, opts.mean_type, t, x, model_output);
    let pred_xstart = process_xstart(opts, raw, scale);
    let mean = match opts.mean_type {
        MeanType::Xprev => model_output,
        _ => q_posterior(tb, t, pred_xstart, x).0,
    };
    MeanVar {
        mean,
        variance,
        log_variance,
        pred_xstart,
    }
}

/// KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))) in nats, as the original writes it.
pub fn normal_kl(mean1: f64, logvar1: f64, mean2: f64, logvar2: f64) -> f64 {
    0.5 * (-1.0 + logvar2 - logvar1
        + (logvar1 - logvar2).exp()
        + (mean1 - mean2).powi(2) * (-logvar2).exp())
}

/// The original's tanh approximation of the standard normal CDF.
pub fn approx_standard_normal_cdf(x: f64) -> f64 {
    0.5 * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh())
}

/// `discretized_gaussian_log_likelihood` for one element. The edge tests compare in f32, as the
/// original's TensorFlow graph does (`x < -0.999` with a float32 x).
pub fn discretized_gaussian_log_likelihood(x: f32, mean: f64, log_scale: f64) -> f64 {
    let centered = x as f64 - mean;
    let inv_stdv = (-log_scale).exp();
    let cdf_plus = approx_standard_normal_cdf(inv_stdv * (centered + BIN_HALF_WIDTH));
    let cdf_min = approx_standard_normal_cdf(inv_stdv * (centered - BIN_HALF_WIDTH));
    if x < -0.999f32 {
        cdf_plus.max(1e-12).ln()
    } else if x > 0.999f32 {
        (1.0 - cdf_min).max(1e-12).ln()
    } else {
        (cdf_plus - cdf_min).max(1e-12).ln()
    }
}

/// One element of `_vb_terms_bpd` before the mean: the decoder NLL at t = 0, else the KL from the
/// true posterior to the model, both in nats. Also returns `pred_xstart`.
pub fn vb_term(
    tb: &Tables,
    opts: &ModelOptions,
    t: usize,
    x_start: f32,
    x_t: f64,
    model_output: f64,
    model_var: f64,
) -> (f64, f64) {
    let (true_mean, _, true_log_var) = q_posterior(tb, t, x_start as f64, x_t);
    let m = p_mean_variance(tb, opts, t, x_t, model_output, model_var);
    let term = if t == 0 {
        -discretized_gaussian_log_likelihood(x_start, m.mean, 0.5 * m.log_variance)
    } else {
        normal_kl(true_mean, true_log_var, m.mean, m.log_variance)
    };
    (term, m.pred_xstart)
}
