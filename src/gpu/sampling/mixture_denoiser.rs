//! Host side of `shaders/mixture_distances.wgsl`, `mixture_weights.wgsl` and
//! `mixture_output.wgsl` (or `mixture_output_vec4.wgsl`): the exact denoiser for data
//! distributed as (1/M) sum_m N(d_m, S^2 I) (S = 0: the data points themselves). CPU twin:
//! `crate::cpu::sampling::mixture_denoiser`.

use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{bind_group, dispatch, groups_2d, uniform, vec4_or_scalar, Grid};
use crate::gpu::runtime::params::{
    mean_type_code, var_type_code, MixtureParams, PipelineConstants,
};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::sampling::denoiser::{Denoiser, DenoiserIo};
use crate::gpu::{Context, GpuTensor};
use crate::options::ModelOptions;

/// The most pairs, partial sums or weight slots the mixture kernels index (u32 arithmetic with
/// room for the padding of the last tile).
pub const MAX_ITEMS: u64 = 1 << 31;

/// Reductions this short run in one invocation each (`SHORT_REDUCTION` in common.wgsl).
pub const SHORT_REDUCTION: usize = 64;

/// Elements per partial sum of a squared distance, one invocation each (`DIST_CHUNK` in
/// common.wgsl).
pub const DIST_CHUNK: usize = 256;

/// Samples by points per invocation of `mixture_distances_vec4.wgsl` (`DIST_SAMPLES_VEC4` and
/// `DIST_POINTS_VEC4` in common.wgsl).
pub const DIST_SAMPLES_VEC4: usize = 4;
/// See [`DIST_SAMPLES_VEC4`].
pub const DIST_POINTS_VEC4: usize = 4;

/// Workgroups for a reduction stage: one per item, or one per WG_SIZE items when short.
fn reduction_groups(ctx: &Context, items: usize, terms: usize) -> (u32, u32) {
    if terms <= SHORT_REDUCTION {
        groups_2d(
            ctx,
            (items as u32).div_ceil(crate::gpu::runtime::shaders::WG_SIZE),
        )
    } else {
        groups_2d(ctx, items as u32)
    }
}

/// The exact posterior-mean denoiser of a Gaussian mixture around data points.
#[derive(Debug)]
pub struct MixtureDenoiser {
    points: GpuTensor,
    data_var: f64,
    model: ModelOptions,
    prepared: Option<Prepared>,
}

#[derive(Debug)]
struct Prepared {
    stages: Vec<(Kernel, wgpu::ComputePipeline, wgpu::BindGroup, Grid)>,
    // Kept alive for the bind groups, and counted by `device_bytes`.
    buffers: Vec<wgpu::Buffer>,
    tensors: Vec<GpuTensor>,
}

impl MixtureDenoiser {
    /// [`MixtureDenoiser::new`] over the points of `data`.
    pub fn from_dataset(
        ctx: &Context,
        data: &crate::dataset::Dataset,
        data_sigma: f64,
        model: ModelOptions,
    ) -> Result<Self> {
        Self::new(
            ctx,
            &data.points,
            &[data.len(), data.point_len()],
            data_sigma,
            model,
        )
    }

    /// Upload `points` (shape [M, ...], each point the shape of one sample) with component
    /// standard deviation `data_sigma`; `model` says what to write (its mean and variance type).
    pub fn new(
        ctx: &Context,
        points: &[f32],
        shape: &[usize],
        data_sigma: f64,
        model: ModelOptions,
    ) -> Result<Self> {
        if shape.is_empty() {
            return Err(Error::ShapeMismatch(
                "data points need a leading point dimension [M, ...]".into(),
            ));
        }
        if !(data_sigma.is_finite() && data_sigma >= 0.0) {
            return Err(Error::Unsupported(format!(
                "data sigma must be finite and >= 0, got {data_sigma}"
            )));
        }
        Ok(MixtureDenoiser {
            points: GpuTensor::from_slice_named(ctx, "mixture points", shape, points)?,
            data_var: data_sigma * data_sigma,
            model,
            prepared: None,
        })
    }
}

impl Denoiser for MixtureDenoiser {
    fn prepare(&mut self, ctx: &Context, io: &DenoiserIo<'_>) -> Result<()> {
        let num_points = self.points.shape()[0];
        let batch = io.x_t.shape()[0];
        let sample_len = io.x_t.len() / batch;
        if self.points.len() / num_points != sample_len {
            return Err(Error::ShapeMismatch(format!(
                "data points of shape {:?} do not match samples of shape {:?}",
                &self.points.shape()[1..],
                &io.x_t.shape()[1..]
            )));
        }
        // The kernels index pairs, partial sums and weight slots with u32 arithmetic.
        let count = |what: &'static str, a: usize, b: usize| {
            let n = a as u128 * b as u128;
            if n < u128::from(MAX_ITEMS) {
                Ok(n as usize) // below 2^31: fits any usize
            } else {
                Err(Error::TooManyItems {
                    what,
                    count: n,
                    limit: MAX_ITEMS,
                })
            }
        };
        let pairs = count("sample-point pairs", batch, num_points)?;
        // [B, M, chunks]: one partial sum per invocation of mixture_distances.
        let chunks = sample_len.div_ceil(DIST_CHUNK);
        let partials = count("partial distances", pairs, chunks)?;
        // Point-major, samples padded to groups of four (`weight_index` in common.wgsl).
        let sample_groups = batch.div_ceil(4);
        let weight_slots = count("weight slots", sample_groups * 4, num_points)?;
        // Vec4 loads in the distance and output kernels when each vec4 lies inside one sample.
        let vec4 = sample_len.is_multiple_of(4);
        // The vec4 distances: a tile of DIST_SAMPLES_VEC4 x DIST_POINTS_VEC4 partial sums per
        // invocation.
        let (distances, distance_invocations) = if vec4 {
            let tiles =
                batch.div_ceil(DIST_SAMPLES_VEC4) * num_points.div_ceil(DIST_POINTS_VEC4) * chunks;
            (Kernel::MixtureDistancesVec4, tiles)
        } else {
            (Kernel::MixtureDistances, partials)
        };
        let partial_dist = GpuTensor::zeros_named(ctx, "mixture partial distances", &[partials])?;
        let weights = GpuTensor::zeros_named(ctx, "mixture weights", &[weight_slots])?;
        // Four values: the vec4 output kernel binds it as one vec4.
        let dummy_var = GpuTensor::zeros(ctx, &[4])?;
        let model_var = io.model_var.unwrap_or(&dummy_var);
        let params = MixtureParams {
            batch: batch as u32,
            sample_len: sample_len as u32,
            num_points: num_points as u32,
            num_timesteps: io.tables.num_timesteps() as u32,
            mean_type: mean_type_code(self.model.mean_type),
            var_type: var_type_code(self.model.var_type),
            data_var: self.data_var as f32,
            _pad: 0,
        };
        // The vec4 output kernel does four elements of four samples per invocation: its grid
        // counts groups of four samples (vec4_or_scalar makes the same vec4 choice).
        let grid_samples = if vec4 { sample_groups } else { batch };
        let (output_kernel, output_groups, output_constants) = vec4_or_scalar(
            ctx,
            (Kernel::MixtureOutputVec4, Kernel::MixtureOutput),
            grid_samples as u32,
            sample_len as u32,
        );
        let (coefs, t) = (io.tables.buffer(), io.timesteps);
        let p = ctx.checked(|| uniform(ctx, &params))?;
        let plan: [(Kernel, Vec<&wgpu::Buffer>, Grid); 3] = [
            (
                distances,
                vec![
                    &p,
                    coefs,
                    t,
                    io.x_t.buffer(),
                    self.points.buffer(),
                    partial_dist.buffer(),
                ],
                groups_2d(
                    ctx,
                    (distance_invocations as u32).div_ceil(crate::gpu::runtime::shaders::WG_SIZE),
                )
                .into(),
            ),
            (
                Kernel::MixtureWeights,
                vec![&p, coefs, t, partial_dist.buffer(), weights.buffer()],
                reduction_groups(ctx, batch, num_points).into(),
            ),
            (
                output_kernel,
                vec![
                    &p,
                    coefs,
                    t,
                    io.x_t.buffer(),
                    self.points.buffer(),
                    weights.buffer(),
                    io.model_output.buffer(),
                    model_var.buffer(),
                ],
                output_groups,
            ),
        ];
        let mut stages = Vec::new();
        for (kernel, buffers, groups) in plan {
            let constants = match kernel {
                // The model options as constants too (`mixture_with_model_constants`).
                Kernel::MixtureOutput | Kernel::MixtureOutputVec4 => PipelineConstants {
                    mean_type: params.mean_type,
                    var_type: params.var_type,
                    ..output_constants
                },
                _ => PipelineConstants::default(),
            };
            let pipeline = ctx.pipeline_with(kernel, constants)?;
            let group = ctx.checked(|| bind_group(ctx, kernel, &pipeline, &buffers))?;
            stages.push((kernel, pipeline, group, groups));
        }
        self.prepared = Some(Prepared {
            stages,
            buffers: vec![p],
            tensors: vec![partial_dist, weights, dummy_var],
        });
        Ok(())
    }

    fn record(
        &self,
        _ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        _io: &DenoiserIo<'_>,
    ) -> Result<()> {
        let prepared = self
            .prepared
            .as_ref()
            .ok_or_else(|| Error::Unsupported("MixtureDenoiser::record before prepare".into()))?;
        for (kernel, pipeline, group, groups) in &prepared.stages {
            dispatch(encoder, *kernel, pipeline, group, *groups);
        }
        Ok(())
    }

    fn device_bytes(&self) -> u64 {
        let scratch = self.prepared.as_ref().map_or(0, |p| {
            let buffers: u64 = p.buffers.iter().map(wgpu::Buffer::size).sum();
            let tensors: u64 = p.tensors.iter().map(|t| t.buffer().size()).sum();
            buffers + tensors
        });
        self.points.buffer().size() + scratch
    }
}
