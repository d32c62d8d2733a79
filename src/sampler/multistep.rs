//! What the linear multistep samplers ([`DpmSolver`](super::DpmSolver),
//! [`UniPc`](super::UniPc)) share: their rows run on the one multistep kernel
//! (shaders/multistep_step*.wgsl, twin `cpu::kernels::multistep_step`), so a sampler of this
//! family is its row formulas and nothing else.

use super::CpuStep;
use crate::cpu::kernels::multistep_step::{multistep_step, MultistepRow};
use crate::error::{Error, Result};
use crate::gpu::kernels::multistep_step::MultistepCoefs;
use crate::gpu::runtime::shaders::Kernel;
use crate::options::ModelOptions;

/// The rows as the kernel reads them (binding 2).
pub(crate) fn gpu_rows(rows: &[MultistepRow]) -> Vec<u8> {
    let coefs: Vec<MultistepCoefs> = rows.iter().map(MultistepCoefs::from_row).collect();
    bytemuck::cast_slice(&coefs).to_vec()
}

/// The kernels, (vec4, scalar).
pub(crate) const KERNELS: (Kernel, Kernel) = (Kernel::MultistepStepVec4, Kernel::MultistepStep);

/// The twin's step at training timestep t.
pub(crate) fn cpu_step(
    rows: &[MultistepRow],
    model: &ModelOptions,
    t: usize,
    step: CpuStep<'_>,
) -> Result<Vec<f64>> {
    let row = rows.get(t).ok_or(Error::TimestepOutOfRange {
        index: 0,
        value: t as i64,
        num_timesteps: rows.len(),
    })?;
    let noise = step.noise.filter(|_| row.update[5] != 0.0);
    multistep_step(row, model, CpuStep { noise, ..step })
}
