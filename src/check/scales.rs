//! The check's error budgets, each with its reason, and the per-element term scales some of
//! them multiply.

use super::Case;
use crate::npy::NpyData;
use crate::ops::Op;
use crate::options::MeanType;
use crate::tolerance::{Scale, Tolerance};

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
        // The log-variance of learned-range is frac log beta + (1 - frac) log beta tilde: two
        // products and a sum, a few ulps of the terms (which can cancel to near 0); the fixed
        // types' are table values (their terms are the value itself).
        (Op::PMeanVariance, "model_log_variance") => t(1e-30, 1e-6, Scale::Terms),
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
        // DDIM: x_0 and eps each from two products of rounded coefficients (one rounding per
        // coefficient, per product, per sum: ~3 half-ulps of their terms), then three products
        // and two sums: a few ulps of the terms' sum (`ddim_scales`). Thresholding divides by
        // s >= 1 (one more rounding).
        (Op::DdimStep | Op::DdimReverseStep, _) => t(1e-30, 2e-6, Scale::Terms),
        _ => t(1e-30, 1e-6, Scale::Sample),
    }
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
    if output == "model_log_variance" {
        return log_variance_scales(case);
    }
    if !matches!(
        output,
        "pred_xstart" | "model_mean" | "sample" | "prev_sample" | "next_sample"
    ) {
        return None;
    }
    if matches!(case.op, Op::DdimStep | Op::DdimReverseStep) {
        return ddim_scales(case, output);
    }
    let m = &case.settings.model;
    let x = f32_input(case, "x").or_else(|| f32_input(case, "x_t"))?;
    let out = f32_input(case, "model_output")?;
    let var = f32_input(case, crate::ops::MODEL_VAR);
    let noise = f32_input(case, "noise");
    let train_t = timesteps(case)?;
    // On a respaced chain the kernels index the chain's tables by chain index.
    let chain = case.settings.chain().ok()?;
    let (tb, t) = match case.settings.step.respace {
        Some(_) => (&chain.tables, chain.indices(&train_t).ok()?),
        None => (&case.settings.tables, train_t),
    };
    let t: Vec<usize> = t.iter().map(|&s| s as usize).collect();
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
                            crate::cpu::kernels::common::p_mean_variance(tb, m, s, 0.0, 0.0, v)
                                .log_variance;
                        let z = noise.map_or(0.0, |n| (n[i] as f64).abs());
                        mean + (0.5 * lv).exp() * z
                    }
                }
            })
            .collect(),
    )
}

fn timesteps(case: &Case) -> Option<Vec<u32>> {
    match case.inputs.get("t").map(|a| &a.data) {
        Some(NpyData::I64(v)) => Some(v.iter().map(|&s| s as u32).collect()),
        Some(NpyData::I32(v)) => Some(v.iter().map(|&s| s as u32).collect()),
        _ => None,
    }
}

/// The DDIM steps' term scales from their f64 rows: x_0 and eps as sums of the magnitudes of
/// their terms, then sqrt(abar_target) |x_0| + direction |eps| + sigma |z|.
fn ddim_scales(case: &Case, output: &str) -> Option<Vec<f64>> {
    let s = &case.settings;
    let chain = s.chain().ok()?;
    let rows = match case.op {
        Op::DdimStep => crate::sampler::forward_rows(&chain, &s.step.ddim),
        _ => crate::sampler::reverse_rows_by_current(&chain),
    };
    let x = f32_input(case, "x")?;
    let out = f32_input(case, "model_output")?;
    let noise = f32_input(case, "noise");
    let t = timesteps(case)?;
    let d = x.len() / t.len();
    (0..x.len())
        .map(|i| {
            let r = rows.get(t[i / d] as usize).copied()?;
            let (xa, oa) = ((x[i] as f64).abs(), (out[i] as f64).abs());
            let (a, b) = (r.abar.sqrt(), (1.0 - r.abar).sqrt());
            let (x0, eps) = match s.model.mean_type {
                MeanType::Xstart => (oa, (xa + a * oa) / b),
                MeanType::V => (a * xa + b * oa, a * oa + b * xa),
                _ => ((xa + b * oa) / a, oa),
            };
            // Re-derived from the (clipped) x_0: bounded by the same terms.
            let eps = if s.step.ddim.use_clipped_model_output {
                eps.max((xa + a * x0) / b)
            } else {
                eps
            };
            let z = noise.map_or(0.0, |n| (n[i] as f64).abs());
            Some(match output {
                "pred_xstart" => x0,
                _ => r.abar_target.sqrt() * x0 + r.direction() * eps + r.sigma * z,
            })
        })
        .collect::<Option<Vec<f64>>>()
}

/// |frac log beta| + |(1 - frac) log beta tilde| per element for learned-range (the terms of its
/// log-variance); `None` for the other variance types, whose log-variance is a table value.
fn log_variance_scales(case: &Case) -> Option<Vec<f64>> {
    if case.settings.model.var_type != crate::options::VarType::LearnedRange {
        return None;
    }
    let var = f32_input(case, crate::ops::MODEL_VAR)?;
    let train_t = timesteps(case)?;
    let chain = case.settings.chain().ok()?;
    let (tb, t) = match case.settings.step.respace {
        Some(_) => (&chain.tables, chain.indices(&train_t).ok()?),
        None => (&case.settings.tables, train_t),
    };
    let d = var.len() / t.len();
    Some(
        var.iter()
            .enumerate()
            .map(|(i, &v)| {
                let s = t[i / d] as usize;
                let frac = (f64::from(v) + 1.0) / 2.0;
                (frac * tb.log_betas[s]).abs()
                    + ((1.0 - frac) * tb.posterior_log_variance_clipped[s]).abs()
            })
            .collect(),
    )
}
