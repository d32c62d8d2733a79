//! Host side of shaders/dpm_solver_step.wgsl and dpm_solver_step_vec4.wgsl: the rows they read.
//! The kernels run in the sampling loop (`gpu::sample_loop` with a
//! [`DpmSolver`](crate::sampler::DpmSolver) sampler). CPU twin:
//! `crate::cpu::kernels::dpm_solver_step`.

use crate::cpu::kernels::dpm_solver_step::DpmRow;

/// One DPM-Solver row (`DpmCoefs` in shaders/common.wgsl), each value computed in f64 from a
/// [`DpmRow`] and rounded once: 48 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DpmCoefs {
    /// sqrt(1 / abar_t).
    pub sqrt_recip_abar: f32,
    /// sqrt(1 / abar_t - 1).
    pub sqrt_recipm1_abar: f32,
    /// sqrt(abar_t).
    pub sqrt_abar: f32,
    /// sqrt(1 - abar_t).
    pub sqrt_one_minus_abar: f32,
    /// Coefficient of x.
    pub cx: f32,
    /// Coefficient of this step's x_0.
    pub c0: f32,
    /// Coefficient of the previous step's x_0.
    pub c1: f32,
    /// Coefficient of the step's normal.
    pub cz: f32,
    /// The timestep the loop visits next.
    pub next_t: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

impl DpmCoefs {
    /// `row` rounded to f32 once per value.
    pub fn from_row(row: &DpmRow) -> Self {
        let a = row.abar;
        DpmCoefs {
            sqrt_recip_abar: (1.0 / a).sqrt() as f32,
            sqrt_recipm1_abar: (1.0 / a - 1.0).sqrt() as f32,
            sqrt_abar: a.sqrt() as f32,
            sqrt_one_minus_abar: (1.0 - a).sqrt() as f32,
            cx: row.cx as f32,
            c0: row.c0 as f32,
            c1: row.c1 as f32,
            cz: row.cz as f32,
            next_t: row.next_t as u32,
            _pad0: 0,
            _pad1: 0,
            _pad2: 0,
        }
    }
}
