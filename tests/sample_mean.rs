//! GPU `sample_mean` against its f64 twin: accuracy on long samples (the compensated, fixed-order
//! sum), more samples than one grid dimension holds, and bit-for-bit repeatability.

mod common;
use common::*;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::gpu::{self, GpuTensor};
use ddpm_wgpu::tolerance::{Scale, Tolerance};

fn gpu_means(ctx: &gpu::Context, shape: &[usize], values: &[f32], scale: f64) -> Vec<f64> {
    let t = GpuTensor::from_slice(ctx, shape, values).unwrap();
    let mut enc = ctx.encoder();
    let m = gpu::sample_mean(ctx, &mut enc, &t, scale).unwrap();
    ctx.submit(enc).unwrap();
    m.to_vec(ctx).unwrap().into_iter().map(f64::from).collect()
}

/// 2^20 positive values per sample: pairwise lane sums plus the fixed tree stay within a few
/// ulps of the f64 mean.
#[test]
fn long_samples_are_summed_accurately() {
    let Some(ctx) = gpu() else { return };
    let (batch, len) = (3usize, 1usize << 20);
    let mut g = Gen::new(11);
    let values = g.vec(batch * len, |g| g.range(0.0, 1.0));
    let want = ddpm_wgpu::cpu::sample_mean(
        &values.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        len,
        1.0 / std::f64::consts::LN_2,
    );
    let got = gpu_means(&ctx, &[batch, len], &values, 1.0 / std::f64::consts::LN_2);
    // Pairwise lane sums plus an 8-level tree: within ~10 ulps of the f64 mean.
    let tol = Tolerance {
        abs: 0.0,
        rel: 1e-6,
        scale: Scale::Element,
    };
    let cmp = tol.compare(&got, &want, 1, None);
    eprintln!("max relative error {:e}", cmp.max_rel);
    assert!(cmp.pass, "{:?}", cmp.worst);
}

/// Each invocation's lane (stride WG_SIZE) holds +1000 or -1000 plus U(0, 1): the lanes' running
/// sums reach 4e6 and cancel in the tree. A plain f32 running sum loses ~0.1 per addition there
/// (measured 1.2e-4 relative on the mean); pairwise lane sums lose ~12 roundings per lane.
#[test]
fn cancelling_lanes_are_summed_accurately() {
    let Some(ctx) = gpu() else { return };
    let len = 1usize << 20;
    let mut g = Gen::new(14);
    let values: Vec<f32> = (0..len)
        .map(|j| if (j % 256).is_multiple_of(2) { 1000.0 } else { -1000.0 } + g.uniform() as f32)
        .collect();
    let want = ddpm_wgpu::cpu::sample_mean(
        &values.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        len,
        1.0,
    );
    let got = gpu_means(&ctx, &[1, len], &values, 1.0);
    // ~12 roundings of up to ~0.25 per lane sum, 256 lanes with random signs, against a sum of
    // ~5e5: ~1e-5 relative.
    let tol = Tolerance {
        abs: 0.0,
        rel: 2e-5,
        scale: Scale::Element,
    };
    let cmp = tol.compare(&got, &want, 1, None);
    eprintln!("cancelling lanes: max relative error {:e}", cmp.max_rel);
    assert!(cmp.pass, "{:?}", cmp.worst);
}

/// 70000 samples exceed the 65535 workgroups of one grid dimension: the 2-D grid must reach all.
#[test]
fn more_samples_than_one_grid_dimension() {
    let Some(ctx) = gpu() else { return };
    let (batch, len) = (70_000usize, 3usize);
    let mut g = Gen::new(12);
    let values = g.vec(batch * len, Gen::normal);
    let want = ddpm_wgpu::cpu::sample_mean(
        &values.iter().map(|&v| v as f64).collect::<Vec<_>>(),
        len,
        1.0,
    );
    let got = gpu_means(&ctx, &[batch, len], &values, 1.0);
    // Three terms: the rounding of each addition, relative to the terms' magnitude.
    let tol = Tolerance {
        abs: 1e-6,
        rel: 1e-6,
        scale: Scale::Element,
    };
    let cmp = tol.compare(&got, &want, 1, None);
    assert!(cmp.pass, "{:?}", cmp.worst);
}

#[test]
fn repeatable_bit_for_bit() {
    let Some(ctx) = gpu() else { return };
    let mut g = Gen::new(13);
    let values = g.vec(5 * 100_003, Gen::normal);
    let a = gpu_means(&ctx, &[5, 100_003], &values, 1.0);
    let b = gpu_means(&ctx, &[5, 100_003], &values, 1.0);
    assert_eq!(a, b);
}
