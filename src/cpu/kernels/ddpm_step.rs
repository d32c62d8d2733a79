//! CPU twin of shaders/ddpm_step.wgsl (and its vec4 twins): one ancestral step over a batch in
//! f64, the reference the GPU step is tested against.

use super::CpuStep;
use crate::cpu::kernels::common;
use crate::error::{Error, Result};
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// One step at training timestep t of `tb` (a chain's tables by training timestep): per element,
/// x <- mean + exp(0.5 logvar) z with p_mean_variance's mean and log-variance (pred_xstart
/// divided by the sample's threshold when `step.scales` is given), z = 0 without noise. Returns
/// pred_xstart.
pub fn ddpm_step(
    tb: &Tables,
    model: &ModelOptions,
    t: usize,
    step: CpuStep<'_>,
) -> Result<Vec<f64>> {
    let n = step.x.len();
    check(n, step.sample_len, &step)?;
    let mut pred = Vec::with_capacity(n);
    for (i, xi) in step.x.iter_mut().enumerate() {
        let var = step.var.map_or(0.0, |v| v[i]);
        let scale = step.scales.map(|s| s[i / step.sample_len]);
        let m = common::p_mean_variance_scaled(tb, model, t, *xi, step.output[i], var, scale);
        let z = step.noise.map_or(0.0, |z| z[i]);
        *xi = m.mean + (0.5 * m.log_variance).exp() * z;
        pred.push(m.pred_xstart);
    }
    Ok(pred)
}

/// Every per-element input of `step` holds n elements, and scales one per sample.
pub(crate) fn check(n: usize, sample_len: usize, step: &CpuStep<'_>) -> Result<()> {
    let lens = [
        Some(("model_output", step.output.len())),
        step.var.map(|v| ("model_var", v.len())),
        step.noise.map(|v| ("noise", v.len())),
    ];
    let tensors: Vec<(&str, usize)> = lens.into_iter().flatten().collect();
    common::check_lens(n, &tensors)?;
    if sample_len == 0 || !n.is_multiple_of(sample_len) {
        return Err(Error::ShapeMismatch(format!(
            "{n} elements are not whole samples of {sample_len}"
        )));
    }
    if let Some(s) = step.scales {
        common::check_lens(n / sample_len, &[("scales", s.len())])?;
    }
    Ok(())
}
