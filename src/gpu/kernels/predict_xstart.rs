//! Host side of shaders/predict_xstart.wgsl: the raw (unclipped) x_0 of the model's output, per
//! element, for dynamic thresholding. CPU twin: `crate::cpu::kernels::predict_xstart`.

use super::DenoiserIo;
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{groups_1d, output_shape, record_with};
use crate::gpu::runtime::params::{ElementParams, PipelineConstants};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{Context, GpuTensor};
use crate::options::ModelOptions;

/// Record x_0 of `io.model_output` at `io.x_t` ([B, ...]) into `out`, each sample b at row
/// `io.timesteps[b]` of `io.tables` (each < T), as `model.mean_type` says.
pub fn predict_xstart_into(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    model: &ModelOptions,
    io: &DenoiserIo<'_>,
    out: &GpuTensor,
) -> Result<()> {
    let (tables, timesteps, x, model_output) = (io.tables, io.timesteps, io.x_t, io.model_output);
    output_shape("model_output", model_output, x)?;
    output_shape("pred_xstart", out, x)?;
    let batch = *x
        .shape()
        .first()
        .ok_or_else(|| Error::ShapeMismatch("x needs a batch dimension".into()))?;
    if timesteps.size() < batch as u64 * 4 {
        return Err(Error::ShapeMismatch(format!(
            "{} timesteps for {batch} samples",
            timesteps.size() / 4
        )));
    }
    let n = x.len() as u32;
    let params = ElementParams::new(n, n / batch as u32, tables.num_timesteps() as u32, model);
    let constants = PipelineConstants::default().with_model(&params);
    record_with(
        ctx,
        encoder,
        Kernel::PredictXstart,
        &params,
        &[
            tables.buffer(),
            timesteps,
            x.buffer(),
            model_output.buffer(),
            out.buffer(),
        ],
        (groups_1d(ctx, n), 1),
        constants,
    )
}
