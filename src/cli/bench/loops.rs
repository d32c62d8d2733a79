//! The sampling-loop rows of `ddpm bench`: steps/s, the overhead ratio against one step's
//! kernels, and device memory.

use super::LoopRow;
use ddpm_wgpu::cpu;
use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::runtime::timing::{median, TRIALS};
use ddpm_wgpu::gpu::sampling::sample_loop::{step_cost, LoopOptions};
use ddpm_wgpu::gpu::{self, Context, Denoiser};
use ddpm_wgpu::sampler::Sampler;
use std::time::Instant;

/// Loops shorter than this many seconds are timed [`TRIALS`] times, longer ones once (the
/// mixture at [128, 3, 32, 32] takes a minute on a software adapter).
const REPEAT_LOOPS_UNDER_S: f64 = 3.0;

/// Time the sampling loop of `shape` with `sampler` and `denoiser`: its step kernels alone,
/// then the whole loop, alternately. Each pair gives a ratio; the row keeps the medians, so a
/// slow patch of a noisy machine moves a pair, not the figure.
pub(super) fn loop_row(
    ctx: &Context,
    sampler: &dyn Sampler,
    name: &'static str,
    denoiser: &mut dyn Denoiser,
    shape: &[usize],
    opts: &LoopOptions,
) -> Result<LoopRow> {
    let steps = sampler.order().len();
    let (mut loops, mut kernels, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut loop_bytes, mut denoiser_bytes) = (0, 0);
    // The first trial picks the steps per timed submission; the others keep it.
    let mut steps_per_timing = None;
    while loops.len() < TRIALS {
        let cost = step_cost(ctx, sampler, denoiser, shape, opts, steps_per_timing)?;
        steps_per_timing = Some(cost.steps_per_submission);
        loop_bytes = cost.loop_bytes;
        denoiser_bytes = cost.denoiser_bytes;
        let kernel = cost.seconds;
        let start = Instant::now();
        gpu::sample_loop::sample_loop(ctx, sampler, denoiser, shape, opts, &mut |_, _| {})?;
        let seconds = start.elapsed().as_secs_f64();
        loops.push(seconds);
        kernels.push(kernel);
        ratios.push(seconds / (steps as f64 * kernel));
        if seconds > REPEAT_LOOPS_UNDER_S {
            break;
        }
    }
    Ok(LoopRow {
        sampler: sampler.name(),
        denoiser: name,
        device: "gpu",
        shape: shape.to_vec(),
        steps,
        seconds: median(loops),
        step_kernel_seconds: median(kernels),
        overhead_ratio: median(ratios),
        loop_bytes,
        denoiser_bytes,
    })
}

/// The f64 reference loop with the same sampler and denoiser, for scale.
pub(super) fn cpu_loop_row(
    sampler: &dyn Sampler,
    name: &'static str,
    denoiser: &dyn cpu::sampling::sample_loop::CpuDenoiser,
    shape: &[usize],
    opts: &LoopOptions,
) -> Result<LoopRow> {
    let sample_len = shape[1..].iter().product();
    let start = Instant::now();
    cpu::sampling::sample_loop::sample_loop(sampler, denoiser, shape[0], sample_len, opts)?;
    Ok(LoopRow {
        sampler: sampler.name(),
        denoiser: name,
        device: "cpu",
        shape: shape.to_vec(),
        steps: sampler.order().len(),
        seconds: start.elapsed().as_secs_f64(),
        step_kernel_seconds: 0.0,
        overhead_ratio: 0.0,
        loop_bytes: 0,
        denoiser_bytes: 0,
    })
}
