//! The UNet stored as f16 (`Precision::F16`, `--precision f16`): the conversions at the forward's
//! ends (shaders/nn/cast.wgsl) bit for bit against their twin, each conv kernel against the f64
//! twin within a bound that adds f16's rounding to the f32 one, and every UNet fixture against
//! diffusers' own f32 outputs within the error measured and stated below. Where the device
//! lacks SHADER_F16 (llvmpipe's GL) f16 is refused by name; on Vulkan (lavapipe has it) the
//! tests require it, so CI never passes them by skipping.

mod common;

use common::nn::{abs_conv, assert_within, conv, Rng, U};
use common::unet::{inputs, model, FIXTURES};
use ddpm_wgpu::cpu::nn::{conv2d as cpu_conv, Activation};
use ddpm_wgpu::gpu::nn::cast::round_trip;
use ddpm_wgpu::gpu::nn::conv2d_op::{forward, ConvOptions};
use ddpm_wgpu::gpu::nn::conv2d_tiled::ConvKernel;
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::runtime::shaders::tiles::TileShape;
use ddpm_wgpu::gpu::runtime::Precision;
use ddpm_wgpu::gpu::{Context, UNetDenoiser};
use ddpm_wgpu::nn::Padding;

/// f16's unit roundoff: a stored value is within 2^-11 of its f32 value, relatively (normal
/// range; the values here stay far from f16's subnormals and 65504).
const UH: f64 = 1.0 / 2048.0;

/// The context when it runs f16; else `None` after checking that f16 is refused by name (and
/// that the backend is not Vulkan, where lavapipe offers SHADER_F16: a lost feature fails).
fn f16_gpu() -> Option<Context> {
    let ctx = common::gpu()?;
    if Precision::F16.runs_on(&ctx) {
        return Some(ctx);
    }
    let backend = ctx.adapter_info().backend;
    assert_ne!(backend, wgpu::Backend::Vulkan, "lavapipe offers SHADER_F16");
    let err = round_trip(&ctx, &[1.0], Precision::F16).unwrap_err();
    assert!(err.to_string().contains("SHADER_F16"), "{err}");
    let (unet, big_t) = model(FIXTURES[0]);
    let opts = UNetOptions {
        precision: Precision::F16,
        ..UNetOptions::default()
    };
    let err = UNetDenoiser::with_options(&ctx, &unet, big_t, opts).unwrap_err();
    assert!(err.to_string().contains("SHADER_F16"), "{err}");
    println!("f16 refused on {backend:?}: {err}");
    None
}

/// f32 -> f16 -> f32 rounds to nearest (ties to even), past 65504 to infinity, through the
/// subnormals, on 1000 + 37 values (not a multiple of the 64-wide workgroup): bit for bit.
#[test]
fn cast_rounds_as_the_twin() {
    let Some(ctx) = f16_gpu() else { return };
    let mut x = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        65504.0,
        65519.0,   // rounds down to 65504
        65520.0,   // the tie above 65504: to infinity
        -1.0e6,    // -infinity
        6.1e-5,    // near the smallest normal 2^-14
        5.96e-8,   // the smallest subnormal 2^-24
        2.9e-8,    // below half of it: to 0
        1.0009766, // 1 + 2^-10: exact
        1.0004883, // 1 + 2^-11: the tie, to even (1)
        1.0014648, // 1 + 3 2^-11: the tie, to even (1 + 2^-9)
        f32::INFINITY,
    ];
    let mut rng = Rng::new(7);
    x.extend(rng.vec(1037 - x.len(), 40.0));
    let got = round_trip(&ctx, &x, Precision::F16).unwrap();
    let want = ddpm_wgpu::cpu::nn::cast::round_trip(&x, Precision::F16);
    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            (g as f64).to_bits(),
            w.to_bits(),
            "[{i}] {} -> {g}, twin {w}",
            x[i]
        );
    }
    // And f32 passes unchanged.
    let same = round_trip(&ctx, &x, Precision::F32).unwrap();
    assert_eq!(same, x);
}

/// Each conv kernel stored as f16: input, weights, bias, time bias and residual rounded once
/// on upload (each within UH of itself), the K products summed in f32 (K u S, as the f32
/// kernels), the output rounded once more: within (K + 3) u S + 4 UH S of the exact conv of the
/// unrounded operands, S the conv of |w| and |x| plus |bias| and the extras (which bounds
/// |output| too). Winograd stores its transformed input and products as f16 as well: each
/// transform grows a sum of values by at most 4 (|A^T| |G| |B^T|, see tests/nn_conv2d.rs), so
/// its bound is 4 times the direct one plus two more roundings of the grown sums.
#[test]
fn conv_kernels_in_f16_within_bound() {
    let Some(ctx) = f16_gpu() else { return };
    let shapes = [
        (3, 5, (7, 9), 3, 1),
        (13, 16, (16, 16), 3, 1),
        (7, 11, (5, 6), 1, 1),
        (6, 10, (8, 10), 3, 2),
    ];
    let mut kernels = vec![(ConvKernel::Direct, false), (ConvKernel::Direct, true)];
    for shape in [TileShape::LARGE, TileShape::SMALL] {
        if shape.check(ctx.limits()).is_ok() {
            kernels.push((ConvKernel::Tiled(shape), false));
        }
    }
    let mut worst = 0.0f64;
    for (seed, &(cin, cout, (h, w), k, stride)) in shapes.iter().enumerate() {
        for &(kernel, winograd) in &kernels {
            for batch in [1, 3] {
                let mut rng = Rng::new(100 + seed as u64);
                let layer = conv(&mut rng, cin, cout, k, stride, Padding::uniform(k / 2));
                let shape = [batch, cin, h, w];
                let x = rng.vec(batch * cin * h * w, 1.0);
                let (oh, ow) = layer.output_size(h, w).unwrap();
                let n_out = batch * cout * oh * ow;
                let temb = rng.vec(batch * cout, 1.0);
                let residual = rng.vec(n_out, 1.0);
                let opts = ConvOptions {
                    temb: Some(temb.clone()),
                    residual: Some((residual.clone(), 1.5)),
                    winograd,
                    kernel,
                    precision: Precision::F16,
                    ..ConvOptions::default()
                };
                let got = forward(&ctx, &layer, &x, shape, &opts).unwrap();
                let twin = |c: &ddpm_wgpu::nn::Conv2d, x: &[f32]| {
                    let a = Activation::new(x.iter().map(|&v| v as f64).collect(), shape);
                    cpu_conv::forward(c, &a.unwrap()).unwrap().data
                };
                let mut want = twin(&layer, &x);
                let absx: Vec<f32> = x.iter().map(|v| v.abs()).collect();
                let mut scale = twin(&abs_conv(&layer), &absx);
                let plane = oh * ow;
                for (i, (wv, sv)) in want.iter_mut().zip(scale.iter_mut()).enumerate() {
                    let (b, o) = (i / (cout * plane), i / plane % cout);
                    let t = f64::from(temb[b * cout + o]);
                    let r = f64::from(residual[i]);
                    *wv = (r + *wv + t) / 1.5;
                    *sv = (r.abs() + *sv + t.abs()) / 1.5;
                }
                let kt = (cin * k * k) as f64;
                let grow = if winograd && k == 3 && stride == 1 {
                    4.0
                } else {
                    1.0
                };
                let bound: Vec<f64> = scale
                    .iter()
                    .map(|s| grow * ((kt + 8.0) * U + (4.0 + 2.0 * (grow - 1.0)) * UH) * s)
                    .collect();
                let what = format!(
                    "f16 conv {cin}->{cout} {k}x{k} s{stride} {h}x{w} B={batch} {kernel:?} \
                     winograd {winograd}"
                );
                worst = worst.max(assert_within(&what, &got, &want, &bound));
            }
        }
    }
    println!("worst error / bound {worst:.3}");
}

/// Measured on lavapipe (2026-12-08), f16 storage against diffusers' f32 outputs over every
/// fixture at B = 1 and 3, direct and Winograd convs, both attention paths: worst absolute
/// error 4.5e-3, on outputs up to 2.2 in magnitude (0.4 on average), against 1.3e-6 for f32.
/// About 40 layers each round their output to 11 bits (2^-11 = 4.9e-4 relative) and the errors
/// add up through the residual stream. The budget, 1e-2 absolute plus 1e-2 relative, is a bit
/// over twice the worst measured and 1000 times f32's own (tests/unet_gpu.rs), so a kernel
/// that mixed up its storage type or lost a value still fails it.
const F16_ABS: f64 = 1e-2;
const F16_REL: f64 = 1e-2;

#[test]
fn every_fixture_in_f16_near_diffusers() {
    let Some(ctx) = f16_gpu() else { return };
    use ddpm_wgpu::gpu::nn::attention::AttentionKind::{Flash, Scores};
    let mut worst = 0.0f64;
    for name in FIXTURES {
        let (unet, big_t) = model(name);
        for (winograd, attention) in [(false, Scores), (true, Scores), (false, Flash)] {
            let opts = UNetOptions {
                winograd,
                attention: Some(attention),
                precision: Precision::F16,
                ..UNetOptions::default()
            };
            let den = UNetDenoiser::with_options(&ctx, &unet, big_t, opts).unwrap();
            assert_eq!(den.precision(), Precision::F16);
            for b in [1, 3] {
                let (xs, x, t, want) = inputs(name, b);
                let got = den.forward(&ctx, &x, &xs, &t).unwrap();
                let mut err_max = 0.0f64;
                for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
                    let err = (f64::from(g) - f64::from(w)).abs();
                    assert!(
                        err <= F16_ABS + F16_REL * f64::from(w).abs(),
                        "{name} B={b} winograd {winograd} {attention:?}: [{i}] f16 {g} \
                         diffusers {w}"
                    );
                    err_max = err_max.max(err);
                }
                assert_eq!(got.len(), want.len());
                println!("{name} B={b} winograd {winograd} {attention:?}: worst {err_max:.3e}");
                worst = worst.max(err_max);
            }
        }
    }
    println!("worst |f16 - diffusers| {worst:.3e}");
}
