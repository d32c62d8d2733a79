//! shaders/nn/guidance.wgsl against its f64 twin (src/cpu/nn/guidance.rs): classifier-free
//! guidance's combination of 2B model outputs, at scales 0, 1, 2.5 and 7.5, with and without
//! diffusers' guidance rescale (0.7 and 1), a learned variance copied from the conditional
//! pass, 1 and 3 samples and odd sample sizes; bad scales refused.
//!
//! Tolerance: g = u + w (c - u) is three f32 roundings of values up to (1 + 2w) m (m the
//! largest |input|): 4 u (1 + 2w) m. The rescale multiplies by std(c) / std(g), whose two-pass
//! f32 sums over n values carry up to about n u relative each: the bound gains 4 (n + 4) u
//! times the rescaled value. The variance copy is exact.

mod common;

use common::nn::{assert_within, Rng, U};
use ddpm_wgpu::cpu::nn::guidance as twin;
use ddpm_wgpu::gpu::nn::guidance::{forward, Guidance};

#[test]
fn guidance_matches_twin() {
    let Some(ctx) = common::gpu() else { return };
    let mut seed = 0;
    for (batch, mean_len, var_len) in [(1, 7, 0), (3, 48, 48), (2, 257, 0), (3, 768, 0)] {
        for w in [0.0, 1.0, 2.5, 7.5] {
            for rescale in [None, Some(0.7), Some(1.0)] {
                seed += 1;
                let mut rng = Rng::new(seed);
                let out = rng.vec(2 * batch * (mean_len + var_len), 1.5);
                let g = Guidance { scale: w, rescale };
                let (mean, var) = forward(&ctx, &out, batch, (mean_len, var_len), g).unwrap();
                let out64: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
                let (want, want_var) =
                    twin::forward(&out64, batch, (mean_len, var_len), w, rescale).unwrap();
                let m = 1.5;
                let base = 4.0 * U * (1.0 + 2.0 * w) * m;
                let bound: Vec<f64> = want
                    .iter()
                    .map(|y| match rescale {
                        None => base,
                        Some(_) => base + 4.0 * (mean_len as f64 + 4.0) * U * y.abs(),
                    })
                    .collect();
                let what = format!("B {batch}, {mean_len}+{var_len}, w {w}, rescale {rescale:?}");
                assert_within(&what, &mean, &want, &bound);
                let var64: Vec<f64> = var.iter().map(|&v| f64::from(v)).collect();
                assert_eq!(var64, want_var, "{what}: variance");
            }
        }
    }
}

/// At w = 1 the guided prediction is the conditional pass, at w = 0 the unconditional one,
/// bit for bit (u + 1 (c - u) rounds to c only when exact: checked within one rounding).
#[test]
fn scales_zero_and_one_select_a_pass() {
    let Some(ctx) = common::gpu() else { return };
    let mut rng = Rng::new(99);
    let out = rng.vec(2 * 3 * 20, 1.0);
    let pass = |w: f64| {
        let g = Guidance {
            scale: w,
            rescale: None,
        };
        forward(&ctx, &out, 3, (20, 0), g).unwrap().0
    };
    assert_eq!(pass(0.0), out[60..]);
    for (g, c) in pass(1.0).iter().zip(&out[..60]) {
        assert!(
            (g - c).abs() <= 2.0 * f32::EPSILON * c.abs().max(1.0),
            "{g} vs {c}"
        );
    }
    for bad in [
        Guidance {
            scale: -1.0,
            rescale: None,
        },
        Guidance {
            scale: f64::NAN,
            rescale: None,
        },
        Guidance {
            scale: 2.0,
            rescale: Some(1.5),
        },
    ] {
        assert!(forward(&ctx, &out, 3, (20, 0), bad).is_err(), "{bad:?}");
    }
    assert!(forward(
        &ctx,
        &out[1..],
        3,
        (20, 0),
        Guidance {
            scale: 2.0,
            rescale: None
        }
    )
    .is_err());
}
