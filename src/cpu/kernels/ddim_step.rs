//! CPU twin of shaders/ddim_step.wgsl (and ddim_step_vec4.wgsl): one DDIM step, forward or
//! inverse by its row, over a batch in f64, the reference the GPU step is tested against.

use super::CpuStep;
use crate::cpu::kernels::common;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions};

/// One row of a DDIM chain in f64 (`DdimCoefs` on the GPU is this rounded once): the abar the
/// model's output is read at, the abar of the step moved to, the noise scale sigma and the
/// direction coefficient sqrt(1 - abar_target - sigma^2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DdimRow {
    /// abar_t of the current x.
    pub abar: f64,
    /// abar of the step moved to (abar_prev forward, abar_next inverse).
    pub abar_target: f64,
    /// eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev); 0 inverse.
    pub sigma: f64,
    /// sqrt(1 - abar_target - sigma^2), formed without cancellation ([`forward_row`]).
    pub direction: f64,
    /// The training timestep the loop visits next (t itself at the last step).
    pub next_t: usize,
}

impl DdimRow {
    /// A row without noise (sigma = 0: the inverse, or eta = 0): direction sqrt(1 - target).
    pub fn deterministic(abar: f64, abar_target: f64, next_t: usize) -> Self {
        DdimRow {
            abar,
            abar_target,
            sigma: 0.0,
            direction: (1.0 - abar_target).max(0.0).sqrt(),
            next_t,
        }
    }

    /// sqrt(1 - abar_target - sigma^2), computed in f64 on the host: formed in f32 on the device
    /// it cancels badly (DESIGN.md: errors up to ~5e-3 at eta = 1 over long steps).
    pub fn direction(&self) -> f64 {
        self.direction
    }
}

/// The forward row at abar_t with target abar_prev and `eta`, in f64.
///
/// 1 - abar_prev - sigma^2 is written as (1 - abar_prev) ((1 - eta^2) + eta^2 abar_t (1 -
/// abar_prev) / (abar_prev (1 - abar_t))), a sum of two terms >= 0 (for eta <= 1): the
/// subtraction diffusers and improved-diffusion write cancels to rounding noise where the
/// result is near 0 (eta = 1 with abar_t -> 0, e.g. the first step of a zero-terminal-SNR
/// chain, where it is exactly 0), leaving ~sqrt(2^-52) = 1.5e-8 of it in f64, or a NaN.
pub fn forward_row(abar: f64, abar_prev: f64, eta: f64, next_t: usize) -> DdimRow {
    if eta == 0.0 || abar_prev >= 1.0 || abar_prev <= 0.0 {
        return DdimRow::deterministic(abar, abar_prev, next_t);
    }
    // sigma^2 = eta^2 (1 - abar_prev) / (1 - abar_t) (1 - abar_t / abar_prev): both factors are
    // >= 0 for abar_t <= abar_prev.
    let sigma =
        eta * ((1.0 - abar_prev) / (1.0 - abar)).sqrt() * (1.0 - abar / abar_prev).max(0.0).sqrt();
    let rest =
        (1.0 - eta * eta) + eta * eta * abar * (1.0 - abar_prev) / (abar_prev * (1.0 - abar));
    DdimRow {
        abar,
        abar_target: abar_prev,
        sigma,
        direction: ((1.0 - abar_prev) * rest).max(0.0).sqrt(),
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
    crate::cpu::kernels::ddpm_step::check(n, step.sample_len, &step)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The direction coefficient agrees with the textbook subtraction where that is well
    /// conditioned, and is exact where the subtraction cancels: at eta = 1 and abar_t = 0 (the
    /// first step of a zero-terminal-SNR chain) sigma^2 = 1 - abar_prev, so the direction is 0;
    /// the subtraction leaves rounding noise (up to ~1.5e-8, the sqrt of an ulp) there.
    #[test]
    fn direction_has_no_cancellation() {
        let subtracted = |r: &DdimRow| (1.0 - r.abar_target - r.sigma * r.sigma).max(0.0).sqrt();
        for &(abar, prev) in &[(0.5, 0.9), (1e-4, 0.3), (0.9997, 0.9999), (0.2, 0.2000001)] {
            for eta in [0.0, 0.3, 1.0] {
                let r = forward_row(abar, prev, eta, 0);
                let want = subtracted(&r);
                // The subtraction's own rounding, carried through the sqrt.
                let slack = (1e-15 * (1.0 - prev) + want * want).sqrt() - want;
                assert!(
                    (r.direction() - want).abs() <= slack + 1e-15,
                    "abar {abar} prev {prev} eta {eta}: {} vs {want}",
                    r.direction()
                );
            }
        }
        let mut noisy = 0;
        for i in 1..200 {
            let prev = i as f64 / 200.0;
            let r = forward_row(0.0, prev, 1.0, 0);
            assert_eq!(r.direction(), 0.0, "abar_prev {prev}");
            assert_eq!(r.sigma, (1.0 - prev).sqrt());
            noisy += usize::from(subtracted(&r) != 0.0);
        }
        assert!(
            noisy > 0,
            "the subtraction no longer cancels: the test shows nothing"
        );
    }
}
