//! `UNetDenoiser` inside the sampling loop: DDPM (respaced) and DDIM (eta 0 and 1) for a few
//! steps against the f64 CPU loop with the twin (`UNetCpu`) and the same Philox noise, the
//! learned-variance split (model_var read, or dropped under a fixed-variance sampler), chunked
//! batches and sub-batches giving the bits of one batch, and bad shapes as typed errors.

mod common;

use common::unet::model;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::nn::UNetCpu;
use ddpm_wgpu::cpu::sampling::sample_loop as cpu_loop;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions};
use ddpm_wgpu::gpu::{Context, UNetDenoiser};
use ddpm_wgpu::nn::UNet2D;
use ddpm_wgpu::sampler::{Ddim, DdimOptions, Ddpm, Sampler};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{Error, ModelOptions, ScheduleKind, Tables, VarType};

/// The fixtures' DDPMScheduler: linear betas 1e-4 .. 0.02 over T = 1000.
fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

fn chain(steps: usize) -> Chain {
    let kept = timesteps(1000, steps, &Spacing::Leading { steps_offset: 0 }).unwrap();
    Chain::respaced(&tables(), &kept).unwrap()
}

fn opts(seed: u64) -> LoopOptions {
    LoopOptions {
        seed,
        steps_per_submit: 2,
        ..LoopOptions::default()
    }
}

fn gpu_run(
    ctx: &Context,
    unet: &UNet2D,
    sampler: &dyn Sampler,
    shape: &[usize],
    opts: &LoopOptions,
    sub_batch: Option<usize>,
) -> Vec<f32> {
    let mut den = UNetDenoiser::new(ctx, unet, 1000).unwrap();
    den.set_max_sub_batch(sub_batch);
    sample_loop(ctx, sampler, &mut den, shape, opts, &mut |_, _| {})
        .unwrap()
        .x0
}

fn cpu_run(unet: &UNet2D, sampler: &dyn Sampler, shape: &[usize], opts: &LoopOptions) -> Vec<f64> {
    let den = UNetCpu::new(unet, shape[2], shape[3]).unwrap();
    let len = shape[1..].iter().product();
    cpu_loop::sample_loop(sampler, &den, shape[0], len, opts).unwrap()
}

/// The largest |gpu - cpu| over the samples, printed.
fn worst(what: &str, gpu: &[f32], cpu: &[f64]) -> f64 {
    assert_eq!(gpu.len(), cpu.len(), "{what}: length");
    let w = gpu
        .iter()
        .zip(cpu)
        .map(|(&g, &c)| (g as f64 - c).abs())
        .fold(0.0, f64::max);
    println!("{what}: worst |gpu - cpu| {w:.3e}");
    w
}

/// Each step feeds the UNet's output (within ~1e-6 of the twin, tests/unet_gpu.rs) through the
/// step's coefficients: DDIM's x_0 from eps multiplies an eps error by sqrt(1 / abar_t - 1),
/// 25.7 at the first step (t = 800 of 5 leading steps on this schedule), and each next model
/// call reads the perturbed x. Measured here: 1.5e-5 (DDIM, eta 0), 3.8e-6 (eta 1), 5-6e-6
/// (DDPM); the bound is 2e-4, an order above the worst.
const LOOP_TOL: f64 = 2e-4;

#[test]
fn ddim_and_ddpm_loops_match_the_cpu_loop() {
    let Some(ctx) = common::gpu() else { return };
    let (unet, _) = model("cifar10_tiny");
    let shape = [3, 3, 16, 16];
    let m = ModelOptions::default();
    for eta in [0.0, 1.0] {
        let ddim = DdimOptions {
            eta,
            ..DdimOptions::default()
        };
        let sampler = Ddim::new(chain(5), m, None, ddim).unwrap();
        let g = gpu_run(&ctx, &unet, &sampler, &shape, &opts(5), None);
        let c = cpu_run(&unet, &sampler, &shape, &opts(5));
        assert!(worst(&format!("ddim eta {eta}"), &g, &c) < LOOP_TOL);
    }
    let sampler = Ddpm::new(chain(4), m, None).unwrap();
    let g = gpu_run(&ctx, &unet, &sampler, &shape, &opts(9), None);
    let c = cpu_run(&unet, &sampler, &shape, &opts(9));
    assert!(worst("ddpm respaced to 4", &g, &c) < LOOP_TOL);
}

#[test]
fn learned_variance_is_split_or_dropped() {
    let Some(ctx) = common::gpu() else { return };
    // 3 channels in, 6 out: the second half is the variance output.
    let (unet, _) = model("no_attn_center_learned");
    let shape = [3, 3, 8, 8];
    for var_type in [VarType::LearnedRange, VarType::FixedSmall] {
        let m = ModelOptions {
            var_type,
            ..ModelOptions::default()
        };
        let sampler = Ddpm::new(chain(3), m, None).unwrap();
        let g = gpu_run(&ctx, &unet, &sampler, &shape, &opts(2), None);
        let c = cpu_run(&unet, &sampler, &shape, &opts(2));
        assert!(worst(&format!("ddpm {var_type}"), &g, &c) < LOOP_TOL);
    }
    // A learned variance from a model that has none is refused.
    let (plain, _) = model("cifar10_tiny");
    let m = ModelOptions {
        var_type: VarType::Learned,
        ..ModelOptions::default()
    };
    let sampler = Ddpm::new(chain(2), m, None).unwrap();
    let mut den = UNetDenoiser::new(&ctx, &plain, 1000).unwrap();
    let e = sample_loop(
        &ctx,
        &sampler,
        &mut den,
        &[1, 3, 16, 16],
        &opts(1),
        &mut |_, _| {},
    );
    assert!(matches!(e, Err(Error::Unsupported(_))), "{e:?}");
}

#[test]
fn chunks_and_sub_batches_give_the_bits_of_one_batch() {
    let Some(ctx) = common::gpu() else { return };
    let (unet, _) = model("attn_two_levels_heads");
    let shape = [5, 3, 8, 8];
    let sampler = Ddim::new(
        chain(3),
        ModelOptions::default(),
        None,
        DdimOptions::default(),
    )
    .unwrap();
    let whole = gpu_run(&ctx, &unet, &sampler, &shape, &opts(4), None);
    let chunked = LoopOptions {
        max_chunk_samples: Some(2),
        ..opts(4)
    };
    assert_eq!(
        gpu_run(&ctx, &unet, &sampler, &shape, &chunked, None),
        whole
    );
    assert_eq!(
        gpu_run(&ctx, &unet, &sampler, &shape, &opts(4), Some(2)),
        whole,
        "sub-batches of 2"
    );
    let mut den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
    den.set_max_sub_batch(Some(2));
    sample_loop(&ctx, &sampler, &mut den, &shape, &opts(4), &mut |_, _| {}).unwrap();
    assert_eq!(den.sub_batch(), 2);
}

/// A device whose storage bindings hold 64 KiB: the attention's scores of attn_two_levels_heads
/// at 8x8 are 32 KiB a sample (2 heads x 64 x 64 x 4 bytes), so the UNet runs in sub-batches
/// of 2, with the bits of the unlimited device; at 16 KiB not even one sample fits, a typed
/// error naming the activation (and before it, the time table of T = 1000, by name).
#[test]
fn activations_past_a_binding_run_as_sub_batches() {
    let Some(ctx) = common::gpu() else { return };
    let Some(small) = common::gpu_with_binding_limit(64 << 10) else {
        return;
    };
    let (unet, _) = model("attn_two_levels_heads");
    let shape = [5, 3, 8, 8];
    let sampler = Ddim::new(
        chain(2),
        ModelOptions::default(),
        None,
        DdimOptions::default(),
    )
    .unwrap();
    let whole = gpu_run(&ctx, &unet, &sampler, &shape, &opts(6), None);
    let mut den = UNetDenoiser::new(&small, &unet, 1000).unwrap();
    let got = sample_loop(&small, &sampler, &mut den, &shape, &opts(6), &mut |_, _| {})
        .unwrap()
        .x0;
    assert_eq!(den.sub_batch(), 2);
    assert_eq!(got, whole);
    // At 16 KiB the sinusoid table of T = 1000 (32 KB) is refused by name; with T = 100 the
    // weights fit and the scores do not.
    let Some(tiny) = common::gpu_with_binding_limit(16 << 10) else {
        return;
    };
    match UNetDenoiser::new(&tiny, &unet, 1000) {
        Err(Error::BufferTooLarge { what, .. }) => assert!(what.contains("table"), "{what}"),
        other => panic!("{other:?}"),
    }
    let t100 = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 100).unwrap();
    let short = Ddim::new(
        Chain::respaced(&t100, &[0, 50]).unwrap(),
        ModelOptions::default(),
        None,
        DdimOptions::default(),
    )
    .unwrap();
    let mut den = UNetDenoiser::new(&tiny, &unet, 100).unwrap();
    let e = sample_loop(&tiny, &short, &mut den, &shape, &opts(6), &mut |_, _| {});
    match e {
        Err(Error::BufferTooLarge { what, .. }) => assert!(what.contains("scores"), "{what}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_shapes_are_typed_errors() {
    let Some(ctx) = common::gpu() else { return };
    let (unet, _) = model("attn_two_levels_heads"); // 3 channels, one downsampler
    let sampler = Ddim::new(
        chain(2),
        ModelOptions::default(),
        None,
        DdimOptions::default(),
    )
    .unwrap();
    let mut den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
    for shape in [&[1, 1, 8, 8][..], &[1, 3, 7, 8], &[1, 3, 8], &[2, 3, 8, 5]] {
        let e = sample_loop(&ctx, &sampler, &mut den, shape, &opts(1), &mut |_, _| {});
        assert!(
            matches!(e, Err(Error::ShapeMismatch(_))),
            "{shape:?}: {e:?}"
        );
    }
    // One forward: wrong channels, wrong t count, t past T.
    let x = vec![0.0; 3 * 64];
    assert!(matches!(
        den.forward(&ctx, &x, &[1, 1, 8, 24], &[0]),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        den.forward(&ctx, &x, &[1, 3, 8, 8], &[0, 1]),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        den.forward(&ctx, &x, &[1, 3, 8, 8], &[1000]),
        Err(Error::TimestepOutOfRange { .. })
    ));
    // A schedule longer than the time table.
    let long = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 2000).unwrap();
    let ddpm = Ddpm::new(
        Chain::respaced(&long, &[0, 1999]).unwrap(),
        ModelOptions::default(),
        None,
    )
    .unwrap();
    let e = sample_loop(
        &ctx,
        &ddpm,
        &mut den,
        &[1, 3, 8, 8],
        &opts(1),
        &mut |_, _| {},
    );
    assert!(matches!(e, Err(Error::Unsupported(_))), "{e:?}");
    // Output channels that make no denoiser.
    let config = ddpm_wgpu::nn::UNetConfig::from_json(
        r#"{"_class_name": "UNet2DModel", "in_channels": 3, "out_channels": 5, "norm_num_groups": 2,
            "attention_head_dim": null, "block_out_channels": [4],
            "down_block_types": ["DownBlock2D"], "up_block_types": ["UpBlock2D"]}"#,
        "config.json",
    )
    .unwrap();
    let odd = UNet2D::new(&config, &ddpm_wgpu::nn::Weights::synthetic(1).root()).unwrap();
    let e = UNetDenoiser::new(&ctx, &odd, 1000);
    assert!(matches!(e, Err(Error::UnsupportedModel(_))), "{e:?}");
}
