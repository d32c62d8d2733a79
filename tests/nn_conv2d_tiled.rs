//! shaders/nn/conv2d_tiled.wgsl, the workgroup-tiled implicit-GEMM conv, against the f64 twin
//! (src/cpu/nn/conv2d.rs, the direct kernel's: a conv is a conv), both tile shapes forced:
//! 3x3 at stride 1 and at stride 2 with both of diffusers' downsample paddings, 1x1, the fused
//! Upsample2D, center_input_sample, time bias and residual with its output scale; odd channel
//! counts, non-square inputs, batches of 1 and 3, and sizes that are multiples of neither tile
//! (M = out channels past 128 and 32, N = batch x pixels past 128 and 64, K = in channels x taps
//! not a multiple of 16). Then the whole UNet with the variant forced on the committed fixtures,
//! the device limits' check, and `ddpm bench --conv`. On GL only the small shape, and the UNet
//! on two fixtures (`shapes_on`: llvmpipe's GL compiles each tiled pipeline for minutes).
//!
//! Tolerance: the kernel sums K = C_in x k x k products in f32 by fma, each output one chain
//! along K (BK at a time through workgroup memory), so each output is within gamma_K S <= K u S
//! of the exact value, u = 2^-24 and S = sum |w x| + |bias| (+ |temb| + |residual|, each adding
//! one rounding): S is the same conv on |w| and |x| by the twin, whose own f64 error is 2^-29
//! times smaller. The bound is (K + 3) u S, the direct kernel's (tests/nn_conv2d.rs), and holds
//! for any summation order. (Both tile shapes chain along K in the same order, so they give the
//! same bits: the tile shape decides who computes an output, not how.)

mod common;

use common::nn::{abs_conv, assert_within, conv, Rng, U};
use ddpm_wgpu::cpu::nn::{conv2d as cpu_conv, upsample::nearest_2x, Activation};
use ddpm_wgpu::gpu::nn::conv2d_op::{forward, ConvOptions};
use ddpm_wgpu::gpu::nn::conv2d_tiled::{ConvKernel, TileShape};
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

/// One case on `kernel`; returns the worst |gpu - twin| and its ratio to the bound.
fn run(
    ctx: &ddpm_wgpu::gpu::Context,
    c: &Case,
    batch: usize,
    seed: u64,
    kernel: ConvKernel,
) -> (f64, f64) {
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
        winograd: false,
        kernel,
        ..ConvOptions::default()
    };
    let got = forward(ctx, &layer, &x, shape, &opts).unwrap();
    let mut want = twin(&layer, &x, shape, c.upsample, c.center);
    let absx: Vec<f32> = x
        .iter()
        .map(|&v| if c.center { 2.0 * v - 1.0 } else { v }.abs())
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
    let bound: Vec<f64> = scale.iter().map(|s| (k_terms + 3.0) * U * s).collect();
    let what = format!(
        "{} conv {}->{} {}x{} s{} pad {:?} up {} center {} temb {} res {:?} on {:?}",
        kernel.name(),
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
    );
    let ratio = assert_within(&what, &got, &want, &bound);
    let worst = got
        .iter()
        .zip(&want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .fold(0.0, f64::max);
    (worst, ratio)
}

/// diffusers' Downsample2D with downsample_padding 0: the input padded by (0, 1, 0, 1).
const PAD0: Padding = Padding {
    top: 0,
    bottom: 1,
    left: 0,
    right: 1,
};

fn cases() -> Vec<Case> {
    vec![
        case(3, 5, (7, 5), 3),
        case(12, 7, (5, 7), 3),
        // M past one large tile (128) and several small ones (32), N past 128 and 64.
        case(5, 130, (9, 11), 3),
        case(40, 33, (6, 13), 3),
        case(7, 11, (5, 6), 1),
        case(33, 9, (1, 1), 1),
        Case {
            stride: 2,
            padding: PAD0,
            ..case(6, 10, (8, 10), 3)
        },
        Case {
            stride: 2,
            padding: Padding::uniform(1),
            ..case(5, 7, (9, 7), 3)
        },
        Case {
            stride: 2,
            padding: PAD0,
            ..case(4, 4, (2, 2), 3)
        },
        Case {
            upsample: true,
            ..case(6, 9, (3, 5), 3)
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
            temb: true,
            ..case(10, 6, (3, 3), 1)
        },
    ]
}

/// The tile shapes to test on `ctx`: both, but on GL only the small one. llvmpipe's GL compiles
/// each tiled pipeline for one to two minutes with a cold shader cache (over 15 minutes for
/// this file's pipelines, most of CI's time); the shapes differ only in pipeline constants,
/// which the Vulkan run covers, and the small shape takes GL's translation through every
/// option the cases set.
pub fn shapes_on(ctx: &ddpm_wgpu::gpu::Context) -> Vec<TileShape> {
    match ctx.adapter_info().backend {
        wgpu::Backend::Gl => vec![TileShape::SMALL],
        _ => vec![TileShape::LARGE, TileShape::SMALL],
    }
}

#[test]
fn tiled_conv_matches_twin_with_both_shapes() {
    let Some(ctx) = common::gpu() else { return };
    let mut worst = (0.0f64, 0.0f64);
    for shape in shapes_on(&ctx) {
        let mut seed = 100;
        for c in &cases() {
            for batch in [1, 3] {
                seed += 1;
                let (e, r) = run(&ctx, c, batch, seed, ConvKernel::Tiled(shape));
                worst = (worst.0.max(e), worst.1.max(r));
            }
        }
    }
    println!(
        "tiled conv: worst |gpu - twin| {:.3e}, worst share of the bound {:.3}",
        worst.0, worst.1
    );
}

/// Winograd chosen with the tiled kernel: Winograd's products stay on the direct kernel (the
/// tiled one cannot run them), so the conv still runs, within Winograd's bound
/// (tests/nn_conv2d.rs: 4 (K + 8) u S), and a 1x1 beside it runs tiled.
#[test]
fn winograd_products_fall_back_to_the_direct_kernel() {
    let Some(ctx) = common::gpu() else { return };
    let mut rng = Rng::new(7);
    let layer = conv(&mut rng, 6, 9, 3, 1, Padding::uniform(1));
    let shape = [2, 6, 6, 5];
    let x = rng.vec(2 * 6 * 6 * 5, 1.0);
    let opts = ConvOptions {
        winograd: true,
        kernel: ConvKernel::Tiled(TileShape::SMALL),
        ..ConvOptions::default()
    };
    let got = forward(&ctx, &layer, &x, shape, &opts).unwrap();
    let want = twin(&layer, &x, shape, false, false);
    let absx: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let scale = twin(&abs_conv(&layer), &absx, shape, false, false);
    let bound: Vec<f64> = scale.iter().map(|s| 4.0 * (54.0 + 8.0) * U * s).collect();
    assert_within("winograd with the tiled kernel", &got, &want, &bound);
}

/// A device with wgpu's default 16 KiB of workgroup memory cannot run the large tile shape
/// (16.9 KB): uploading a conv for it is refused with a typed error before any pipeline is
/// made, and the small shape (6.5 KB) runs there.
#[test]
fn a_tile_shape_past_the_device_limits_is_refused() {
    let Some(ctx) = common::gpu_with_limits("16 KiB workgroups", |l| wgpu::Limits {
        max_compute_workgroup_storage_size: 16384,
        ..l
    }) else {
        return;
    };
    let mut rng = Rng::new(9);
    let layer = conv(&mut rng, 3, 5, 3, 1, Padding::uniform(1));
    let x = rng.vec(3 * 4 * 4, 1.0);
    let large = ConvOptions {
        kernel: ConvKernel::Tiled(TileShape::LARGE),
        ..ConvOptions::default()
    };
    let e = forward(&ctx, &layer, &x, [1, 3, 4, 4], &large);
    assert!(
        matches!(&e, Err(ddpm_wgpu::Error::Unsupported(m)) if m.contains("workgroup memory")),
        "{e:?}"
    );
    let small = ConvOptions {
        kernel: ConvKernel::Tiled(TileShape::SMALL),
        ..ConvOptions::default()
    };
    run(&ctx, &case(3, 5, (4, 4), 3), 1, 9, small.kernel);
}

#[test]
fn kernel_names_parse_and_unknown_ones_are_refused() {
    for name in ConvKernel::NAMES {
        assert_eq!(ConvKernel::from_name(name).unwrap().name(), name);
    }
    assert!(matches!(
        ConvKernel::from_name("conv2d_tiled_huge"),
        Err(ddpm_wgpu::Error::Unsupported(_))
    ));
    assert_eq!(ConvKernel::default(), ConvKernel::Direct);
}

#[path = "nn_conv2d_tiled/unet.rs"]
mod unet;
