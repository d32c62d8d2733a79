//! GPU `p_sample` against its f64 twin, and the no-noise rule at t = 0.

mod common;
use common::*;
use ddpm_wgpu::ops::{self, Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions};
use std::collections::BTreeMap;

#[test]
fn matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    sweep(&ctx, Op::PSample, &linear(1000), &all_model_options());
    sweep(&ctx, Op::PSample, &cosine(1000), &all_model_options());
}

/// At t = 0 the sample is the mean whatever the noise; at t > 0 the noise moves it.
#[test]
fn no_noise_at_t0() {
    let Some(ctx) = gpu() else { return };
    let s = OpSettings {
        tables: linear(1000),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    for backend in [ops::Backend::Gpu(&ctx), ops::Backend::Cpu] {
        let run = |noise: f32, t: u32| {
            let inputs = BTreeMap::from([
                ("x".into(), f32_array(&[1, 3], vec![0.2, -0.4, 0.9])),
                (
                    "model_output".into(),
                    f32_array(&[1, 3], vec![0.1, 0.0, -0.3]),
                ),
                ("noise".into(), f32_array(&[1, 3], vec![noise; 3])),
                ("t".into(), t_array(&[t])),
            ]);
            ops::run(Op::PSample, &s, &inputs, backend).unwrap()[0]
                .data
                .clone()
        };
        assert_eq!(run(6.0, 0), run(-6.0, 0));
        assert_ne!(run(6.0, 1), run(-6.0, 1));
    }
}
