//! shaders/nn/conv2d.wgsl against its f64 twin (src/cpu/nn/conv2d.rs) with every fused option
//! the UNet uses: 1x1 and 3x3, stride 1 and 2, both downsample paddings, the nearest 2x input
//! (Upsample2D), 2 x - 1 (center_input_sample), the per-sample time bias and the residual with
//! its output scale; sizes that are not multiples of the 8 x 8 tile or the 64-wide workgroup,
//! odd channel counts, batches of 1 and 3.
//!
//! Tolerance: the kernel sums K = C_in x k x k products in f32 (by fma, in a fixed order), so
//! each output is within gamma_K S <= K u S of the exact value, u = 2^-24 and S = sum |w x| +
//! |bias| (+ |temb| + |residual|, the last adds rounding once each): S is the same conv on |w|
//! and |x| by the twin. The twin's own f64 error is 2^-29 times smaller. The bound is (K + 3) u S.

mod common;

use common::nn::{abs_conv, assert_within, conv, Rng, U};
use ddpm_wgpu::cpu::nn::{conv2d as cpu_conv, upsample::nearest_2x, Activation};
use ddpm_wgpu::gpu::nn::conv2d_op::{forward, ConvOptions};
use ddpm_wgpu::nn::{Conv2d, Padding};

struct Case {
    cin: usize,
    cout: usize,
    hw: (usize, usize),
    k: usize,
    stride: usize,
    padding: Padding,
    upsample: bool,
    center: bool,
    temb: bool,
    residual: Option<f32>,
}

fn case(cin: usize, cout: usize, hw: (usize, usize), k: usize) -> Case {
    Case {
        cin,
        cout,
        hw,
        k,
        stride: 1,
        padding: Padding::uniform(k / 2),
        upsample: false,
        center: false,
        temb: false,
        residual: None,
    }
}

fn twin(c: &Conv2d, x: &[f32], shape: [usize; 4], up: bool, center: bool) -> Vec<f64> {
    let mut a = Activation::new(x.iter().map(|&v| v as f64).collect(), shape).unwrap();
    if center {
        a.data.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
    }
    if up {
        a = nearest_2x(&a).unwrap();
    }
    cpu_conv::forward(c, &a).unwrap().data
}

fn run(ctx: &ddpm_wgpu::gpu::Context, c: &Case, batch: usize, seed: u64, winograd: bool) -> f64 {
    let mut rng = Rng::new(seed);
    let layer = conv(&mut rng, c.cin, c.cout, c.k, c.stride, c.padding);
    let (h, w) = c.hw;
    let shape = [batch, c.cin, h, w];
    let x = rng.vec(batch * c.cin * h * w, 1.0);
    let up = if c.upsample { 2 } else { 1 };
    let (oh, ow) = layer.output_size(h * up, w * up).unwrap();
    let plane = oh * ow;
    let n_out = batch * c.cout * plane;
    let temb = c.temb.then(|| rng.vec(batch * c.cout, 1.0));
    let residual = c.residual.map(|s| (rng.vec(n_out, 1.0), s));
    let opts = ConvOptions {
        upsample: c.upsample,
        center: c.center,
        temb: temb.clone(),
        residual: residual.clone(),
        winograd,
        ..ConvOptions::default()
    };
    let got = forward(ctx, &layer, &x, shape, &opts).unwrap();
    let mut want = twin(&layer, &x, shape, c.upsample, c.center);
    let absx: Vec<f32> = x
        .iter()
        .map(|&v| {
            if c.center {
                (2.0 * v - 1.0).abs()
            } else {
                v.abs()
            }
        })
        .collect();
    let mut scale = twin(&abs_conv(&layer), &absx, shape, c.upsample, false);
    for (i, (wv, sv)) in want.iter_mut().zip(scale.iter_mut()).enumerate() {
        let (b, o) = (i / (c.cout * plane), i / plane % c.cout);
        if let Some(t) = &temb {
            *wv += t[b * c.cout + o] as f64;
            *sv += t[b * c.cout + o].abs() as f64;
        }
        if let Some((r, s)) = &residual {
            *wv = (r[i] as f64 + *wv) / *s as f64;
            *sv = (r[i].abs() as f64 + *sv) / *s as f64;
        }
    }
    let k_terms = (c.cin * c.k * c.k) as f64;
    // Winograd (3x3 stride 1) sums C_in products of transformed values, each from 4 to 9 of
    // the inputs and the weights by sums and halvings: its error is within the direct sum's
    // bound times the transforms' growth, at most |A^T| |G| |B^T| = 4 per input and weight
    // element (their sums of absolute values per row); bound it by 4 (K + 8) u S.
    let growth = if winograd && c.k == 3 && c.stride == 1 {
        4.0
    } else {
        1.0
    };
    let bound: Vec<f64> = scale
        .iter()
        .map(|s| growth * (k_terms + 3.0 + 5.0 * (growth - 1.0) / 3.0) * U * s)
        .collect();
    let what = format!(
        "conv {}->{} {}x{} s{} pad {:?} up {} center {} temb {} res {:?} on {:?} winograd {}",
        c.cin,
        c.cout,
        c.k,
        c.k,
        c.stride,
        c.padding,
        c.upsample,
        c.center,
        c.temb,
        c.residual,
        shape,
        winograd && growth > 1.0
    );
    assert_within(&what, &got, &want, &bound)
}

/// Both weight paths: shared across subgroups of 8 where the device has them (lavapipe), and
/// loaded by every lane (any device; here the same adapter without subgroups).
#[test]
fn conv2d_matches_twin() {
    let Some(ctx) = common::gpu() else { return };
    let Some(portable) = common::gpu_without_subgroups() else {
        return;
    };
    println!("subgroup size {:?}", ctx.subgroup_size());
    for ctx in [&ctx, &portable] {
        conv2d_cases(ctx);
    }
}

fn conv2d_cases(ctx: &ddpm_wgpu::gpu::Context) {
    let pad0 = Padding {
        top: 0,
        bottom: 1,
        left: 0,
        right: 1,
    };
    let cases = [
        case(3, 5, (7, 9), 3),
        case(13, 16, (16, 16), 3),
        case(8, 21, (5, 17), 3),
        // Rows of 4 and 8 tiles (the subgroup kernel's halo by lane shuffles), and of 9
        // (edge values loaded); up to 4 tiles a row put whole rows in a subgroup (input rows
        // shared by shuffles), with subgroups that straddle two samples at 5 x 32 (and 6 x 4
        // below) in the batch of 3.
        case(5, 7, (6, 32), 3),
        case(4, 6, (5, 32), 3),
        case(3, 5, (3, 64), 3),
        case(2, 3, (2, 72), 3),
        case(7, 11, (5, 6), 1),
        case(16, 9, (1, 1), 1),
        Case {
            stride: 2,
            padding: pad0,
            ..case(6, 10, (8, 10), 3)
        },
        Case {
            stride: 2,
            padding: Padding::uniform(1),
            ..case(5, 7, (9, 7), 3)
        },
        Case {
            stride: 2,
            padding: pad0,
            ..case(4, 4, (2, 2), 3)
        },
        Case {
            upsample: true,
            ..case(6, 9, (3, 5), 3)
        },
        // Upsampled rows from aligned source rows (vec4 loads): 8, 32 and 80 columns after
        // the 2x, so 1 and 4 tiles a row (edge values and rows by shuffles) and 10 (loaded).
        Case {
            upsample: true,
            ..case(4, 6, (3, 4), 3)
        },
        Case {
            upsample: true,
            ..case(3, 5, (5, 16), 3)
        },
        Case {
            upsample: true,
            ..case(2, 3, (2, 40), 3)
        },
        Case {
            center: true,
            ..case(3, 8, (8, 8), 3)
        },
        Case {
            temb: true,
            ..case(5, 12, (6, 4), 3)
        },
        Case {
            residual: Some(1.0),
            ..case(9, 9, (4, 12), 3)
        },
        Case {
            residual: Some(2.0),
            ..case(10, 6, (3, 3), 1)
        },
    ];
    let mut seed = 1;
    for c in &cases {
        for batch in [1, 3] {
            seed += 1;
            for winograd in [false, true] {
                run(ctx, c, batch, seed, winograd);
            }
        }
    }
}

#[test]
fn conv2d_refuses_what_it_cannot_run() {
    let Some(ctx) = common::gpu() else { return };
    let mut rng = Rng::new(3);
    let c5 = conv(&mut rng, 2, 2, 5, 1, Padding::uniform(2));
    let e = forward(&ctx, &c5, &[0.0; 8], [1, 2, 2, 2], &ConvOptions::default());
    assert!(
        matches!(e, Err(ddpm_wgpu::Error::UnsupportedModel(_))),
        "{e:?}"
    );
    let c3 = conv(&mut rng, 2, 2, 3, 1, Padding::uniform(1));
    let e = forward(&ctx, &c3, &[0.0; 8], [1, 3, 2, 2], &ConvOptions::default());
    assert!(
        matches!(e, Err(ddpm_wgpu::Error::ShapeMismatch(_))),
        "{e:?}"
    );
}
