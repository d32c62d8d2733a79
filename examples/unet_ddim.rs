//! An application that owns its wgpu device, loads a diffusers UNet2DModel folder
//! (config.json + diffusion_pytorch_model.safetensors [+ scheduler_config.json], or a pipeline
//! folder) and samples a few images with `UNetDenoiser` and the DDIM sampler, writing them as
//! float32 .npy [B, C, H, W] in the model's space.
//!
//! `cargo run --release --example unet_ddim -- [MODEL_DIR] [OUT.npy] [COUNT] [STEPS]`
//! (defaults: the committed fixture tests/fixtures/unet/cifar10_tiny, unet_ddim.npy, 2, 10).

use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions};
use ddpm_wgpu::gpu::{Context, UNetDenoiser};
use ddpm_wgpu::nn::ModelFolder;
use ddpm_wgpu::sampler::{Ddim, DdimOptions};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};
use std::path::{Path, PathBuf};

/// Sample `count` images in `steps` DDIM steps (eta 0, leading spacing) from the model in
/// `dir` on the application's own device; returns the samples' shape and values.
pub fn run(
    dir: &Path,
    count: usize,
    steps: usize,
) -> Result<(Vec<usize>, Vec<f32>), Box<dyn std::error::Error>> {
    // The application's device, with the adapter's limits and its subgroups if it has them
    // (the UNet's convs use them where the subgroup size is 8).
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("my app"),
        required_limits: adapter.limits(),
        required_features: adapter.features() & wgpu::Features::SUBGROUP,
        ..Default::default()
    }))?;
    let ctx = Context::from_device(device, queue);

    let folder = ModelFolder::open(dir)?;
    let unet = folder.unet()?;
    // The schedule the model was trained with, from its scheduler config (diffusers' names).
    let (big_t, kind, b0, b1) = match &folder.scheduler {
        Some(s) => {
            let kind = match s.beta_schedule.as_str() {
                "linear" => ScheduleKind::Linear,
                "scaled_linear" => ScheduleKind::Quad,
                "squaredcos_cap_v2" => ScheduleKind::Cosine,
                other => return Err(format!("beta_schedule {other} is not mapped here").into()),
            };
            (s.num_train_timesteps, kind, s.beta_start, s.beta_end)
        }
        None => (1000, ScheduleKind::Linear, 1e-4, 0.02),
    };
    let tables = Tables::from_schedule(kind, b0, b1, big_t)?;
    let kept = timesteps(big_t, steps, &Spacing::Leading { steps_offset: 0 })?;
    let sampler = Ddim::new(
        Chain::respaced(&tables, &kept)?,
        ModelOptions::default(),
        None,
        DdimOptions::default(),
    )?;
    let (h, w) = unet.config.sample_size.unwrap_or((32, 32));
    let shape = vec![count, unet.config.in_channels, h, w];
    let mut denoiser = UNetDenoiser::new(&ctx, &unet, big_t)?;
    let opts = LoopOptions {
        seed: 7,
        ..LoopOptions::default()
    };
    let samples = sample_loop(&ctx, &sampler, &mut denoiser, &shape, &opts, &mut |_, _| {})?;
    Ok((shape, samples.x0))
}

#[allow(dead_code)] // the tests include this file and call `run`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unet/cifar10_tiny")
    });
    let out = PathBuf::from(args.get(1).map_or("unet_ddim.npy", String::as_str));
    let count = args.get(2).map_or(Ok(2), |s| s.parse())?;
    let steps = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let (shape, x) = run(&dir, count, steps)?;
    ddpm_wgpu::npy::write_f32(&out, &shape, &x)?;
    println!(
        "{count} samples {shape:?} in {steps} DDIM steps -> {}",
        out.display()
    );
    Ok(())
}
