//! CPU twin of shaders/nn/guidance.wgsl, the reference for tests: classifier-free guidance's
//! combination of a model's conditional and unconditional outputs, in f64, as diffusers'
//! pipelines form it (`noise_pred_uncond + guidance_scale * (noise_pred_text -
//! noise_pred_uncond)`, then `rescale_noise_cfg` where a rescale is given).

use crate::error::{Error, Result};

/// The guided prediction [B, mean_len] and the conditional pass's learned variance
/// [B, var_len] from `out` ([2B, mean_len + var_len]: the conditional samples, then the
/// unconditional ones), with scale `w` and, where `rescale` = Some(phi), diffusers'
/// rescale_noise_cfg: g <- phi g std(c) / std(g) + (1 - phi) g, unbiased stds over a sample's
/// guided values.
pub fn forward(
    out: &[f64],
    batch: usize,
    (mean_len, var_len): (usize, usize),
    w: f64,
    rescale: Option<f64>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let per = mean_len + var_len;
    if batch == 0 || mean_len == 0 || out.len() != 2 * batch * per {
        return Err(Error::ShapeMismatch(format!(
            "guidance takes 2 x {batch} samples of {per} values, got {}",
            out.len()
        )));
    }
    let (mut mean, mut var) = (Vec::with_capacity(batch * mean_len), Vec::new());
    for s in 0..batch {
        let c = &out[s * per..s * per + mean_len];
        let u = &out[(batch + s) * per..(batch + s) * per + mean_len];
        let g: Vec<f64> = c.iter().zip(u).map(|(c, u)| u + w * (c - u)).collect();
        let g = match rescale {
            None => g,
            Some(phi) => {
                let factor = std_dev(c) / std_dev(&g);
                g.iter()
                    .map(|v| phi * (v * factor) + (1.0 - phi) * v)
                    .collect()
            }
        };
        mean.extend(g);
        var.extend_from_slice(&out[s * per + mean_len..(s + 1) * per]);
    }
    Ok((mean, var))
}

/// The unbiased standard deviation (torch's `std`, correction 1).
fn std_dev(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt()
}
