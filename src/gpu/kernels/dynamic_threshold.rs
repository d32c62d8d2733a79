//! Host side of `shaders/dynamic_threshold.wgsl` (a radix select, one workgroup per sample) and
//! `shaders/dynamic_threshold_short.wgsl` (samples of at most [`PER_LANE_MAX_LEN`] values, one
//! per invocation): the per-sample scale s_b of dynamic thresholding,
//! `clamp(torch.quantile(|x0_b|, ratio), 1, max)`, computed on the device with no read-back.
//! CPU twins: `crate::cpu::kernels::dynamic_threshold` (the f32 one gives the same bits).
//!
//! The rank, the interpolation weight and torch's lerp branch depend only on the ratio and the
//! sample length, so they are computed once here in f64 exactly as torch does
//! ([`torch_rank`]) and passed in the uniform; the shader selects the two order statistics and
//! interpolates.

use crate::cpu::kernels::dynamic_threshold::{check_params, torch_rank};
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{bind_group, dispatch, groups_2d, uniform};
use crate::gpu::runtime::shaders::{Kernel, WG_SIZE};
use crate::gpu::{Context, GpuTensor};

/// The kernel's uniform (`ThresholdParams` in dynamic_threshold.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ThresholdParams {
    /// Elements per sample, L.
    pub sample_len: u32,
    /// B.
    pub n_samples: u32,
    /// 0-based rank of the lower order statistic.
    pub rank_lo: u32,
    /// `rank_lo` or `rank_lo + 1`.
    pub rank_hi: u32,
    /// torch's lerp coefficient: the weight w when w < 0.5, else w - 1.
    pub coef: f32,
    /// 1 for the w - 1 branch (interpolating from the upper value), else 0.
    pub base_is_hi: u32,
    /// The upper clamp, rounded to f32 as torch rounds it.
    pub max_value: f32,
    /// Pads the struct to 32 bytes.
    pub _pad: u32,
}

/// The longest samples selected one per invocation (by counting, L^2 loads, no barrier) rather
/// than one per workgroup (radix select: four passes, twelve barriers). On lavapipe and llvmpipe
/// GL counting 128 values cost about 25 us a sample, a radix workgroup (of the kernel's first
/// double-buffered version) 100-150 and 430-620 us.
/// Not longer: llvmpipe ends a loop nest after 65535 iterations, and counting takes L^2 + L
/// (measured: L = 256 lost the last element's count).
pub const PER_LANE_MAX_LEN: usize = 128;

impl ThresholdParams {
    /// The uniform for `batch` samples of `sample_len`, after checking `ratio` and `max`.
    pub fn new(batch: usize, sample_len: usize, ratio: f64, max: f64) -> Result<Self> {
        check_params(ratio, max)?;
        let (Ok(n_samples), Ok(len)) = (u32::try_from(batch), u32::try_from(sample_len)) else {
            return Err(Error::TooManyItems {
                what: "samples or elements per sample",
                count: batch.max(sample_len) as u128,
                limit: u64::from(u32::MAX),
            });
        };
        if sample_len == 0 || batch == 0 {
            return Err(Error::ShapeMismatch(
                "dynamic thresholding needs non-empty samples".into(),
            ));
        }
        // torch makes a float32 tensor of the Python float ratio first.
        let rank = torch_rank(ratio as f32, sample_len);
        let small = rank.weight.abs() < 0.5;
        Ok(ThresholdParams {
            sample_len: len,
            n_samples,
            // Ranks are below sample_len, which fits u32.
            rank_lo: rank.lo as u32,
            rank_hi: rank.hi as u32,
            coef: if small {
                rank.weight
            } else {
                rank.weight - 1.0
            },
            base_is_hi: u32::from(!small),
            max_value: max as f32,
            _pad: 0,
        })
    }
}

/// Prepared once over fixed buffers (bind groups, scratch, the \[B\] output made once), then
/// recorded every step of a sampling loop with nothing allocated per record.
#[derive(Debug)]
pub struct DynamicThreshold {
    device: wgpu::Device,
    kernel: Kernel,
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
    groups: (u32, u32),
    scales: GpuTensor,
    // Kept with the bind group that reads it.
    _params: wgpu::Buffer,
}

impl DynamicThreshold {
    /// `values`: [B, ...] f32 (the predicted x_0 of a batch); ratio in [0, 1]; max >= 1.
    pub fn new(ctx: &Context, values: &GpuTensor, ratio: f64, max: f64) -> Result<Self> {
        let batch = *values.shape().first().ok_or_else(|| {
            Error::ShapeMismatch("dynamic thresholding needs a batch dimension".into())
        })?;
        let params = ThresholdParams::new(batch, values.len() / batch.max(1), ratio, max)?;
        // One sample per workgroup, or per invocation for short ones; in rows of workgroups
        // when that exceeds the per-dimension limit.
        let short = values.len() / batch <= PER_LANE_MAX_LEN;
        let (kernel, workgroups) = if short {
            (
                Kernel::DynamicThresholdShort,
                params.n_samples.div_ceil(WG_SIZE),
            )
        } else {
            (Kernel::DynamicThreshold, params.n_samples)
        };
        let groups = groups_2d(ctx, workgroups);
        let limit = ctx.limits().max_compute_workgroups_per_dimension;
        if groups.1 > limit {
            return Err(Error::TooManyItems {
                what: "workgroups for the samples",
                count: u128::from(workgroups),
                limit: u64::from(limit) * u64::from(limit),
            });
        }
        let scales = GpuTensor::zeros(ctx, &[batch])?;
        let pipeline = ctx.pipeline(kernel)?;
        let (params, group) = ctx.checked(|| {
            let params = uniform(ctx, &params);
            // The radix kernel also reads `values` as vec4s (binding 3), which needs a buffer of
            // at least one vec4: samples longer than PER_LANE_MAX_LEN make one.
            let mut buffers = vec![&params, values.buffer(), scales.buffer()];
            if !short {
                buffers.push(values.buffer());
            }
            let group = bind_group(ctx, kernel, &pipeline, &buffers);
            (params, group)
        })?;
        Ok(DynamicThreshold {
            device: ctx.device.clone(),
            kernel,
            pipeline,
            group,
            groups,
            scales,
            _params: params,
        })
    }

    /// Record computing s_b for the current contents of `values` into `scales()`.
    pub fn record(&self, ctx: &Context, encoder: &mut wgpu::CommandEncoder) -> Result<()> {
        if ctx.device != self.device {
            return Err(Error::Unsupported(
                "a DynamicThreshold recorded on another device than it was made on".into(),
            ));
        }
        dispatch(
            encoder,
            self.kernel,
            &self.pipeline,
            &self.group,
            self.groups,
        );
        Ok(())
    }

    /// The \[B\] f32 output s_b.
    pub fn scales(&self) -> &GpuTensor {
        &self.scales
    }
}

/// One-shot convenience: s_b of `values` as a new \[B\] tensor.
pub fn dynamic_threshold(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    values: &GpuTensor,
    ratio: f64,
    max: f64,
) -> Result<GpuTensor> {
    let threshold = DynamicThreshold::new(ctx, values, ratio, max)?;
    threshold.record(ctx, encoder)?;
    Ok(threshold.scales)
}
