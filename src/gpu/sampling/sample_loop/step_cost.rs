//! What one step of a loop costs on the device without the loop around it: the denoiser, the
//! thresholding passes and the step kernel, recorded as the loop records them (a fused step in
//! one pass) but without its bookkeeping, timed alone. A loop's time over its steps times this
//! is its overhead (`ddpm bench`); the loop itself never needs it.

use super::{batch_and_sample_len, ChunkLoop, LoopOptions, LoopPlan};
use crate::error::{Error, Result};
use crate::gpu::runtime::timing::time_reps;
use crate::gpu::runtime::Context;
use crate::gpu::sampling::denoiser::Denoiser;
use crate::sampler::Sampler;

/// A step's cost and the device memory of the loop that would run it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepCost {
    /// Seconds per step (the median of the timed submissions, over their steps).
    pub seconds: f64,
    /// Steps in each timed submission.
    pub steps_per_submission: usize,
    /// Bytes of the loop's own device buffers for `shape` (the sampler's rows not included).
    pub loop_bytes: u64,
    /// Bytes of the denoiser's device buffers once prepared for `shape`.
    pub denoiser_bytes: u64,
}

/// A step of one whole chunk of `shape`, at the middle of `sampler`'s order (a step that draws
/// noise, as all but the last do). Each timed submission holds `steps` steps; with `None`, as
/// many as the loop puts in one submission (`opts.steps_per_submit`, at most the order's
/// length), or 5 where one step alone takes over 5 ms (so that a slow shape takes seconds, not
/// minutes). Timing: [`time_reps`]. A shape past one storage binding is an error here (the
/// loop would split it into chunks).
pub fn step_cost(
    ctx: &Context,
    sampler: &dyn Sampler,
    denoiser: &mut dyn Denoiser,
    shape: &[usize],
    opts: &LoopOptions,
    steps: Option<usize>,
) -> Result<StepCost> {
    batch_and_sample_len(shape)?;
    if steps == Some(0) {
        return Err(Error::Unsupported(
            "a timed submission needs at least one step".into(),
        ));
    }
    let plan = LoopPlan::new(ctx, sampler)?;
    // An even visit: fused, an odd one's bind group reads the other timestep buffer.
    let k = plan.order.len() / 2 / 2 * 2;
    let Some(&middle) = plan.order.get(k) else {
        return Err(Error::Unsupported(format!(
            "sampler {} visits no timestep",
            sampler.name()
        )));
    };
    let chunk = ChunkLoop::new(ctx, &plan, denoiser, shape, 0, opts)?;
    chunk.set_timestep(ctx, middle)?;
    let reps = match steps {
        Some(reps) => reps,
        None => {
            let one = time_reps(ctx, 1, |e| chunk.record_kernels(ctx, e, denoiser, k, 1))?;
            if one > 5e-3 {
                5
            } else {
                opts.steps_per_submit.clamp(1, plan.order.len())
            }
        }
    };
    let per_submission = time_reps(ctx, 1, |e| chunk.record_kernels(ctx, e, denoiser, k, reps))?;
    Ok(StepCost {
        seconds: per_submission / reps as f64,
        steps_per_submission: reps,
        loop_bytes: chunk.device_bytes(),
        denoiser_bytes: denoiser.device_bytes(),
    })
}
