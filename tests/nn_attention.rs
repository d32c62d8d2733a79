//! The attention layer on the GPU (shaders/nn/attention.wgsl, attention_softmax.wgsl, with the
//! group norm and 1x1 convs of the projections) against its f64 twin
//! (src/cpu/nn/attention.rs): one head and several, a head width that leaves channels out
//! (2 heads of 3 over 8 channels, as a fixture), with and without its group norm,
//! rescale_output_factor 1 and 2, token counts that are not multiples of the 8 x 8 tile (15,
//! 32, 64) and one token, batches 1 and 3. Products whose rows of tiles come in whole
//! subgroups of 8 (64 and 128 tokens, a head of 64 channels) take the left operand by
//! subgroup broadcasts where the adapter has subgroups of 8 (attention_a_subgroup.wgsl).
//!
//! The one-pass path (attention_flash.wgsl: keys in tiles of 64, an online softmax, 8 queries
//! a workgroup) on every case, head_dim up to its 256 and past it (where it falls back).
//! Each softmax variant the device runs: a row per invocation, and a row per workgroup with its
//! max and sum reduced by subgroups (any size) or a tree in workgroup memory (different orders
//! of the same sum, inside the same bound).
//!
//! Tolerance: five f32 stages, each a sum of at most max(C, N, head_dim) <= 128 terms here
//! (within that many u = 2^-24 of exact, relative to the sum of magnitudes) or the softmax's
//! exp (64 ulp on llvmpipe) on O(1) values; the residual adds |x|. Measured worst is printed
//! (1.8e-6 on lavapipe, at 128 tokens); the bound is 1e-5 (1 + |y|), 5-8 times that.

mod common;

use common::nn::{group_norm, linear, Rng};
use ddpm_wgpu::cpu::nn::{attention as cpu_attn, Activation};
use ddpm_wgpu::gpu::nn::attention::{forward_with, AttentionKind, SoftmaxKind};
use ddpm_wgpu::nn::Attention;

/// (channels, head_dim, group norm, (h, w), rescale_output_factor).
type Case = (usize, usize, bool, (usize, usize), f64);

fn run(
    ctx: &ddpm_wgpu::gpu::Context,
    (c, head_dim, norm, hw, rescale): Case,
    batch: usize,
    seed: u64,
    kind: (AttentionKind, SoftmaxKind),
) {
    let mut rng = Rng::new(seed);
    let heads = c / head_dim;
    let inner = heads * head_dim;
    let attn = Attention {
        channels: c,
        heads,
        head_dim,
        group_norm: norm
            .then(|| group_norm(&mut rng, if c.is_multiple_of(4) { 4 } else { 1 }, c, 1e-5)),
        to_q: linear(&mut rng, c, inner),
        to_k: linear(&mut rng, c, inner),
        to_v: linear(&mut rng, c, inner),
        to_out: linear(&mut rng, inner, c),
        rescale_output_factor: rescale,
    };
    let (h, w) = hw;
    let shape = [batch, c, h, w];
    let x = rng.vec(batch * c * h * w, 1.0);
    let got = forward_with(ctx, &attn, &x, shape, kind).unwrap();
    let a = Activation::new(x.iter().map(|&v| v as f64).collect(), shape).unwrap();
    let want = cpu_attn::forward(&attn, &a).unwrap().data;
    let bound: Vec<f64> = want.iter().map(|y| 1e-5 * (1.0 + y.abs())).collect();
    let what = format!(
        "attention {heads} x {head_dim} of {c} norm {norm} {h}x{w} rescale {rescale} B={batch} \
         softmax {kind:?}"
    );
    common::nn::assert_within(&what, &got, &want, &bound);
}

#[test]
fn attention_matches_twin() {
    let Some(ctx) = common::gpu() else { return };
    let mut seed = 30;
    let cases: [Case; 11] = [
        (8, 3, true, (8, 8), 1.0),
        (12, 3, true, (5, 3), 1.0),
        (21, 21, false, (8, 4), 2.0),
        (16, 16, true, (1, 1), 1.0),
        (16, 4, true, (4, 4), 1.0),
        (64, 64, true, (3, 5), 1.0),
        (16, 8, true, (8, 16), 1.0),
        // 81 tokens: rows longer than the 64 lanes of a row-per-workgroup softmax, not a
        // multiple of them.
        (8, 4, true, (9, 9), 1.0),
        // Heads wider than the one-pass kernel's 64 lanes (two and four channels a lane, the
        // last partly empty), its widest (256), and one past it (the scores path instead).
        (130, 130, true, (4, 5), 1.0),
        (256, 256, true, (3, 3), 1.0),
        (257, 257, false, (2, 2), 1.0),
    ];
    // Every softmax variant the device runs: all three on lavapipe (subgroups of 8; other
    // subgroup sizes run on hardware only), two on GL's llvmpipe (no subgroups enabled).
    // And the one-pass path (its own online softmax) on every device.
    let softmax: Vec<SoftmaxKind> = SoftmaxKind::ALL
        .into_iter()
        .filter(|k| k.runs_on(&ctx))
        .collect();
    let vulkan = ctx.adapter_info().backend == wgpu::Backend::Vulkan;
    if std::env::var_os("CI").is_some() && vulkan {
        assert_eq!(softmax.len(), 3, "lavapipe without subgroups");
    }
    assert!(AttentionKind::Flash.runs_on(&ctx));
    let kinds = softmax
        .iter()
        .map(|&s| (AttentionKind::Scores, s))
        .chain([(AttentionKind::Flash, SoftmaxKind::RowPerInvocation)]);
    for kind in kinds {
        for case in cases {
            for batch in [1, 3] {
                seed += 1;
                run(&ctx, case, batch, seed, kind);
            }
        }
    }
}
