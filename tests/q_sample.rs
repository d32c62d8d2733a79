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

#[test]
fn vec4_kernel_on_every_grid_path() {
    let Some(ctx) = small_grid_gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    sweep_shapes(&ctx, Op::QSample, &cosine(1000), &opts, &SMALL_GRID_SHAPES);
}

#[test]
fn vec4_kernel_with_more_samples_than_one_grid_row() {
    let Some(ctx) = gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    sweep_shapes(&ctx, Op::QSample, &cosine(1000), &opts, &[MANY_SAMPLES]);
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
        step: Default::default(),
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
            step: Default::default(),
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
        step: Default::default(),
        tables: linear(1000),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    let (g, c) = run_both(&ctx, Op::QSample, &s, &inputs);
    assert_outputs(Op::QSample, &g, &c, None);
}

/// Values as f16 would store them.
fn round_f16(v: &[f32]) -> Vec<f32> {
    v.iter().map(|&x| half::f16::from_f32(x).to_f32()).collect()
}

/// The f16-storage kernel against the f64 twin run on the same f16-rounded inputs, on sizes
/// that are and are not multiples of its 8-value groups, t in {0, 1, T-1}.
#[test]
fn f16_storage_matches_reference_on_rounded_inputs() {
    let Some(ctx) = gpu() else { return };
    // [3, 4096]: whole 8-value groups in samples long enough for the per-sample grid.
    let shapes: [&[usize]; 6] = [
        &[1, 1],
        &[3, 257],
        &[2, 3, 17, 19],
        &[3, 8, 16],
        &[5, 24],
        &[3, 4096],
    ];
    check_f16_storage(&ctx, &shapes);
    // Every grid path of the f16 kernel, on a device limited to 8 workgroups per dimension.
    let Some(small) = small_grid_gpu() else {
        return;
    };
    check_f16_storage(&small, &SMALL_GRID_SHAPES);
}

fn check_f16_storage(ctx: &ddpm_wgpu::gpu::Context, shapes: &[&[usize]]) {
    use ddpm_wgpu::gpu::{self, GpuSteps, GpuTables, GpuTensorF16};
    use ddpm_wgpu::tolerance::{Scale, Tolerance};
    // The result is rounded once to f16 by pack2x16float (WGSL leaves the rounding direction
    // to the implementation: up to 2^-10 relative), after f32 arithmetic whose error (about
    // 1e-7 of the terms) is far below that; values under f16's smallest normal (6.1e-5) are
    // stored with an absolute spacing of 6e-8.
    let tol = Tolerance {
        abs: 6e-8,
        rel: 1.0 / 1024.0,
        scale: Scale::Terms,
    };
    for tables in [linear(1000), cosine(1000)] {
        let gt = GpuTables::new(ctx, &tables).unwrap();
        let big_t = tables.num_timesteps() as u32;
        for &shape in shapes {
            let (batch, n) = (shape[0], shape.iter().product::<usize>());
            let d = n / batch;
            let mut g = Gen::new(n as u64);
            let x0 = round_f16(&g.pixels(n));
            let noise = round_f16(&g.vec(n, |g| 2.0 * g.normal()));
            let mixed = mixed_steps(&tables, batch);
            for t in [
                vec![0; batch],
                vec![1; batch],
                vec![big_t - 1; batch],
                mixed,
            ] {
                let steps = GpuSteps::new(ctx, &gt, &t).unwrap();
                let up = |v: &[f32]| GpuTensorF16::from_slice(ctx, shape, v).unwrap();
                let (a, z, out) = (
                    up(&x0),
                    up(&noise),
                    GpuTensorF16::zeros(ctx, shape).unwrap(),
                );
                let mut enc = ctx.encoder();
                gpu::q_sample_f16(ctx, &mut enc, &gt, &steps, &a, &z, &out).unwrap();
                ctx.submit(enc).unwrap();
                let got: Vec<f64> = out.to_vec(ctx).unwrap().iter().map(|&v| v as f64).collect();
                let want = ddpm_wgpu::cpu::q_sample(&tables, &t, d, &x0, &noise).unwrap();
                let terms: Vec<f64> = x0
                    .iter()
                    .zip(&noise)
                    .enumerate()
                    .map(|(i, (&a, &z))| {
                        let s = t[i / d] as usize;
                        tables.sqrt_alphas_cumprod[s] * (a as f64).abs()
                            + tables.sqrt_one_minus_alphas_cumprod[s] * (z as f64).abs()
                    })
                    .collect();
                let cmp = tol.compare(&got, &want, d, Some(&terms));
                assert!(cmp.pass, "shape {shape:?} t={t:?}: worst {:?}", cmp.worst);
            }
        }
    }
}
