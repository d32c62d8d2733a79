//! Shared by the UNet layer tests: seeded random layers and inputs, and the comparison with an
//! error bound per element.
#![allow(dead_code)] // each test binary uses a different subset

use ddpm_wgpu::nn::{Conv2d, GroupNorm, Linear, Padding};

/// Unit roundoff of f32.
pub const U: f64 = 1.0 / 16_777_216.0;

/// A small LCG: deterministic values in [-1, 1).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
    }

    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    pub fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

/// A conv with weights of about unit gain (scaled by 1/sqrt(fan-in)).
pub fn conv(
    rng: &mut Rng,
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    padding: Padding,
) -> Conv2d {
    let fan = (cin * k * k) as f32;
    Conv2d {
        in_channels: cin,
        out_channels: cout,
        kernel: k,
        stride,
        padding,
        weight: rng.vec(cout * cin * k * k, 1.7 / fan.sqrt()),
        bias: rng.vec(cout, 0.5),
    }
}

/// The same layer with |weight| and |bias|: run on |x| it gives sum |w x| + |b| per output, the
/// scale of the rounding error of the product.
pub fn abs_conv(c: &Conv2d) -> Conv2d {
    Conv2d {
        weight: c.weight.iter().map(|v| v.abs()).collect(),
        bias: c.bias.iter().map(|v| v.abs()).collect(),
        ..c.clone()
    }
}

pub fn group_norm(rng: &mut Rng, groups: usize, channels: usize, eps: f64) -> GroupNorm {
    GroupNorm {
        num_groups: groups,
        channels,
        eps,
        weight: rng
            .vec(channels, 1.0)
            .into_iter()
            .map(|v| 1.0 + 0.5 * v)
            .collect(),
        bias: rng.vec(channels, 0.5),
    }
}

pub fn linear(rng: &mut Rng, i: usize, o: usize) -> Linear {
    Linear {
        in_features: i,
        out_features: o,
        weight: rng.vec(i * o, 1.7 / (i as f32).sqrt()),
        bias: rng.vec(o, 0.5),
    }
}

/// Every |gpu - want| within its bound; prints and returns the worst ratio error / bound.
pub fn assert_within(what: &str, gpu: &[f32], want: &[f64], bound: &[f64]) -> f64 {
    assert_eq!(gpu.len(), want.len(), "{what}: length");
    assert_eq!(bound.len(), want.len(), "{what}: bound length");
    let mut worst = (0.0f64, 0usize);
    for (i, ((&g, &w), &b)) in gpu.iter().zip(want).zip(bound).enumerate() {
        let err = (g as f64 - w).abs();
        let r = if err == 0.0 { 0.0 } else { err / b };
        if r > worst.0 || !g.is_finite() {
            worst = (if g.is_finite() { r } else { f64::INFINITY }, i);
        }
    }
    let (r, i) = worst;
    println!(
        "{what}: worst at [{i}]: gpu {:.9} want {:.9} |diff| {:.3e} bound {:.3e} ({:.3} of it)",
        gpu[i],
        want[i],
        (gpu[i] as f64 - want[i]).abs(),
        bound[i],
        r
    );
    assert!(r <= 1.0, "{what}: past the bound at [{i}]");
    r
}
