//! GPU `normal_kl` against its f64 twin, over log-variances from -30 to 5.

mod common;
use common::*;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::ops::{Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions};
use std::collections::BTreeMap;

fn run(ctx: &ddpm_wgpu::gpu::Context, shape: &[usize], cols: [Vec<f32>; 4]) {
    let [m1, lv1, m2, lv2] = cols;
    let inputs = BTreeMap::from([
        ("mean1".into(), f32_array(shape, m1)),
        ("logvar1".into(), f32_array(shape, lv1)),
        ("mean2".into(), f32_array(shape, m2)),
        ("logvar2".into(), f32_array(shape, lv2)),
    ]);
    let s = OpSettings {
        step: Default::default(),
        tables: linear(10),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    let (g, c) = run_both(ctx, Op::NormalKl, &s, &inputs);
    assert_outputs(Op::NormalKl, &g, &c, None);
}

#[test]
fn matches_reference_on_random_inputs() {
    let Some(ctx) = gpu() else { return };
    for n in [1usize, 255, 257, 4099] {
        let mut g = Gen::new(n as u64);
        let cols = [
            g.vec(n, |g| 2.0 * g.normal()),
            g.vec(n, |g| g.range(-30.0, 5.0)),
            g.vec(n, |g| 2.0 * g.normal()),
            g.vec(n, |g| g.range(-30.0, 5.0)),
        ];
        run(&ctx, &[n], cols);
    }
}

/// Every pair of log-variances from a grid over [-30, 5], including equal ones (KL from the mean
/// term alone) and nearly equal ones (where -1 - d + e^d cancels in the naive form).
#[test]
fn log_variance_grid_including_near_equal() {
    let Some(ctx) = gpu() else { return };
    let grid = [-30.0f32, -12.5, -1.0, -1e-3, 0.0, 1e-4, 0.3, 2.0, 5.0];
    let (mut m1, mut lv1, mut m2, mut lv2) = (vec![], vec![], vec![], vec![]);
    for &a in &grid {
        for &b in &grid {
            for dm in [0.0f32, 1e-3, 1.0] {
                m1.push(0.5 + dm);
                m2.push(0.5);
                lv1.push(a);
                lv2.push(b);
            }
        }
    }
    let n = m1.len();
    run(&ctx, &[n], [m1, lv1, m2, lv2]);
}
