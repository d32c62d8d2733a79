//! Classifier-free guidance in an application that owns its wgpu device: the class-conditional
//! digits model embedded in the crate (`embedded:digits-cond`) draws the digits the application
//! asks for, guided at a scale it picks, with DPM-Solver++ 2M, and the result is written as a
//! PNG grid with one column per class.
//!
//! The guidance is an option of the denoiser (`UNetDenoiser::set_guidance`), so any sampler of
//! the library runs guided: each step is one forward of 2B samples (the labels, then the null
//! class), combined on the device as u + w (c - u).
//!
//! `cargo run --release --example guided_digits -- [SCALE] [ROWS] [STEPS] [OUT.png]`
//! (defaults: 2, 2, 10, guided_digits.png: two rows of the digits 0-9).

use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions};
use ddpm_wgpu::gpu::{Context, UNetDenoiser};
use ddpm_wgpu::nn::{Guidance, ModelFolder};
use ddpm_wgpu::sampler::{DpmSolver, DpmSolverOptions};
use ddpm_wgpu::spacing::{multistep_timesteps, Spacing};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};
use std::path::PathBuf;

/// DPM-Solver++ 2M over `steps` linspace timesteps (diffusers' default spacing, from t = 999) of the digits models' schedule (linear betas
/// 1e-4 to 0.02 over 1000 steps), without clipping, as diffusers' scheduler runs by default.
pub fn sampler(steps: usize) -> Result<DpmSolver, Box<dyn std::error::Error>> {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
    let kept = multistep_timesteps(1000, steps, &Spacing::Linspace)?;
    let model = ModelOptions {
        clip_denoised: false,
        ..ModelOptions::default()
    };
    Ok(DpmSolver::new(
        Chain::respaced(&tables, &kept)?,
        model,
        None,
        DpmSolverOptions::default(),
    )?)
}

/// Draw `labels.len()` digits, sample i of class `labels[i]`, at guidance scale `scale` in
/// `steps` steps on the application's own device; returns the samples' shape and values in
/// [-1, 1].
pub fn run(
    labels: &[u32],
    scale: f64,
    steps: usize,
) -> Result<(Vec<usize>, Vec<f32>), Box<dyn std::error::Error>> {
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

    let unet = ModelFolder::embedded_digits_cond()?.unet()?;
    let mut denoiser = UNetDenoiser::new(&ctx, &unet, 1000)?;
    // Rows 0-9 are the digits, row 10 the null class the model learned without a label.
    let null_class = 10;
    let guidance = Guidance {
        scale,
        rescale: None,
    };
    denoiser.set_guidance(Some(guidance), null_class)?;
    let shape = vec![labels.len(), 1, 16, 16];
    let opts = LoopOptions {
        seed: 7,
        class_labels: Some(labels.to_vec()),
        ..LoopOptions::default()
    };
    let sampler = sampler(steps)?;
    let samples = sample_loop(&ctx, &sampler, &mut denoiser, &shape, &opts, &mut |_, _| {})?;
    Ok((shape, samples.x0))
}

#[allow(dead_code)] // the tests include this file and call `run`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale = args.first().map_or(Ok(2.0), |s| s.parse())?;
    let rows: u32 = args.get(1).map_or(Ok(2), |s| s.parse())?;
    let steps = args.get(2).map_or(Ok(10), |s| s.parse())?;
    let out = PathBuf::from(args.get(3).map_or("guided_digits.png", String::as_str));
    let labels: Vec<u32> = (0..rows * 10).map(|i| i % 10).collect();
    let (shape, x) = run(&labels, scale, steps)?;
    let tiles: Vec<&[f32]> = x.chunks(16 * 16).collect();
    let grid = ddpm_wgpu::picture::grid(&tiles, &shape[1..], 10)?;
    ddpm_wgpu::picture::save_png(&grid, &out)?;
    println!(
        "{} digits at guidance {scale} in {steps} DPM-Solver++ 2M steps -> {}",
        labels.len(),
        out.display()
    );
    Ok(())
}
