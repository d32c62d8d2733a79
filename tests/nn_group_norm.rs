//! shaders/nn/group_norm.wgsl against its f64 twin (src/cpu/nn/group_norm.rs), with and without
//! the fused SiLU: groups smaller and larger than the 64-wide workgroup (down to one value),
//! odd channel counts, every group count the fixtures use (2, 3, 4, 32), batches 1 and 3.
//!
//! Tolerance: the kernel sums the group's n values as 64 strided partial sums and a 6-level
//! tree, so mean and variance are within (n / 64 + 6) u relative of exact (u = 2^-24) plus the
//! rounding of the divisions; y = (x - mean) / sd weight + bias then carries that error times
//! |weight| (|x| + |mean|) / sd (the subtraction's conditioning) plus |bias| u; SiLU's exp is
//! within 64 ulp on llvmpipe (shaders/DESIGN: measured). Bound: 4 (n / 64 + 16) u (|weight|
//! (|x| + |mean|) / sd + |bias|) + 128 u |y|. The subgroup variants add in other orders: with
//! subgroups of s, a value passes at most n / 64 + 2 (s - 1) + 64 / s additions (the strided
//! loop, subgroupAdd, the slots, subgroupAdd), n / 64 + 22 for lavapipe's s = 8, within the
//! same 4 (n / 64 + 16) budget.

mod common;

use common::nn::{assert_within, group_norm, Rng, U};
use ddpm_wgpu::cpu::nn::{group_norm as cpu_gn, silu_in_place, Activation};
use ddpm_wgpu::gpu::nn::group_norm::{forward_with, NormSum};

fn run(
    ctx: &ddpm_wgpu::gpu::Context,
    groups: usize,
    c: usize,
    hw: (usize, usize),
    (batch, silu): (usize, bool),
    seed: u64,
    sum: NormSum,
) {
    let mut rng = Rng::new(seed);
    let gn = group_norm(&mut rng, groups, c, 1e-6);
    let (h, w) = hw;
    let shape = [batch, c, h, w];
    // An offset mean, so that the two-pass variance matters.
    let x: Vec<f32> = rng
        .vec(batch * c * h * w, 1.5)
        .into_iter()
        .map(|v| v + 0.7)
        .collect();
    let got = forward_with(ctx, &gn, &x, shape, silu, sum).unwrap();
    let a = Activation::new(x.iter().map(|&v| v as f64).collect(), shape).unwrap();
    let mut want = cpu_gn::forward(&gn, &a).unwrap().data;
    if silu {
        silu_in_place(&mut want);
    }
    let cpg = c / groups;
    let n = cpg * h * w;
    let mut bound = vec![0.0; want.len()];
    for (gi, group) in x.chunks(n).enumerate() {
        let mean = group.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = group
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        let sd = (var + 1e-6).sqrt();
        for (j, &v) in group.iter().enumerate() {
            let i = gi * n + j;
            let ch = (gi % groups) * cpg + j / (h * w);
            let (g, b) = (gn.weight[ch].abs() as f64, gn.bias[ch].abs() as f64);
            let terms = (n as f64 / 64.0).ceil() + 16.0;
            bound[i] = 4.0 * terms * U * (g * (v.abs() as f64 + mean.abs()) / sd + b)
                + 128.0 * U * want[i].abs();
        }
    }
    let what = format!(
        "group_norm ({sum:?}) {groups} groups of {c} channels {h}x{w} B={batch} silu {silu}"
    );
    assert_within(&what, &got, &want, &bound);
}

/// Every way of summing the device can run (the tree always; with subgroups of 8, both subgroup
/// variants: lavapipe's Vulkan; GL has none), each against the twin.
#[test]
fn group_norm_matches_twin() {
    let Some(ctx) = common::gpu() else { return };
    let sums: Vec<NormSum> = [NormSum::Tree, NormSum::Subgroup8, NormSum::Subgroups]
        .into_iter()
        .filter(|s| s.check(&ctx).is_ok())
        .collect();
    println!("group norm sums on this device: {sums:?}");
    assert!(
        sums.contains(&NormSum::auto(&ctx)),
        "auto picks a runnable variant"
    );
    let cases = [
        (2, 4, (1, 1)),   // groups of 2 values: most of the workgroup idle
        (3, 15, (16, 8)), // the odd fixture: 5 channels x 128 = 640 per group
        (4, 12, (5, 7)),
        (32, 64, (16, 16)),
        (32, 128, (32, 32)), // cifar10's top level: 4096 per group
        (1, 3, (3, 3)),
    ];
    let mut seed = 10;
    for (groups, c, hw) in cases {
        for batch in [1, 3] {
            for silu in [false, true] {
                seed += 1;
                for &sum in &sums {
                    run(&ctx, groups, c, hw, (batch, silu), seed, sum);
                }
            }
        }
    }
}
