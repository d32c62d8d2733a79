//! Timing one prepared UNet forward, as the forward rows and `--variants` time it.

use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::runtime::timing::median;
use ddpm_wgpu::gpu::{Context, Denoiser, DenoiserIo, UNetDenoiser};
use std::time::Instant;

/// The median seconds of `trials` recorded forwards after one warm-up (submit to completion).
pub(super) fn time_forward(
    ctx: &Context,
    den: &UNetDenoiser,
    io: &DenoiserIo,
    trials: usize,
) -> Result<f64> {
    let mut times = Vec::with_capacity(trials.max(1));
    for trial in 0..=trials.max(1) {
        let mut encoder = ctx.encoder();
        den.record(ctx, &mut encoder, io)?;
        let start = Instant::now();
        ctx.submit(encoder)?;
        ctx.wait()?;
        if trial > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    Ok(median(times))
}
