//! shaders/nn/linear.wgsl against its f64 twin (src/cpu/nn/linear.rs), with and without the
//! fused SiLU, for the time MLP's shapes and odd ones, 1 and 3 rows.
//!
//! Tolerance: in_features products summed in f32 by fma: within (in + 1) u (sum |w x| + |b|)
//! of exact (u = 2^-24); SiLU adds its exp's 64 ulp (llvmpipe): + 128 u |y|.

mod common;

use common::nn::{assert_within, linear, Rng, U};
use ddpm_wgpu::cpu::nn::{linear as cpu_linear, silu_in_place};
use ddpm_wgpu::gpu::nn::linear::forward;
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
