//! The loop's dynamic thresholding, prepared once per chunk: each step, the raw x_0 of the
//! model's output (`predict_xstart`) into a scratch tensor, its per-sample quantile scale
//! (`dynamic_threshold`), and a B-long copy of the scales into the front of the step kernel's
//! `aux` binding, where the step's `threshold_scale(b)` reads them.

use crate::error::Result;
use crate::gpu::kernels::dynamic_threshold::DynamicThreshold;
use crate::gpu::kernels::predict_xstart::predict_xstart_into;
use crate::gpu::sampling::denoiser::DenoiserIo;
use crate::gpu::{Context, GpuTensor};
use crate::options::ModelOptions;
use crate::sampler::Threshold;

pub(crate) struct ThresholdPass {
    model: ModelOptions,
    raw: GpuTensor,
    quantile: DynamicThreshold,
}

impl ThresholdPass {
    /// Scratch and bind groups for chunks of `shape`.
    pub(crate) fn new(
        ctx: &Context,
        model: ModelOptions,
        threshold: Threshold,
        shape: &[usize],
    ) -> Result<Self> {
        let raw = GpuTensor::zeros_named(ctx, "thresholding's raw x_0", shape)?;
        let quantile = DynamicThreshold::new(ctx, &raw, threshold.ratio, threshold.max)?;
        Ok(ThresholdPass {
            model,
            raw,
            quantile,
        })
    }

    /// Record this step's scales into the first B floats of `aux`.
    pub(crate) fn record(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        io: &DenoiserIo<'_>,
        aux: &wgpu::Buffer,
    ) -> Result<()> {
        predict_xstart_into(ctx, encoder, &self.model, io, &self.raw)?;
        self.quantile.record(ctx, encoder)?;
        let scales = self.quantile.scales();
        encoder.copy_buffer_to_buffer(scales.buffer(), 0, aux, 0, scales.len() as u64 * 4);
        Ok(())
    }

    /// Bytes of its scratch.
    pub(crate) fn device_bytes(&self) -> u64 {
        self.raw.buffer().size() + self.quantile.scales().buffer().size()
    }
}
