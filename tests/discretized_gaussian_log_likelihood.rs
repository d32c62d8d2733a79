//! GPU `discretized_gaussian_log_likelihood` against its f64 twin: edge bins, tiny and wide
//! scales (where WGSL tanh would NaN), and the t = 0 fixedlarge decoder (1/scale ~ 135).

mod common;
use common::*;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::ops::{Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions};
use std::collections::BTreeMap;

fn run(ctx: &ddpm_wgpu::gpu::Context, x: Vec<f32>, means: Vec<f32>, log_scales: Vec<f32>) {
    let n = x.len();
    let inputs = BTreeMap::from([
        ("x".into(), f32_array(&[n], x)),
        ("means".into(), f32_array(&[n], means)),
        ("log_scales".into(), f32_array(&[n], log_scales)),
    ]);
    let s = OpSettings {
        step: Default::default(),
        tables: linear(10),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    let (g, c) = run_both(ctx, Op::DiscretizedGaussianLogLikelihood, &s, &inputs);
    assert!(
        g[0].data.iter().all(|v| v.is_finite()),
        "GPU produced a non-finite log-likelihood"
    );
    assert_outputs(Op::DiscretizedGaussianLogLikelihood, &g, &c, None);
}

#[test]
fn matches_reference_on_random_pixels() {
    let Some(ctx) = gpu() else { return };
    for n in [1usize, 255, 257, 5000] {
        let mut g = Gen::new(n as u64);
        let x = g.pixels(n);
        let means = g.vec(n, |g| g.range(-1.1, 1.1));
        let log_scales = g.vec(n, |g| g.range(-15.0, 2.5));
        run(&ctx, x, means, log_scales);
    }
}

/// Every pixel value at a grid of offsets and log-scales: edge bins (x = +-1), means on and
/// between bin centres, scales from e^-15 (bins far wider than the Gaussian) to e^2.5.
#[test]
fn grid_of_pixels_offsets_and_scales() {
    let Some(ctx) = gpu() else { return };
    let (mut x, mut means, mut log_scales) = (vec![], vec![], vec![]);
    // The t = 0 fixedlarge decoder's log-scale: 0.5 log(pv_1) of the linear schedule.
    let decoder = (0.5 * linear(1000).posterior_variance[1].ln()) as f32;
    for k in (0..256).step_by(5).chain([1, 254, 255]) {
        let px = k as f32 * 2.0 / 255.0 - 1.0;
        for off in [0.0f32, 1.0 / 255.0, 2.0 / 255.0, 0.013, -0.2, 1.5] {
            for ls in [-15.0f32, -7.0, decoder, -2.0, 0.0, 2.5] {
                x.push(px);
                means.push(px + off);
                log_scales.push(ls);
            }
        }
    }
    run(&ctx, x, means, log_scales);
}
