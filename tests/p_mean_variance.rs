//! GPU `p_mean_variance` against its f64 twin: every mean type, variance type and clip
//! setting, on linear and cosine schedules (cosine's sqrt(1/abar) reaches ~2e4 at T-1).

mod common;
use common::*;
use ddpm_wgpu::check;
use ddpm_wgpu::ops::{Op, OpSettings};
use ddpm_wgpu::{LossType, MeanType, ModelOptions, VarType};
use std::collections::BTreeMap;

#[test]
fn matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    sweep(&ctx, Op::PMeanVariance, &linear(1000), &all_model_options());
    sweep(&ctx, Op::PMeanVariance, &cosine(1000), &all_model_options());
}

/// Learned log-variances at the ends of [-30, 5], learned-range v at -1 and 1, x at +-6.
#[test]
fn extreme_variances() {
    let Some(ctx) = gpu() else { return };
    for var_type in [VarType::Learned, VarType::LearnedRange] {
        let var = match var_type {
            VarType::Learned => vec![-30.0, 5.0, -30.0, 5.0],
            _ => vec![-1.0, 1.0, -1.0, 1.0],
        };
        let inputs = BTreeMap::from([
            ("x".into(), f32_array(&[2, 2], vec![6.0, -6.0, 1.0, -1.0])),
            (
                "model_output".into(),
                f32_array(&[2, 2], vec![-6.0, 6.0, 0.5, 0.0]),
            ),
            ("model_var".into(), f32_array(&[2, 2], var)),
            ("t".into(), t_array(&[0, 999])),
        ]);
        let model = ModelOptions {
            mean_type: MeanType::Eps,
            var_type,
            clip_denoised: false,
            clip_range: 1.0,
        };
        let s = OpSettings {
            step: Default::default(),
            tables: linear(1000),
            model,
            loss: LossType::Mse,
        };
        let (g, c) = run_both(&ctx, Op::PMeanVariance, &s, &inputs);
        let case = check::Case {
            op: Op::PMeanVariance,
            settings: s,
            label: String::new(),
            inputs,
        };
        for (gpu_out, cpu_out) in g.iter().zip(&c) {
            let terms = check::term_scales(&case, cpu_out.name);
            assert_outputs(
                Op::PMeanVariance,
                std::slice::from_ref(gpu_out),
                std::slice::from_ref(cpu_out),
                terms.as_deref(),
            );
        }
    }
}

/// The original's quirk, kept on purpose: fixed variance types report variance pv_0 = 0 /
/// beta_0 at t = 0 but log-variance log(pv_1).
#[test]
fn fixed_variance_at_t0_is_the_originals() {
    let tables = linear(1000);
    for (var_type, variance) in [
        (VarType::FixedSmall, 0.0),
        (VarType::FixedLarge, tables.betas[0]),
    ] {
        let m = ModelOptions {
            var_type,
            ..ModelOptions::default()
        };
        let r = ddpm_wgpu::cpu::kernels::common::p_mean_variance(&tables, &m, 0, 0.3, 0.1, 0.0);
        assert_eq!(r.variance, variance);
        assert_eq!(r.log_variance, tables.posterior_variance[1].ln());
    }
}
