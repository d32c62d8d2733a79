//! examples/embed.rs, examples/unet_ddim.rs and examples/guided_digits.rs are built and run
//! here: an application-owned device with an application-written WGSL denoiser, with a UNet
//! model folder, and with the class-conditional embedded model guided, sampled through the
//! library.

mod common;

#[path = "../examples/embed.rs"]
#[allow(dead_code)]
mod embed;

#[test]
fn embed_example_samples_its_gaussian() {
    if common::gpu().is_none() {
        return;
    }
    let (mean, std) = embed::run().unwrap();
    // 2000 draws: the mean's standard error is 0.1 / sqrt(2000) = 0.0022; DDPM at T = 200 keeps
    // the spread within a few percent of s (fixedlarge).
    assert!((mean - 0.3).abs() < 0.012, "mean {mean}");
    assert!((std / 0.1 - 1.0).abs() < 0.12, "std {std}");
}

#[path = "../examples/unet_ddim.rs"]
#[allow(dead_code)]
mod unet_ddim;

/// The example on its own device against the f64 CPU loop with the twin, the same sampler and
/// noise: as tests/unet_loop.rs, within 2e-4 (a few DDIM steps amplify the UNet's ~1e-6 f32
/// rounding by up to sqrt(1 / abar - 1) per step).
#[test]
fn unet_ddim_example_samples_the_fixture() {
    use ddpm_wgpu::chain::Chain;
    use ddpm_wgpu::cpu::nn::UNetCpu;
    use ddpm_wgpu::gpu::sample_loop::LoopOptions;
    use ddpm_wgpu::sampler::{Ddim, DdimOptions};
    use ddpm_wgpu::spacing::{timesteps, Spacing};
    if common::gpu().is_none() {
        return;
    }
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unet/cifar10_tiny");
    let (shape, x) = unet_ddim::run(&dir, 2, 4).unwrap();
    assert_eq!(shape, vec![2, 3, 16, 16]);
    let unet = ddpm_wgpu::nn::ModelFolder::open(&dir)
        .unwrap()
        .unet()
        .unwrap();
    let tables =
        ddpm_wgpu::Tables::from_schedule(ddpm_wgpu::ScheduleKind::Linear, 1e-4, 0.02, 1000)
            .unwrap();
    let kept = timesteps(1000, 4, &Spacing::Leading { steps_offset: 0 }).unwrap();
    let sampler = Ddim::new(
        Chain::respaced(&tables, &kept).unwrap(),
        ddpm_wgpu::ModelOptions::default(),
        None,
        DdimOptions::default(),
    )
    .unwrap();
    let den = UNetCpu::new(&unet, 16, 16).unwrap();
    let opts = LoopOptions {
        seed: 7,
        ..LoopOptions::default()
    };
    let cpu =
        ddpm_wgpu::cpu::sampling::sample_loop::sample_loop(&sampler, &den, 2, 3 * 16 * 16, &opts)
            .unwrap();
    let worst = x
        .iter()
        .zip(&cpu)
        .map(|(&g, &c)| (g as f64 - c).abs())
        .fold(0.0, f64::max);
    println!("unet_ddim example vs CPU loop: worst {worst:.3e}");
    assert!(worst < 2e-4, "{worst}");
}

#[path = "../examples/guided_digits.rs"]
#[allow(dead_code)]
mod guided_digits;

/// The guided example (embedded:digits-cond, guidance 3, DPM-Solver++ 2M) on its own device
/// against the f64 CPU loop with the twin guided the same way: within 1e-4 of the largest value,
/// the budget of the guided loops on the fixture (tests/guided_loop.rs: a guided output
/// amplifies the two passes' f32 difference w times). Labels 0 and 7 are not the null class, so
/// the guided samples differ from the unguided ones.
#[test]
fn guided_digits_example_matches_the_twin() {
    use ddpm_wgpu::cpu::nn::UNetCpu;
    use ddpm_wgpu::gpu::sample_loop::LoopOptions;
    use ddpm_wgpu::nn::Guidance;
    if common::gpu().is_none() {
        return;
    }
    let labels = [0, 7];
    let (shape, x) = guided_digits::run(&labels, 3.0, 3).unwrap();
    assert_eq!(shape, vec![2, 1, 16, 16]);
    let unet = ddpm_wgpu::nn::ModelFolder::embedded_digits_cond()
        .unwrap()
        .unet()
        .unwrap();
    let g = Guidance {
        scale: 3.0,
        rescale: None,
    };
    let opts = LoopOptions {
        seed: 7,
        class_labels: Some(labels.to_vec()),
        ..LoopOptions::default()
    };
    let sampler = guided_digits::sampler(3).unwrap();
    let twin_loop = |g: Option<Guidance>| {
        let den = UNetCpu::new(&unet, 16, 16)
            .unwrap()
            .with_guidance(g, 10)
            .unwrap();
        ddpm_wgpu::cpu::sampling::sample_loop::sample_loop(&sampler, &den, 2, 256, &opts).unwrap()
    };
    let cpu = twin_loop(Some(g));
    let scale = cpu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = x
        .iter()
        .zip(&cpu)
        .map(|(&g, &c)| (g as f64 - c).abs())
        .fold(0.0, f64::max);
    println!("guided_digits example vs CPU loop: worst {worst:.3e} of {scale:.3}");
    assert!(worst <= 1e-4 * scale, "{worst}");
    let unguided = twin_loop(None);
    let moved = unguided
        .iter()
        .zip(&cpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(moved > 0.05, "guidance moved the samples by only {moved}");
}
