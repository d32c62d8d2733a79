//! Host side of shaders/multistep_step.wgsl and multistep_step_vec4.wgsl: the rows they read.
//! The kernels run in the sampling loop (`gpu::sample_loop` with a multistep sampler:
//! [`DpmSolver`](crate::sampler::DpmSolver), [`UniPc`](crate::sampler::UniPc)). CPU twin:
//! `crate::cpu::kernels::multistep_step`.

use crate::cpu::kernels::multistep_step::{
    History, MultistepRow, CORRECT, EPS_HISTORY, OUTPUT_HISTORY,
};

/// One multistep row (`MultistepCoefs` in shaders/common.wgsl), each value computed in f64
/// from a [`MultistepRow`] and rounded once: 80 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MultistepCoefs {
    /// sqrt(1 / abar_t).
    pub sqrt_recip_abar: f32,
    /// sqrt(1 / abar_t - 1).
    pub sqrt_recipm1_abar: f32,
    /// sqrt(abar_t).
    pub sqrt_abar: f32,
    /// sqrt(1 - abar_t).
    pub sqrt_one_minus_abar: f32,
    /// The corrector's coefficient of x.
    pub ax: f32,
    /// Of `last`.
    pub al: f32,
    /// Of m0.
    pub a0: f32,
    /// Of m1.
    pub a1: f32,
    /// Of m2.
    pub a2: f32,
    /// Of m3.
    pub a3: f32,
    /// The update's coefficient of xc.
    pub bx: f32,
    /// Of m0.
    pub b0: f32,
    /// Of m1.
    pub b1: f32,
    /// Of m2.
    pub b2: f32,
    /// Of m3.
    pub b3: f32,
    /// Of the step's normal.
    pub bz: f32,
    /// Where m0..m3 live: byte j is the row of the state buffer (pred_xstart is row 0, ring
    /// slot s row 1 + s) that holds m_j, computed on the host so that the kernel indexes with
    /// one multiply: lavapipe has no vector integer division, and `(slot - j) mod ring` per
    /// element made the step 1.5x slower than a fixed layout.
    pub ring_rows: u32,
    /// Ring slots (0: none).
    pub ring: u32,
    /// The timestep the loop visits next.
    pub next_t: u32,
    /// EPS_HISTORY (1) | CORRECT (2) | OUTPUT_HISTORY (4).
    pub flags: u32,
}

/// `MultistepCoefs::ring_rows` of `row`: 0 without a ring. The ring has at most 4 slots (m0 to
/// m3), so each row fits a byte.
fn ring_rows(row: &MultistepRow) -> u32 {
    if row.ring == 0 {
        return 0;
    }
    (0..4).fold(0, |acc, j| acc | (((1 + row.slots[j]) as u32) << (8 * j)))
}

impl MultistepCoefs {
    /// `row` rounded to f32 once per value.
    pub fn from_row(row: &MultistepRow) -> Self {
        let a = row.abar;
        let [ax, al, a0, a1, a2, a3] = row.correct.unwrap_or([0.0; 6]).map(|c| c as f32);
        let [bx, b0, b1, b2, b3, bz] = row.update.map(|c| c as f32);
        MultistepCoefs {
            sqrt_recip_abar: (1.0 / a).sqrt() as f32,
            sqrt_recipm1_abar: (1.0 / a - 1.0).sqrt() as f32,
            sqrt_abar: a.sqrt() as f32,
            sqrt_one_minus_abar: (1.0 - a).sqrt() as f32,
            ax,
            al,
            a0,
            a1,
            a2,
            a3,
            bx,
            b0,
            b1,
            b2,
            b3,
            bz,
            ring_rows: ring_rows(row),
            ring: row.ring as u32,
            next_t: row.next_t as u32,
            flags: match row.history {
                History::Xstart => 0,
                History::Eps => EPS_HISTORY,
                History::Output => OUTPUT_HISTORY,
            } | if row.correct.is_some() { CORRECT } else { 0 },
        }
    }
}
