//! shaders/nn/linear.wgsl against its f64 twin (src/cpu/nn/linear.rs), with and without the
//! fused SiLU, for the time MLP's shapes and odd ones, 1 and 3 rows; with CLASS_ROW, each row's
//! class-table row added before the SiLU (the class-conditional time embedding; its twin the
//! addition in `cpu::nn::unet`).
//!
//! Tolerance: in_features products summed in f32 by fma: within (in + 1) u (sum |w x| + |b|)
//! of exact (u = 2^-24); SiLU adds its exp's 64 ulp (llvmpipe): + 128 u |y|.

mod common;

use common::nn::{assert_within, linear, Rng, U};
use ddpm_wgpu::cpu::nn::{linear as cpu_linear, silu_in_place};
use ddpm_wgpu::gpu::nn::linear::{forward, forward_with_classes};
use ddpm_wgpu::nn::Linear;

#[test]
fn linear_matches_twin() {
    let Some(ctx) = common::gpu() else { return };
    let mut seed = 20;
    for (i, o) in [(8, 32), (128, 512), (512, 512), (7, 13), (1, 3)] {
        for rows in [1, 3] {
            for silu in [false, true] {
                seed += 1;
                let mut rng = Rng::new(seed);
                let lin = linear(&mut rng, i, o);
                let x = rng.vec(rows * i, 1.0);
                let got = forward(&ctx, &lin, &x, silu).unwrap();
                let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                let mut want = cpu_linear::forward(&lin, &x64).unwrap();
                if silu {
                    silu_in_place(&mut want);
                }
                let abs = Linear {
                    weight: lin.weight.iter().map(|v| v.abs()).collect(),
                    bias: lin.bias.iter().map(|v| v.abs()).collect(),
                    ..lin.clone()
                };
                let ax: Vec<f64> = x64.iter().map(|v| v.abs()).collect();
                let scale = cpu_linear::forward(&abs, &ax).unwrap();
                let bound: Vec<f64> = scale
                    .iter()
                    .zip(&want)
                    .map(|(s, y)| (i as f64 + 1.0) * U * s + 128.0 * U * y.abs())
                    .collect();
                let what = format!("linear {i}->{o} rows {rows} silu {silu}");
                assert_within(&what, &got, &want, &bound);
            }
        }
    }
}

/// CLASS_ROW: y = linear(x) + table[label] per row, then SiLU; the first and last labels and
/// odd widths. Bound as above plus the added row's rounding (u |y|, inside the 128 u).
#[test]
fn linear_adds_class_rows() {
    let Some(ctx) = common::gpu() else { return };
    for (seed, (i, o, classes, labels)) in [
        (8, 32, 11, vec![0u32, 5, 10]),
        (7, 13, 3, vec![2]),
        (32, 32, 1001, vec![1000, 0, 17, 999]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut rng = Rng::new(100 + seed as u64);
        let lin = linear(&mut rng, i, o);
        let rows = labels.len();
        let x = rng.vec(rows * i, 1.0);
        let table = rng.vec(classes * o, 1.0);
        for silu in [false, true] {
            let got = forward_with_classes(&ctx, &lin, &x, Some((&table, &labels)), silu).unwrap();
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let mut want = cpu_linear::forward(&lin, &x64).unwrap();
            for (row, &l) in want.chunks_exact_mut(o).zip(&labels) {
                for (v, &e) in row.iter_mut().zip(&table[l as usize * o..]) {
                    *v += f64::from(e);
                }
            }
            if silu {
                silu_in_place(&mut want);
            }
            let abs = Linear {
                weight: lin.weight.iter().map(|v| v.abs()).collect(),
                bias: lin.bias.iter().map(|v| v.abs()).collect(),
                ..lin.clone()
            };
            let ax: Vec<f64> = x64.iter().map(|v| v.abs()).collect();
            let scale = cpu_linear::forward(&abs, &ax).unwrap();
            let bound: Vec<f64> = scale
                .iter()
                .zip(&want)
                .map(|(s, y)| (i as f64 + 1.0) * U * s + 128.0 * U * y.abs())
                .collect();
            let what = format!("linear {i}->{o} + class rows {labels:?} silu {silu}");
            assert_within(&what, &got, &want, &bound);
        }
    }
}
