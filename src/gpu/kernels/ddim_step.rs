//! Host side of shaders/ddim_step.wgsl and ddim_step_vec4.wgsl: the rows they read. The kernels
//! run in the sampling loop (`gpu::sample_loop` with a [`Ddim`](crate::sampler::Ddim) or
//! [`DdimReverse`](crate::sampler::DdimReverse) sampler) and as the `ddim-step` /
//! `ddim-reverse-step` ops (`gpu::step_op`). CPU twin: `crate::cpu::kernels::ddim_step`.

use crate::cpu::kernels::ddim_step::DdimRow;

/// One DDIM row (`DdimCoefs` in shaders/common.wgsl), each value computed in f64 from a
/// [`DdimRow`] and rounded once: 48 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct DdimCoefs {
    /// sqrt(1 / abar_t).
    pub sqrt_recip_abar: f32,
    /// sqrt(1 / abar_t - 1).
    pub sqrt_recipm1_abar: f32,
    /// sqrt(abar_t).
    pub sqrt_abar: f32,
    /// sqrt(1 - abar_t).
    pub sqrt_one_minus_abar: f32,
    /// 1 / sqrt(1 - abar_t) (infinite at abar_t = 1, where eps from x_0 is undefined).
    pub recip_sqrt_one_minus_abar: f32,
    /// sqrt(abar) of the step moved to.
    pub sqrt_abar_target: f32,
    /// sqrt(1 - abar_target - sigma^2) ([`DdimRow::direction`]).
    pub direction: f32,
    /// The noise scale.
    pub sigma: f32,
    /// The timestep the loop visits next.
    pub next_t: u32,
    /// 1 - abar_t, from f64: what the fused Gaussian denoiser reads (as StepCoefs has it).
    pub one_minus_abar: f32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

impl DdimCoefs {
    /// `row` rounded to f32 once per value.
    pub fn from_row(row: &DdimRow) -> Self {
        let a = row.abar;
        DdimCoefs {
            sqrt_recip_abar: (1.0 / a).sqrt() as f32,
            sqrt_recipm1_abar: (1.0 / a - 1.0).sqrt() as f32,
            sqrt_abar: a.sqrt() as f32,
            sqrt_one_minus_abar: (1.0 - a).sqrt() as f32,
            recip_sqrt_one_minus_abar: (1.0 / (1.0 - a).sqrt()) as f32,
            sqrt_abar_target: row.abar_target.sqrt() as f32,
            direction: row.direction() as f32,
            sigma: row.sigma as f32,
            next_t: row.next_t as u32,
            one_minus_abar: (1.0 - a) as f32,
            _pad1: 0,
            _pad2: 0,
        }
    }
}
