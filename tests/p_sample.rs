//! GPU `p_sample` against its f64 twin, scalar and vec4 kernels (the latter bit for bit against
//! the former), and the no-noise rule at t = 0.

mod common;
use common::*;
use ddpm_wgpu::check::{self, Gen};
use ddpm_wgpu::ops::{self, Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions};
use std::collections::BTreeMap;

#[test]
fn matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    sweep(&ctx, Op::PSample, &linear(1000), &all_model_options());
    sweep(&ctx, Op::PSample, &cosine(1000), &all_model_options());
}

#[test]
fn vec4_kernel_matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    let all = all_model_options();
    sweep_shapes(&ctx, Op::PSample, &linear(1000), &all, &VEC4_SHAPES);
    sweep_shapes(&ctx, Op::PSample, &cosine(1000), &all, &VEC4_SHAPES);
}

/// The same 1028 elements as one sample (vec4 kernel) and as 1028 samples of one (scalar
/// kernel) at one t, for every option: the same per-element arithmetic, so the same bits.
#[test]
fn vec4_and_scalar_kernels_agree_bit_for_bit() {
    let Some(ctx) = gpu() else { return };
    let n = 1028;
    let tables = cosine(1000);
    for (model, loss) in all_model_options() {
        let s = OpSettings {
            tables: tables.clone(),
            model,
            loss,
        };
        let mut g = Gen::new(5);
        let inputs = check::inputs(&mut g, Op::PSample, &model, &tables, &[1, n]);
        for step in [0, 1, 999] {
            let run = |shape: &[usize]| {
                let mut these = inputs.clone();
                for a in these.values_mut() {
                    a.shape = shape.to_vec();
                }
                these.insert("t".into(), t_array(&vec![step; shape[0]]));
                ops::run(Op::PSample, &s, &these, ops::Backend::Gpu(&ctx)).unwrap()
            };
            let (vec4, scalar) = (run(&[1, n]), run(&[n, 1]));
            for (a, b) in vec4.iter().zip(&scalar) {
                assert_eq!(a.data, b.data, "{model:?} t = {step}: output {}", a.name);
            }
        }
    }
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
