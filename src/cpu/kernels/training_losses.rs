//! CPU twin of `shaders/training_losses.wgsl` (+ the per-sample mean of `shaders/sample_mean.wgsl`).

use crate::cpu::kernels::common::{self, check_batch, check_model_var, LN_2};
use crate::cpu::ModelOut;
use crate::error::{Error, Result};
use crate::options::{LossType, MeanType, ModelOptions};
use crate::schedule::Tables;

/// `training_losses`: x_t = q_sample(x_start, t, noise), then per sample either the mean squared
/// error of `model_output` against the mean type's target (mse) or the vb term in bits/dim with
/// `opts.clip_denoised` (kl). The original always uses clip_denoised = false here.
#[allow(clippy::too_many_arguments)] // mirrors the original's signature plus the batch layout
pub fn training_losses(
    tb: &Tables,
    opts: &ModelOptions,
    loss: LossType,
    t: &[u32],
    sample_len: usize,
    x_start: &[f32],
    noise: &[f32],
    model: ModelOut<'_>,
) -> Result<Vec<f64>> {
    check_loss(opts, loss)?;
    check_model_var(opts, model.var)?;
    let n = check_batch(
        tb,
        t,
        sample_len,
        &[
            ("x_start", x_start.len()),
            ("noise", noise.len()),
            ("model_output", model.output.len()),
            ("model_var", model.var.map_or(x_start.len(), <[f32]>::len)),
        ],
    )?;
    let terms: Vec<f64> = (0..n)
        .map(|i| {
            let s = t[i / sample_len] as usize;
            let x0 = x_start[i] as f64;
            // x_t is rounded to f32 before use: the GPU keeps it in an f32 register and the
            // original materialises it as a float32 tensor.
            let x_t = (tb.sqrt_alphas_cumprod[s] * x0
                + tb.sqrt_one_minus_alphas_cumprod[s] * noise[i] as f64)
                as f32 as f64;
            let out = model.output[i] as f64;
            match loss {
                LossType::Kl => {
                    common::vb_term(tb, opts, s, x_start[i], x_t, out, model.var_at(i)).0
                }
                LossType::Mse => {
                    let target = match opts.mean_type {
                        MeanType::Eps => noise[i] as f64,
                        MeanType::Xstart => x0,
                        MeanType::Xprev => common::q_posterior(tb, s, x0, x_t).0,
                        MeanType::V => {
                            tb.sqrt_alphas_cumprod[s] * noise[i] as f64
                                - tb.sqrt_one_minus_alphas_cumprod[s] * x0
                        }
                    };
                    (target - out).powi(2)
                }
            }
        })
        .collect();
    let scale = match loss {
        LossType::Kl => 1.0 / LN_2,
        LossType::Mse => 1.0,
    };
    Ok(crate::cpu::kernels::sample_mean::sample_mean(
        &terms, sample_len, scale,
    ))
}

/// The original asserts that the mse loss is used only with a fixed variance.
pub fn check_loss(opts: &ModelOptions, loss: LossType) -> Result<()> {
    if loss == LossType::Mse && opts.var_type.is_learned() {
        return Err(Error::Unsupported(format!(
            "loss type mse trains only the mean; variance type {} needs loss type kl",
            opts.var_type
        )));
    }
    Ok(())
}
