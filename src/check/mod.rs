//! `ddpm check`: every op and option combination on seeded random inputs (sizes that are not
//! multiples of the workgroup size, t in {0, 1, T-1, ...}, extreme but valid values), GPU
//! against the f64 CPU reference, one table row per output.

mod cases;
mod inputs;
mod scales;
mod step_cases;

pub use cases::cases;
pub use inputs::inputs;
pub use scales::{term_scales, tolerance};

use crate::error::Result;
use crate::gpu::Context;
use crate::npy::NpyArray;
use crate::ops::{self, Backend, Op, OpSettings};
use crate::tolerance::{Comparison, Tolerance};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A small seeded generator for test inputs (SplitMix64; Box-Muller normals).
#[derive(Clone, Debug)]
pub struct Gen(u64);

impl Gen {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Gen(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    /// Standard normal.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// `n` values from `f`, as f32.
    pub fn vec(&mut self, n: usize, mut f: impl FnMut(&mut Gen) -> f64) -> Vec<f32> {
        (0..n).map(|_| f(self) as f32).collect()
    }
    /// 8-bit data on [-1, 1] as the original scales images: 2k/255 - 1, with both ends present.
    pub fn pixels(&mut self, n: usize) -> Vec<f32> {
        let mut v = self.vec(n, |g| (g.next_u64() % 256) as f64 * 2.0 / 255.0 - 1.0);
        if n >= 2 {
            v[0] = -1.0;
            v[n - 1] = 1.0;
        }
        v
    }
}

/// One op with fixed settings and inputs.
#[derive(Clone, Debug)]
pub struct Case {
    /// The op.
    pub op: Op,
    /// Schedule and options.
    pub settings: OpSettings,
    /// A short description of the options, for the table.
    pub label: String,
    /// Inputs by name.
    pub inputs: BTreeMap<String, NpyArray>,
}

/// One compared output.
#[derive(Clone, Debug)]
pub struct Row {
    /// The op.
    pub op: Op,
    /// Options description.
    pub label: String,
    /// The output's name.
    pub output: &'static str,
    /// The budget.
    pub tolerance: Tolerance,
    /// The measured errors.
    pub comparison: Comparison,
}

/// All rows of a check run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// One row per compared output.
    pub rows: Vec<Row>,
}

impl Report {
    /// Whether every row passed.
    pub fn all_pass(&self) -> bool {
        self.rows.iter().all(|r| r.comparison.pass)
    }

    /// The table `ddpm check` prints.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<36} {:<42} {:<31} {:>9} {:>9}  {:<34} verdict",
            "kernel", "options", "output", "max abs", "max rel", "tolerance"
        );
        for r in &self.rows {
            let _ = writeln!(
                s,
                "{:<36} {:<42} {:<31} {:>9.2e} {:>9.2e}  {:<34} {}",
                r.op.name(),
                r.label,
                r.output,
                r.comparison.max_abs,
                r.comparison.max_rel,
                r.tolerance.to_string(),
                if r.comparison.pass { "ok" } else { "FAIL" }
            );
            if let (false, Some((i, g, w, d, b))) = (r.comparison.pass, r.comparison.worst) {
                let _ = writeln!(
                    s,
                    "    worst at flat index {i}: gpu {g:e}, reference {w:e}, distance {d:e} > bound {b:e}"
                );
            }
        }
        let failed = self.rows.iter().filter(|r| !r.comparison.pass).count();
        let _ = writeln!(s, "{} passed, {} failed", self.rows.len() - failed, failed);
        s
    }
}

/// Run one case on both backends and compare each output.
pub fn run_case(ctx: &Context, case: &Case) -> Result<Vec<Row>> {
    let gpu = ops::run(case.op, &case.settings, &case.inputs, Backend::Gpu(ctx))?;
    let cpu = ops::run(case.op, &case.settings, &case.inputs, Backend::Cpu)?;
    Ok(gpu
        .iter()
        .zip(&cpu)
        .map(|(g, c)| {
            let sample_len = c.shape.iter().skip(1).product();
            let tolerance = tolerance(case.op, c.name);
            let terms = term_scales(case, c.name);
            Row {
                op: case.op,
                label: case.label.clone(),
                output: c.name,
                comparison: tolerance.compare(&g.data, &c.data, sample_len, terms.as_deref()),
                tolerance,
            }
        })
        .collect())
}

/// Run every case of [`cases`].
pub fn run_all(ctx: &Context, seed: u64) -> Result<Report> {
    let mut report = Report::default();
    for case in cases(seed)? {
        report.rows.extend(run_case(ctx, &case)?);
    }
    Ok(report)
}
