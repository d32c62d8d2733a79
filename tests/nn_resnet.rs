//! ResnetBlock2D on the GPU (group norms with SiLU fused, conv1 with the time projection in its
//! epilogue or norm2 with scale-shift, the 1x1 shortcut, conv2 with the residual and
//! output_scale_factor) against its f64 twin (src/cpu/nn/resnet.rs): both time-embedding
//! kinds, with and without a shortcut, output_scale_factor 1 and 2, batches 1 and 3.
//!
//! Tolerance: two 3x3 convs of K = 9 C <= 108 terms (within K u of exact relative to the sum
//! of magnitudes, u = 2^-24), two group norms, the projection and SiLUs (exp within 64 ulp) on
//! O(1) values. Measured worst is printed (6.6e-7 on lavapipe); the bound is 1e-5 (1 + |y|).

mod common;

use common::nn::{conv, group_norm, linear, Rng};
use ddpm_wgpu::cpu::nn::{resnet as cpu_resnet, Activation};
use ddpm_wgpu::gpu::nn::resnet::forward;
use ddpm_wgpu::nn::{Padding, ResnetBlock2D, TimeEmbeddingNorm};

fn run(
    ctx: &ddpm_wgpu::gpu::Context,
    cin: usize,
    cout: usize,
    shift: TimeEmbeddingNorm,
    osf: f64,
    batch: usize,
    seed: u64,
) {
    let mut rng = Rng::new(seed);
    let temb_dim = 16;
    let proj = match shift {
        TimeEmbeddingNorm::Default => cout,
        TimeEmbeddingNorm::ScaleShift => 2 * cout,
    };
    let same = Padding::uniform(1);
    let block = ResnetBlock2D {
        in_channels: cin,
        out_channels: cout,
        norm1: group_norm(&mut rng, 2, cin, 1e-6),
        conv1: conv(&mut rng, cin, cout, 3, 1, same),
        time_emb_proj: linear(&mut rng, temb_dim, proj),
        norm2: group_norm(&mut rng, 2, cout, 1e-6),
        conv2: conv(&mut rng, cout, cout, 3, 1, same),
        conv_shortcut: (cin != cout).then(|| conv(&mut rng, cin, cout, 1, 1, Padding::uniform(0))),
        output_scale_factor: osf,
        time_embedding_norm: shift,
    };
    let (h, w) = (5, 6);
    let shape = [batch, cin, h, w];
    let x = rng.vec(batch * cin * h * w, 1.0);
    let temb = rng.vec(batch * temb_dim, 1.0);
    let got = forward(ctx, &block, &x, shape, &temb).unwrap();
    let a = Activation::new(x.iter().map(|&v| v as f64).collect(), shape).unwrap();
    let t64: Vec<f64> = temb.iter().map(|&v| v as f64).collect();
    let want = cpu_resnet::forward(&block, &a, &t64).unwrap().data;
    let bound: Vec<f64> = want.iter().map(|y| 1e-5 * (1.0 + y.abs())).collect();
    let what = format!("resnet {cin}->{cout} {shift:?} osf {osf} B={batch}");
    common::nn::assert_within(&what, &got, &want, &bound);
}

#[test]
fn resnet_matches_twin() {
    let Some(ctx) = common::gpu() else { return };
    let mut seed = 40;
    for (cin, cout, shift, osf) in [
        (8, 12, TimeEmbeddingNorm::Default, 1.0),
        (12, 12, TimeEmbeddingNorm::ScaleShift, 2.0),
        (6, 6, TimeEmbeddingNorm::Default, 1.0),
        (10, 4, TimeEmbeddingNorm::ScaleShift, 1.0),
    ] {
        for batch in [1, 3] {
            seed += 1;
            run(&ctx, cin, cout, shift, osf, batch, seed);
        }
    }
}
