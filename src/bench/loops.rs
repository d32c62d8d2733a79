//! The sampling-loop rows of `ddpm bench`: steps/s, the overhead ratio against one step's
//! kernels, and device memory.

use super::timing::{median, time_reps, TRIALS};
use super::LoopRow;
use crate::cpu;
use crate::error::Result;
use crate::gpu::sample_loop::{ChunkLoop, LoopOptions, LoopPlan};
use crate::gpu::{self, Context, Denoiser};
use crate::sampler::Sampler;
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
    let plan = LoopPlan::new(ctx, sampler)?;
    let order = sampler.order();
    let steps = order.len();
    let (mut loops, mut kernels, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut loop_bytes, mut denoiser_bytes) = (0, 0);
    let mut steps_per_timing = None;
    while loops.len() < TRIALS {
        let chunk = ChunkLoop::new(ctx, &plan, denoiser, shape, 0, opts)?;
        loop_bytes = chunk.device_bytes();
        denoiser_bytes = denoiser.device_bytes();
        // A middle step: one that draws noise, as all but the last do.
        chunk.set_timestep(ctx, order[steps / 2])?;
        // As many steps per submission as the loop makes, so both pay the same share of a
        // submission's fixed cost (about a millisecond on lavapipe); steps over 5 ms (one step
        // in its own submission, steady state, timed in the first trial only) need fewer,
        // which keeps the mixture rows at large shapes from taking minutes more.
        let reps = match steps_per_timing {
            Some(reps) => reps,
            None => {
                let one = time_reps(ctx, 1, |e| chunk.record_kernels(ctx, e, denoiser, 1))?;
                let reps = if one > 5e-3 {
                    5
                } else {
                    opts.steps_per_submit.clamp(1, steps)
                };
                *steps_per_timing.insert(reps)
            }
        };
        // Recorded as the loop records them (the fused step's dispatches share a pass).
        let step_time = time_reps(ctx, 1, |e| chunk.record_kernels(ctx, e, denoiser, reps))?;
        let kernel = step_time / reps as f64;
        drop(chunk);
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
    denoiser: &dyn cpu::sample_loop::CpuDenoiser,
    shape: &[usize],
    opts: &LoopOptions,
) -> Result<LoopRow> {
    let sample_len = shape[1..].iter().product();
    let start = Instant::now();
    cpu::sample_loop::sample_loop(sampler, denoiser, shape[0], sample_len, opts)?;
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
