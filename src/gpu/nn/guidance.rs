//! Host side of shaders/nn/guidance.wgsl (CPU twin: src/cpu/nn/guidance.rs): classifier-free
//! guidance's combination of a model's 2B outputs (conditional, then unconditional) into the
//! guided prediction and the conditional pass's learned variance, with diffusers'
//! guidance_rescale where asked.

use super::params::GuidanceParams;
use super::{scratch, u32_of, upload, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::Grid;
use crate::gpu::runtime::shaders::{flags, Kernel};
use crate::gpu::Context;
pub use crate::nn::Guidance;

/// The stage combining `src` ([2B, mean_len + var_len]) into `mean_out` ([B, mean_len]) and,
/// with var_len > 0, `var_out` ([B, var_len]).
pub(crate) fn stage(
    ctx: &Context,
    g: Guidance,
    (batch, mean_len, var_len): (usize, usize, usize),
    src: &wgpu::Buffer,
    (mean_out, var_out): (&wgpu::Buffer, &wgpu::Buffer),
) -> Result<Stage> {
    g.validate()?;
    let p = GuidanceParams {
        batch: u32_of("guidance batch", batch)?,
        mean_len: u32_of("guidance values", mean_len)?,
        var_len: u32_of("guidance values", var_len)?,
        scale: g.scale as f32,
        rescale: g.rescale.unwrap_or(0.0) as f32,
        ..GuidanceParams::default()
    };
    let bits = if g.rescale.is_some() {
        flags::RESCALE
    } else {
        0
    };
    // One invocation per sample; rows of workgroups x then y, as the kernel reads them.
    let groups = u32_of("guidance workgroups", batch.div_ceil(64))?;
    let max = ctx.limits().max_compute_workgroups_per_dimension;
    let x = groups.clamp(1, max);
    let y = groups.div_ceil(x).max(1);
    if y > max {
        return Err(Error::Unsupported(format!("guidance over {batch} samples")));
    }
    let buffers = [src, mean_out, var_out];
    Stage::new(ctx, Kernel::Guidance, bits, &p, &buffers, Grid(x, y, 1))
}

/// Run the combination once on `out` ([2B, mean_len + var_len], f32): uploads, runs, reads
/// back (guided [B, mean_len], variance [B, var_len]). For tests and single calls.
pub fn forward(
    ctx: &Context,
    out: &[f32],
    batch: usize,
    (mean_len, var_len): (usize, usize),
    g: Guidance,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let per = mean_len + var_len;
    if batch == 0 || mean_len == 0 || Some(out.len()) != batch.checked_mul(2 * per) {
        return Err(Error::ShapeMismatch(format!(
            "guidance takes 2 x {batch} samples of {per} values, got {}",
            out.len()
        )));
    }
    let src = upload(ctx, "guidance input", out)?;
    let mean = scratch(ctx, "guided prediction", (batch * mean_len) as u64)?;
    let var = scratch(ctx, "guided variance", (batch * var_len) as u64)?;
    let s = stage(ctx, g, (batch, mean_len, var_len), &src, (&mean, &var))?;
    super::run_stages(ctx, &[s])?;
    let read = |b: &wgpu::Buffer, n: usize| -> Result<Vec<f32>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let bytes = crate::gpu::runtime::tensor::read_buffer(ctx, b, n as u64 * 4)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    };
    Ok((read(&mean, batch * mean_len)?, read(&var, batch * var_len)?))
}
