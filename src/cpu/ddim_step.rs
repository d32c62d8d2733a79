//! CPU twin of shaders/ddim_step.wgsl (and ddim_step_vec4.wgsl): one DDIM step, forward or
//! inverse by its row, over a batch in f64, the reference the GPU step is tested against.

use super::common;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions};
use crate::sampler::CpuStep;

/// One row of a DDIM chain in f64 (`DdimCoefs` on the GPU is this rounded once): the abar the
/// model's output is read at, the abar of the step moved to, and the noise scale sigma.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DdimRow {
    /// abar_t of the current x.
    pub abar: f64,
    /// abar of the step moved to (abar_prev forward, abar_next inverse).
    pub abar_target: f64,
    /// eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev); 0 inverse.
    pub sigma: f64,
    /// The training timestep the loop visits next (t itself at the last step).
    pub next_t: usize,
}

impl DdimRow {
    /// sqrt(1 - abar_target - sigma^2), in f64 on the host: formed in f32 on the device it
    /// cancels badly (DESIGN.md: errors up to ~5e-3 at eta = 1 over long steps). Clamped at 0
    /// against rounding.
    pub fn direction(&self) -> f64 {
        let one_minus = 1.0 - self.abar_target;
        if one_minus <= 0.0 {
            return 0.0;
        }
        (one_minus - self.sigma * self.sigma).max(0.0).sqrt()
    }
}

/// The forward row at abar_t with target abar_prev and `eta`, in f64.
pub fn forward_row(abar: f64, abar_prev: f64, eta: f64, next_t: usize) -> DdimRow {
    // sigma^2 = eta^2 (1 - abar_prev) / (1 - abar_t) (1 - abar_t / abar_prev): both factors are
    // >= 0 for abar_t <= abar_prev.
    let sigma = if eta == 0.0 || abar_prev >= 1.0 {
        0.0
    } else {
        eta * ((1.0 - abar_prev) / (1.0 - abar)).sqrt() * (1.0 - abar / abar_prev).max(0.0).sqrt()
    };
    DdimRow {
        abar,
        abar_target: abar_prev,
        sigma,
        next_t,
    }
}

/// One element: (the new x, pred_xstart), as `ddim_elem` in shaders/shared/model.wgsl computes
/// it, written as diffusers' `DDIMScheduler.step` does.
pub fn ddim_elem(
    row: &DdimRow,
    model: &ModelOptions,
    clipped_eps: bool,
    x: f64,
    out: f64,
    scale: Option<f64>,
    z: f64,
) -> Result<(f64, f64)> {
    let (a, b) = (row.abar.sqrt(), (1.0 - row.abar).sqrt());
    let (x0, mut eps) = match model.mean_type {
        MeanType::Eps => ((x - b * out) / a, out),
        MeanType::Xstart => (out, (x - a * out) / b),
        MeanType::V => (a * x - b * out, a * out + b * x),
        MeanType::Xprev => {
            return Err(Error::Unsupported(
                "DDIM reads eps, xstart or v model outputs, not xprev".into(),
            ))
        }
    };
    let x0 = common::process_xstart(model, x0, scale);
    if clipped_eps {
        eps = (x - a * x0) / b;
    }
    Ok((
        row.abar_target.sqrt() * x0 + row.direction() * eps + row.sigma * z,
        x0,
    ))
}

/// One step over a batch at `row`: x updated in place, pred_xstart returned.
pub fn ddim_step(
    row: &DdimRow,
    model: &ModelOptions,
    clipped_eps: bool,
    step: CpuStep<'_>,
) -> Result<Vec<f64>> {
    let n = step.x.len();
    super::ddpm_step::check(n, step.sample_len, &step)?;
    let mut pred = Vec::with_capacity(n);
    for (i, xi) in step.x.iter_mut().enumerate() {
        let scale = step.scales.map(|s| s[i / step.sample_len]);
        let z = step.noise.map_or(0.0, |z| z[i]);
        let (next, x0) = ddim_elem(row, model, clipped_eps, *xi, step.output[i], scale, z)?;
        *xi = next;
        pred.push(x0);
    }
    Ok(pred)
}
