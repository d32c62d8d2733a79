//! Timing recorded work on the device: the median of timed submissions, each submitted and
//! waited for alone. `ddpm bench` measures kernels and loops with it.

use crate::error::Result;
use crate::gpu::runtime::Context;
use std::time::Instant;

/// Timed submissions per measurement; the median is kept, since one submission on a busy
/// 2-core machine can be off by 2x.
pub const TRIALS: usize = 5;

/// `reps` repetitions of what `record` encodes, in one command buffer.
pub fn encode_reps(
    ctx: &Context,
    reps: usize,
    record: &mut dyn FnMut(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<wgpu::CommandBuffer> {
    let mut enc = ctx.encoder();
    for _ in 0..reps {
        record(&mut enc)?;
    }
    Ok(enc.finish())
}

/// Seconds from submitting `buffer` to the device finishing it.
pub fn time_submit(ctx: &Context, buffer: wgpu::CommandBuffer) -> Result<f64> {
    let start = Instant::now();
    ctx.checked(|| ctx.queue.submit([buffer]))?;
    ctx.wait()?;
    Ok(start.elapsed().as_secs_f64())
}

/// The median of `v` (the upper one of an even count); NaN for an empty `v`.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Seconds per repetition of the work `record` puts into one encoder `reps` times: the median
/// of [`TRIALS`] timed submissions after one warm-up (pipelines compiled, buffers touched).
pub fn time_reps(
    ctx: &Context,
    reps: usize,
    mut record: impl FnMut(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<f64> {
    time_submit(ctx, encode_reps(ctx, 1, &mut record)?)?;
    let mut times = Vec::with_capacity(TRIALS);
    for _ in 0..TRIALS {
        let buffer = encode_reps(ctx, reps, &mut record)?;
        times.push(time_submit(ctx, buffer)? / reps as f64);
    }
    Ok(median(times))
}
