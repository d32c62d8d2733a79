//! Classifier-free guidance in the sampling loop on the class-conditional fixture
//! (tests/fixtures/class_cond/): `UNetDenoiser::set_guidance` (one forward of 2B, the loop's
//! x_t and timesteps copied into both halves, the combination kernel after) against the twin's
//! `UNetCpu::with_guidance`, with and without the rescale, whole and chunked; scale 1 is the
//! labelled pass alone and scale 0 the null class alone, bit for bit on the device.

mod common;

use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::nn::UNetCpu;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions};
use ddpm_wgpu::gpu::UNetDenoiser;
use ddpm_wgpu::nn::{Guidance, ModelFolder, UNet2D};
use ddpm_wgpu::sampler::{Ddim, DdimOptions};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};
use std::path::Path;

fn model() -> UNet2D {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/class_cond/embedding");
    ModelFolder::open(dir).unwrap().unet().unwrap()
}

fn ddim() -> Ddim {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let leading = Spacing::Leading { steps_offset: 0 };
    let chain = Chain::respaced(&tables, &timesteps(1000, 4, &leading).unwrap()).unwrap();
    Ddim::new(chain, ModelOptions::default(), None, DdimOptions::default()).unwrap()
}

fn guide(scale: f64, rescale: Option<f64>) -> Option<Guidance> {
    Some(Guidance { scale, rescale })
}

/// DDIM-4, labels 0, 6 and 3 (null class 10). The device's f32 UNet and steps against the
/// twin's f64 over four steps of a guided output that amplifies the two passes' difference w
/// times: within 1e-4 of the largest value at w <= 3, as the unguided loops (tests/cli_class.rs
/// measures ~1e-5 there).
#[test]
fn guided_loops_match_the_twin() {
    let Some(ctx) = common::gpu() else { return };
    let m = model();
    let sampler = ddim();
    let shape = [3, 3, 8, 8];
    let labels = vec![0, 6, 3];
    let mut den = UNetDenoiser::new(&ctx, &m, 1000).unwrap();
    let opts = |chunk: Option<usize>| LoopOptions {
        seed: 9,
        class_labels: Some(labels.clone()),
        max_chunk_samples: chunk,
        ..LoopOptions::default()
    };
    let null_opts = LoopOptions {
        class_labels: Some(vec![10; 3]),
        ..opts(None)
    };
    let mut run = |g: Option<Guidance>, o: &LoopOptions| {
        den.set_guidance(g, 10).unwrap();
        sample_loop(&ctx, &sampler, &mut den, &shape, o, &mut |_, _| {})
            .unwrap()
            .x0
    };
    let plain = run(None, &opts(None));
    let nulls = run(None, &null_opts);
    let one = run(guide(1.0, None), &opts(None));
    assert_eq!(one, plain, "scale 1: the labelled pass");
    let zero = run(guide(0.0, None), &opts(None));
    assert_eq!(zero, nulls, "scale 0: the null class");
    for g in [guide(3.0, None), guide(2.0, Some(0.7))] {
        let whole = run(g, &opts(None));
        assert_eq!(run(g, &opts(Some(2))), whole, "{g:?}: chunks of 2");
        assert_ne!(whole, plain);
        let twin = UNetCpu::new(&m, 8, 8)
            .unwrap()
            .with_guidance(g, 10)
            .unwrap();
        let cpu = ddpm_wgpu::cpu::sampling::sample_loop::sample_loop(
            &sampler,
            &twin,
            3,
            192,
            &opts(None),
        )
        .unwrap();
        let scale = cpu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = whole
            .iter()
            .zip(&cpu)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "{g:?}: GPU against twin {:.2e} of the largest value",
            worst / scale
        );
        assert!(worst <= 1e-4 * scale, "{g:?}: {worst:.3e} of {scale}");
    }
}

#[test]
fn guidance_settings_are_checked() {
    let Some(ctx) = common::gpu() else { return };
    let m = model();
    let mut den = UNetDenoiser::new(&ctx, &m, 1000).unwrap();
    assert!(den.set_guidance(guide(-1.0, None), 10).is_err());
    assert!(den.set_guidance(guide(f64::INFINITY, None), 10).is_err());
    assert!(den.set_guidance(guide(2.0, Some(1.5)), 10).is_err());
    assert!(den.set_guidance(guide(2.0, None), 11).is_err());
    let (plain, _) = common::unet::model("attn_two_levels_heads");
    let mut plain = UNetDenoiser::new(&ctx, &plain, 1000).unwrap();
    assert!(plain.set_guidance(guide(2.0, None), 0).is_err());
    assert!(UNetCpu::new(&m, 8, 8)
        .unwrap()
        .with_guidance(guide(2.0, None), 11)
        .is_err());
}
