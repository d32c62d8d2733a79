//! CPU twin of shaders/dpm_solver_step.wgsl (and dpm_solver_step_vec4.wgsl): one DPM-Solver++
//! step over a batch in f64, the reference the GPU step is tested against. The row's
//! coefficients come from [`crate::sampler::DpmSolver`].

use super::CpuStep;
use crate::cpu::kernels::common;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions};

/// One row of a DPM-Solver chain in f64 (`DpmCoefs` on the GPU is this rounded once): the abar
/// the model's output is read at, and x <- cx x + c0 x_0 + c1 x_0_prev + cz z.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmRow {
    /// abar_t of the current x.
    pub abar: f64,
    /// Coefficient of x.
    pub cx: f64,
    /// Coefficient of this step's x_0.
    pub c0: f64,
    /// Coefficient of the previous step's x_0 (0 for a first-order step).
    pub c1: f64,
    /// Coefficient of the step's normal (0 for the ODE solver).
    pub cz: f64,
    /// The training timestep the loop visits next (t itself at the last step).
    pub next_t: usize,
}

/// One element: (the new x, its x_0), as `dpm_elem` in shaders/shared/model.wgsl computes it,
/// x_0 written as diffusers' `convert_model_output` does.
pub fn dpm_elem(
    row: &DpmRow,
    model: &ModelOptions,
    (x, out, prev): (f64, f64, f64),
    scale: Option<f64>,
    z: f64,
) -> Result<(f64, f64)> {
    let (a, b) = (row.abar.sqrt(), (1.0 - row.abar).sqrt());
    let x0 = match model.mean_type {
        MeanType::Eps => (x - b * out) / a,
        MeanType::Xstart => out,
        MeanType::V => a * x - b * out,
        MeanType::Xprev => {
            return Err(Error::Unsupported(
                "DPM-Solver reads eps, xstart or v model outputs, not xprev".into(),
            ))
        }
    };
    let m0 = common::process_xstart(model, x0, scale);
    let mut next = row.cx * x + row.c0 * m0;
    if row.c1 != 0.0 {
        next += row.c1 * prev;
    }
    if row.cz != 0.0 {
        next += row.cz * z;
    }
    Ok((next, m0))
}

/// One step over a batch at `row`: x updated in place, x_0 returned. A second-order row reads
/// the previous step's x_0 from `step.prev_xstart`.
pub fn dpm_solver_step(row: &DpmRow, model: &ModelOptions, step: CpuStep<'_>) -> Result<Vec<f64>> {
    let n = step.x.len();
    crate::cpu::kernels::ddpm_step::check(n, step.sample_len, &step)?;
    let prev = match (row.c1 != 0.0, step.prev_xstart) {
        (false, _) => None,
        (true, Some(p)) if p.len() == n => Some(p),
        (true, _) => {
            return Err(Error::MissingInput(
                "the previous step's pred_xstart (a second-order DPM-Solver step)".into(),
            ))
        }
    };
    let mut pred = Vec::with_capacity(n);
    for (i, xi) in step.x.iter_mut().enumerate() {
        let scale = step.scales.map(|s| s[i / step.sample_len]);
        let z = step.noise.map_or(0.0, |z| z[i]);
        let p = prev.map_or(0.0, |p| p[i]);
        let (next, x0) = dpm_elem(row, model, (*xi, step.output[i], p), scale, z)?;
        *xi = next;
        pred.push(x0);
    }
    Ok(pred)
}
