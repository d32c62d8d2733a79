//! CPU twin of shaders/multistep_step.wgsl (and multistep_step_vec4.wgsl): one step of a linear
//! multistep sampler over a batch in f64, the reference the GPU step is tested against. The
//! rows come from the samplers ([`crate::sampler::DpmSolver`], [`crate::sampler::UniPc`]).

use super::CpuStep;
use crate::cpu::kernels::common;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions};

/// `flags` bit: the history holds eps, not x_0.
pub const EPS_HISTORY: u32 = 1;
/// `flags` bit: the step corrects x first (UniPC's corrector).
pub const CORRECT: u32 = 2;
/// `flags` bit: the history holds the model's output itself (PNDM).
pub const OUTPUT_HISTORY: u32 = 4;

/// What a multistep sampler keeps of each step's model output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// x_0 after clipping or thresholding (DPM-Solver++, UniPC's predict_x0, Euler, Heun).
    Xstart,
    /// eps (diffusers' `dpmsolver`, UniPC with `predict_x0` false, LMS).
    Eps,
    /// The model's output as it is (PNDM, which combines eps or v outputs of several steps).
    Output,
}

/// One row of a multistep chain in f64 (`MultistepCoefs` on the GPU is this rounded once).
///
/// The model's output read at `abar` gives x_0 and the history value m0 (as `history` says);
/// m1..m3 are the values of the steps before, kept in a ring of `ring` slots (m0 goes to slot
/// `slots[0]`, m_j comes from slot `slots[j]`: [`MultistepRow::cyclic`] for the usual ring). Then
/// xc = a0 x + a1 last + a2 m0 + a3 m1 + a4 m2 + a5 m3 where `correct` is given (and `last` :=
/// xc), else xc = x; and x <- u0 xc + u1 m0 + u2 m1 + u3 m2 + u4 m3 + u5 z, with `update` = u.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultistepRow {
    /// abar_t of the current x.
    pub abar: f64,
    /// What the history holds.
    pub history: History,
    /// The corrector's coefficients of x, last, m0, m1, m2, m3, if the step corrects.
    pub correct: Option<[f64; 6]>,
    /// The update's coefficients of xc, m0, m1, m2, m3 and the step's normal.
    pub update: [f64; 6],
    /// The ring slots of m0 (written), m1, m2 and m3 (read where their coefficients are not 0).
    pub slots: [usize; 4],
    /// Slots in the ring (0: no ring; m1..m3 must then have zero coefficients).
    pub ring: usize,
    /// The training timestep the loop visits next (t itself at the last step).
    pub next_t: usize,
}

impl MultistepRow {
    /// A row that leaves x as it is (the steps a chain does not visit).
    pub const IDLE: MultistepRow = MultistepRow {
        abar: 0.5,
        history: History::Xstart,
        correct: None,
        update: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        slots: [0; 4],
        ring: 0,
        next_t: 0,
    };

    /// The slots of a ring used in turn: m0 at `slot`, m_j at (slot - j) mod ring (0s without
    /// a ring).
    pub fn cyclic(slot: usize, ring: usize) -> [usize; 4] {
        if ring == 0 {
            return [0; 4];
        }
        [0, 1, 2, 3].map(|j| (slot + 4 * ring - j) % ring)
    }

    /// Whether history value m_j (j >= 1) is read.
    pub fn reads(&self, j: usize) -> bool {
        self.update[1 + j] != 0.0 || self.correct.is_some_and(|a| a[2 + j] != 0.0)
    }

    /// Values of the state the loop keeps after pred_xstart, per element: the ring and, for a
    /// corrector, `last`.
    pub fn state_slots(rows: &[MultistepRow]) -> usize {
        let ring = rows.iter().map(|r| r.ring).max().unwrap_or(0);
        let last = rows.iter().any(|r| r.correct.is_some());
        if ring == 0 {
            0
        } else {
            ring + usize::from(last)
        }
    }
}

/// One element's model read: (x_0 processed as `process_xstart` says, the history value m0),
/// as `multistep_model` in shaders/shared/model.wgsl computes it.
pub fn multistep_model(
    row: &MultistepRow,
    model: &ModelOptions,
    x: f64,
    out: f64,
    scale: Option<f64>,
) -> Result<(f64, f64)> {
    let (a, s) = (row.abar.sqrt(), (1.0 - row.abar).sqrt());
    let (x0, eps) = match model.mean_type {
        MeanType::Eps => ((x - s * out) / a, out),
        MeanType::Xstart => (out, (x - a * out) / s),
        MeanType::V => (a * x - s * out, a * out + s * x),
        MeanType::Xprev => {
            return Err(Error::Unsupported(
                "multistep samplers read eps, xstart or v model outputs, not xprev".into(),
            ))
        }
    };
    let m0 = common::process_xstart(model, x0, scale);
    match row.history {
        History::Xstart => return Ok((m0, m0)),
        History::Output => return Ok((m0, out)),
        History::Eps => {}
    }
    let processed = scale.is_some() || model.clip_denoised;
    Ok((m0, if processed { (x - a * m0) / s } else { eps }))
}

/// One element's update: (the new x, xc) from x, `last`, the history values m (`m[0]` this
/// step's) and the normal z, as `multistep_update` in shaders/shared/model.wgsl computes it.
pub fn multistep_update(row: &MultistepRow, x: f64, last: f64, m: [f64; 4], z: f64) -> (f64, f64) {
    // As the kernel: a term whose coefficient is 0 is not formed (0 x inf would be NaN), and
    // the same order of sums.
    let term = |c: f64, v: f64| if c != 0.0 { c * v } else { 0.0 };
    let xc = match row.correct {
        Some(a) => {
            term(a[0], x)
                + term(a[1], last)
                + a[2] * m[0]
                + term(a[3], m[1])
                + term(a[4], m[2])
                + term(a[5], m[3])
        }
        None => x,
    };
    let u = row.update;
    let next = u[0] * xc
        + u[1] * m[0]
        + term(u[2], m[1])
        + term(u[3], m[2])
        + term(u[4], m[3])
        + term(u[5], z);
    (next, xc)
}

/// One step over a batch at `row`: x updated in place, the state (ring and last, laid out as on
/// the GPU after pred_xstart: slot s at [s n, (s + 1) n), last after the ring) updated, x_0
/// returned.
pub fn multistep_step(
    row: &MultistepRow,
    model: &ModelOptions,
    step: CpuStep<'_>,
) -> Result<Vec<f64>> {
    let n = step.x.len();
    crate::cpu::kernels::ddpm_step::check(n, step.sample_len, &step)?;
    let needs = if row.ring == 0 {
        0
    } else {
        row.ring + usize::from(row.correct.is_some())
    };
    let state = match step.state {
        Some(s) if s.len() >= needs * n => s,
        None if needs == 0 => &mut [][..],
        _ => {
            return Err(Error::MissingInput(format!(
                "the multistep state of {needs} x {n} values (the sampler's ring and last sample)"
            )))
        }
    };
    if row.ring != 0 && row.slots.iter().any(|&s| s >= row.ring) {
        return Err(Error::Unsupported(format!(
            "multistep row slots {:?} outside its ring of {}",
            row.slots, row.ring
        )));
    }
    if row.ring == 0 && (1..4).any(|j| row.reads(j)) {
        return Err(Error::Unsupported(
            "a multistep row reads history without a ring".into(),
        ));
    }
    let mut pred = Vec::with_capacity(n);
    for (i, xi) in step.x.iter_mut().enumerate() {
        let scale = step.scales.map(|s| s[i / step.sample_len]);
        let z = if row.update[5] != 0.0 {
            step.noise.map_or(0.0, |z| z[i])
        } else {
            0.0
        };
        let (x0, m0) = multistep_model(row, model, *xi, step.output[i], scale)?;
        let mut m = [m0, 0.0, 0.0, 0.0];
        let mut last = 0.0;
        if row.ring != 0 {
            let at = |j: usize| row.slots[j] * n + i;
            state[at(0)] = m0;
            for (j, mj) in m.iter_mut().enumerate().skip(1) {
                if row.reads(j) {
                    *mj = state[at(j)];
                }
            }
            if row.correct.is_some() {
                last = state[row.ring * n + i];
            }
        }
        let (next, xc) = multistep_update(row, *xi, last, m, z);
        if row.correct.is_some() && row.ring != 0 {
            state[row.ring * n + i] = xc;
        }
        *xi = next;
        pred.push(x0);
    }
    Ok(pred)
}
