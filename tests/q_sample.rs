//! GPU `q_sample` against its f64 twin: sizes, t in {0, 1, T-1}, extremes, and an element count
//! beyond one dispatch's workgroup limit (the grid-stride path); the vec4 kernel (sample lengths
//! that are multiples of 4) the same way, and bit for bit against the scalar one.

mod common;
use common::*;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::ops::{Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions};
use std::collections::BTreeMap;

#[test]
fn matches_reference_across_sizes_and_timesteps() {
    let Some(ctx) = gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    sweep(&ctx, Op::QSample, &linear(1000), &opts);
    sweep(&ctx, Op::QSample, &cosine(1000), &opts);
}

#[test]
fn vec4_kernel_matches_reference_across_sizes_and_timesteps() {
    let Some(ctx) = gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    sweep_shapes(&ctx, Op::QSample, &linear(1000), &opts, &VEC4_SHAPES);
    sweep_shapes(&ctx, Op::QSample, &cosine(1000), &opts, &VEC4_SHAPES);
}

/// The same 1028 elements as one sample (vec4 kernel) and as 1028 samples of one (scalar
/// kernel), every sample at the same t: the per-element arithmetic is the same, so the bits are.
#[test]
fn vec4_and_scalar_kernels_agree_bit_for_bit() {
    let Some(ctx) = gpu() else { return };
    let n = 1028;
    let mut g = Gen::new(9);
    let (x0, noise) = (g.pixels(n), g.vec(n, Gen::normal));
    let s = OpSettings {
        tables: cosine(1000),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    for step in [0, 1, 500, 999] {
        let run = |shape: &[usize]| {
            let inputs = BTreeMap::from([
                ("x_start".into(), f32_array(shape, x0.clone())),
                ("noise".into(), f32_array(shape, noise.clone())),
                ("t".into(), t_array(&vec![step; shape[0]])),
            ]);
            run_both(&ctx, Op::QSample, &s, &inputs).0[0].data.clone()
        };
        assert_eq!(run(&[1, n]), run(&[n, 1]), "t = {step}");
    }
}

#[test]
fn extremes_x0_at_plus_minus_one_and_noise_at_six() {
    let Some(ctx) = gpu() else { return };
    let x0 = vec![1.0, -1.0, 1.0, -1.0, 0.0, 1.0];
    let noise = vec![6.0, -6.0, -6.0, 6.0, 6.0, 0.0];
    for tables in [linear(1000), cosine(1000), linear(1)] {
        let big_t = tables.num_timesteps() as u32;
        let t = [0, 1.min(big_t - 1), big_t - 1];
        let inputs = BTreeMap::from([
            ("x_start".into(), f32_array(&[3, 2], x0.clone())),
            ("noise".into(), f32_array(&[3, 2], noise.clone())),
            ("t".into(), t_array(&t)),
        ]);
        let s = OpSettings {
            tables,
            model: ModelOptions::default(),
            loss: LossType::Mse,
        };
        let (g, c) = run_both(&ctx, Op::QSample, &s, &inputs);
        assert_outputs(Op::QSample, &g, &c, None);
    }
}

/// 2^24 + 3 elements: more than 65535 workgroups of 256, so the grid-stride loop must cover the
/// tail; every element is checked, not a sample of them.
#[test]
fn element_count_beyond_one_dispatch() {
    let Some(ctx) = gpu() else { return };
    let batch = 7;
    let sample_len = ((1usize << 24) + 3).div_ceil(batch);
    let n = batch * sample_len;
    if n as u64 * 4 > ctx.limits().max_storage_buffer_binding_size {
        eprintln!("SKIPPED: adapter cannot bind {n} floats");
        return;
    }
    assert!(n.div_ceil(256) > 65535);
    let mut g = Gen::new(3);
    let inputs = BTreeMap::from([
        (
            "x_start".into(),
            f32_array(&[batch, sample_len], g.pixels(n)),
        ),
        (
            "noise".into(),
            f32_array(&[batch, sample_len], g.vec(n, Gen::normal)),
        ),
        ("t".into(), t_array(&[0, 1, 999, 500, 2, 998, 250])),
    ]);
    let s = OpSettings {
        tables: linear(1000),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    let (g, c) = run_both(&ctx, Op::QSample, &s, &inputs);
    assert_outputs(Op::QSample, &g, &c, None);
}
