//! `ddpm check`: every op and option combination on seeded random inputs (sizes that are not
//! multiples of the workgroup size, t in {0, 1, T-1, ...}, extreme but valid values), GPU
//! against the f64 CPU reference, one table row per output.

use crate::error::Result;
use crate::gpu::Context;
use crate::npy::{NpyArray, NpyData};
use crate::ops::{self, Backend, Op, OpSettings};
use crate::options::{LossType, MeanType, ModelOptions, VarType};
use crate::schedule::{ScheduleKind, Tables};
use crate::tolerance::{Comparison, Scale, Tolerance};
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

/// The error budget of each op output, GPU (f32, WGSL math) against the f64 reference.
pub fn tolerance(op: Op, output: &str) -> Tolerance {
    let t = |abs, rel, scale| Tolerance { abs, rel, scale };
    match (op, output) {
        // Table values rounded once from f64 to f32: half an ulp (2^-24 = 6e-8), so 1.2e-7.
        (
            Op::QMeanVariance | Op::QPosteriorMeanVariance,
            "variance" | "log_variance" | "posterior_variance" | "posterior_log_variance_clipped",
        ) => t(0.0, 1.2e-7, Scale::Element),
        // Two products of rounded coefficients and f32 inputs, added: a few ulps of the larger
        // term, which may exceed the result (cancellation), hence the per-sample scale.
        (Op::QMeanVariance | Op::QSample | Op::QPosteriorMeanVariance, _) => {
            t(1e-30, 1e-6, Scale::Sample)
        }
        // exp on llvmpipe is within 64 ulp (4e-6); the learned variances are exp(logvar).
        (Op::PMeanVariance, "model_variance") => t(1e-30, 1e-5, Scale::Element),
        (Op::PMeanVariance, "model_log_variance") => t(1e-30, 1e-6, Scale::Element),
        // pred_xstart (e.g. sqrt(1/abar) x - sqrt(1/abar - 1) eps, coefficients up to ~1e2 for
        // linear, ~2e4 for cosine) and the mean built from it: a few ulps of the terms' sum,
        // from one rounding per product plus the tables' own rounding.
        (Op::PMeanVariance | Op::PSample | Op::VbTermsBpd, "model_mean" | "pred_xstart") => {
            t(1e-30, 1e-6, Scale::Terms)
        }
        // The noise is scaled by exp(0.5 logvar): exp's 64 ulp on llvmpipe.
        (Op::PSample, _) => t(1e-30, 1e-5, Scale::Terms),
        // exp's 64 ulp, plus the short series for e^d - 1 - d; the f64 reference's own
        // -1 + lv2 - lv1 + e^(lv1-lv2) loses ~1e-15 absolute to cancellation, hence the floor.
        (Op::NormalKl, _) => t(1e-12, 2e-5, Scale::Element),
        // The cdf arguments carry exp(-log_scale)'s 64 ulp; d log P / d log k reaches ~3 |log P|
        // in the tails, so |log P| <= 27.6 (the 1e-12 floor) moves by up to ~3e-4.
        (Op::DiscretizedGaussianLogLikelihood, _) => t(1e-5, 3e-5, Scale::Element),
        // Means over elements of non-negative terms (KL, decoder NLL, squared error): each
        // term's relative error carries over; the floor covers the reference's f64 cancellation.
        (Op::VbTermsBpd | Op::TrainingLosses | Op::PriorBpd, _) => t(1e-12, 4e-5, Scale::Element),
        _ => t(1e-30, 1e-6, Scale::Sample),
    }
}

fn arr(shape: &[usize], data: Vec<f32>) -> NpyArray {
    NpyArray {
        shape: shape.to_vec(),
        data: NpyData::F32(data),
    }
}

fn steps_arr(t: &[u32]) -> NpyArray {
    NpyArray {
        shape: vec![t.len()],
        data: NpyData::I64(t.iter().map(|&v| v as i64).collect()),
    }
}

/// Timesteps covering 0, 1, T-1, the middle and random steps.
fn timesteps(g: &mut Gen, batch: usize, big_t: usize) -> Vec<u32> {
    let fixed = [0, 1.min(big_t - 1), big_t - 1, big_t / 2];
    (0..batch)
        .map(|b| match fixed.get(b) {
            Some(&v) => v as u32,
            None => (g.next_u64() % big_t as u64) as u32,
        })
        .collect()
}

/// Normals with a few elements at |6|, the extreme the issue names.
fn noise(g: &mut Gen, n: usize) -> Vec<f32> {
    let mut v = g.vec(n, Gen::normal);
    if n >= 2 {
        v[1] = 6.0;
        v[n - 2] = -6.0;
    }
    v
}

/// The model's output for a mean type: eps ~ N(0, 1); x_0 slightly beyond [-1, 1] so clipping
/// acts; x_{t-1} ~ N(0, 1).
fn model_output(g: &mut Gen, n: usize, mean: MeanType) -> Vec<f32> {
    match mean {
        MeanType::Xstart => g.vec(n, |g| g.range(-1.2, 1.2)),
        _ => g.vec(n, Gen::normal),
    }
}

/// model_var for a variance type: log-variances in [-30, 5] or v in [-1, 1].
fn model_var(g: &mut Gen, n: usize, var: VarType) -> Option<Vec<f32>> {
    match var {
        VarType::Learned => Some(g.vec(n, |g| g.range(-30.0, 5.0))),
        VarType::LearnedRange => Some(g.vec(n, |g| g.range(-1.0, 1.0))),
        _ => None,
    }
}

/// Inputs for `op` with x of `shape`, T from `tables`.
pub fn inputs(
    g: &mut Gen,
    op: Op,
    model: &ModelOptions,
    tables: &Tables,
    shape: &[usize],
) -> BTreeMap<String, NpyArray> {
    let n: usize = shape.iter().product();
    let mut m = BTreeMap::new();
    let mut put = |name: &str, data: Vec<f32>| {
        m.insert(name.to_string(), arr(shape, data));
    };
    for &name in op.tensor_inputs() {
        let data = match name {
            "x_start" => g.pixels(n),
            "noise" => noise(g, n),
            "model_output" => model_output(g, n, model.mean_type),
            // KL/likelihood inputs: means near each other, log-variances over [-30, 5].
            "mean1" | "mean2" => g.vec(n, |g| 2.0 * g.normal()),
            "logvar1" | "logvar2" => g.vec(n, |g| g.range(-30.0, 5.0)),
            "x" if op == Op::DiscretizedGaussianLogLikelihood => g.pixels(n),
            "means" => g.vec(n, |g| g.range(-1.1, 1.1)),
            "log_scales" => g.vec(n, |g| g.range(-15.0, 2.5)),
            _ => g.vec(n, |g| 1.5 * g.normal()), // x, x_t
        };
        put(name, data);
    }
    if op.takes_model() {
        if let Some(v) = model_var(g, n, model.var_type) {
            put(ops::MODEL_VAR, v);
        }
    }
    if op.takes_t() {
        m.insert(
            "t".into(),
            steps_arr(&timesteps(g, shape[0], tables.num_timesteps())),
        );
    }
    m
}

/// Every op and option combination the check covers.
pub fn cases(seed: u64) -> Result<Vec<Case>> {
    let mut g = Gen::new(seed);
    let linear = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
    let cosine = Tables::from_schedule(ScheduleKind::Cosine, 1e-4, 0.02, 1000)?;
    let schedules = [("linear", &linear), ("cosine", &cosine)];
    // 6 samples of 105 elements: 630 in all, not a multiple of the 256-wide workgroup.
    let shape = [6usize, 3, 5, 7];
    let mut out = Vec::new();
    let mut push = |g: &mut Gen,
                    op: Op,
                    tables: &Tables,
                    sched: &str,
                    model: ModelOptions,
                    loss: LossType,
                    label: String| {
        out.push(Case {
            op,
            inputs: inputs(g, op, &model, tables, &shape),
            settings: OpSettings {
                step: Default::default(),
                tables: tables.clone(),
                model,
                loss,
            },
            label: format!("{sched} {label}").trim().to_string(),
        });
    };
    for (sched, tb) in schedules {
        for op in Op::ALL.iter().copied() {
            let base = ModelOptions {
                clip_denoised: op.default_clip_denoised(),
                clip_range: 1.0,
                ..ModelOptions::default()
            };
            match op {
                Op::PMeanVariance | Op::PSample | Op::VbTermsBpd => {
                    for &mean_type in MeanType::ALL {
                        for &var_type in VarType::ALL {
                            for clip_denoised in [true, false] {
                                let model = ModelOptions {
                                    mean_type,
                                    var_type,
                                    clip_denoised,
                                    clip_range: 1.0,
                                };
                                let label = format!("{mean_type} {var_type} clip={clip_denoised}");
                                push(&mut g, op, tb, sched, model, LossType::Mse, label);
                            }
                        }
                    }
                }
                Op::TrainingLosses => {
                    for &loss in LossType::ALL {
                        for &mean_type in MeanType::ALL {
                            for &var_type in VarType::ALL {
                                if loss == LossType::Mse && var_type.is_learned() {
                                    continue; // the original asserts this away
                                }
                                let model = ModelOptions {
                                    mean_type,
                                    var_type,
                                    ..base
                                };
                                let label = format!("{loss} {mean_type} {var_type}");
                                push(&mut g, op, tb, sched, model, loss, label);
                            }
                        }
                    }
                }
                Op::NormalKl | Op::DiscretizedGaussianLogLikelihood if sched != "linear" => {}
                _ => push(&mut g, op, tb, sched, base, LossType::Mse, String::new()),
            }
        }
    }
    Ok(out)
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

fn f32_input<'a>(case: &'a Case, name: &str) -> Option<&'a [f32]> {
    match case.inputs.get(name).map(|a| &a.data) {
        Some(NpyData::F32(v)) => Some(v),
        _ => None,
    }
}

/// Per element, the sum of the magnitudes of the terms an output is formed from, for outputs
/// whose tolerance has [`Scale::Terms`]; `None` for the others.
pub fn term_scales(case: &Case, output: &str) -> Option<Vec<f64>> {
    if !matches!(output, "pred_xstart" | "model_mean" | "sample") {
        return None;
    }
    let tb = &case.settings.tables;
    let m = &case.settings.model;
    let x = f32_input(case, "x").or_else(|| f32_input(case, "x_t"))?;
    let out = f32_input(case, "model_output")?;
    let var = f32_input(case, crate::ops::MODEL_VAR);
    let noise = f32_input(case, "noise");
    let t: Vec<usize> = match case.inputs.get("t").map(|a| &a.data) {
        Some(NpyData::I64(v)) => v.iter().map(|&s| s as usize).collect(),
        Some(NpyData::I32(v)) => v.iter().map(|&s| s as usize).collect(),
        _ => return None,
    };
    let sample_len = x.len() / t.len();
    Some(
        (0..x.len())
            .map(|i| {
                let s = t[i / sample_len];
                let (xa, oa) = ((x[i] as f64).abs(), (out[i] as f64).abs());
                let (c1, c2) = (tb.posterior_mean_coef1[s], tb.posterior_mean_coef2[s]);
                let x0 = match m.mean_type {
                    MeanType::Eps => {
                        tb.sqrt_recip_alphas_cumprod[s] * xa
                            + tb.sqrt_recipm1_alphas_cumprod[s] * oa
                    }
                    MeanType::Xstart => oa,
                    MeanType::Xprev => oa / c1 + c2 / c1 * xa,
                    MeanType::V => {
                        tb.sqrt_alphas_cumprod[s] * xa + tb.sqrt_one_minus_alphas_cumprod[s] * oa
                    }
                };
                let mean = match m.mean_type {
                    MeanType::Xprev => oa,
                    _ => c1 * x0 + c2 * xa,
                };
                match output {
                    "pred_xstart" => x0,
                    "model_mean" => mean,
                    _ => {
                        let v = var.map_or(0.0, |v| v[i] as f64);
                        let lv =
                            crate::cpu::common::p_mean_variance(tb, m, s, 0.0, 0.0, v).log_variance;
                        let z = noise.map_or(0.0, |n| (n[i] as f64).abs());
                        mean + (0.5 * lv).exp() * z
                    }
                }
            })
            .collect(),
    )
}

/// Run every case of [`cases`].
pub fn run_all(ctx: &Context, seed: u64) -> Result<Report> {
    let mut report = Report::default();
    for case in cases(seed)? {
        report.rows.extend(run_case(ctx, &case)?);
    }
    Ok(report)
}
