//! Recording one dispatch of a kernel: bind group from the parameter struct and the buffers in
//! `@binding` order, one compute pass, grid sized by the wgpu examples' `div_ceil` idiom.

use crate::error::{Error, Result};
use crate::gpu::runtime::params::{
    ElementParams, PipelineConstants, ReduceParams, GRID_FLAT, GRID_PER_SAMPLE,
};
use crate::gpu::runtime::shaders::{Kernel, WG_SIZE};
use crate::gpu::runtime::tensor::{GpuSteps, GpuTensor};
use crate::gpu::Context;

/// A bind group for `kernel` with `resources` at bindings 0, 1, 2, ... (a buffer's range where
/// one is bound only in part).
pub(crate) fn bind_group_of<'b>(
    ctx: &Context,
    kernel: Kernel,
    pipeline: &wgpu::ComputePipeline,
    resources: impl IntoIterator<Item = wgpu::BindingResource<'b>>,
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = resources
        .into_iter()
        .enumerate()
        .map(|(i, resource)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource,
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(kernel.name()),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

/// Workgroups for `n` items, capped at the per-dimension limit; the kernels' grid-stride loops
/// cover the rest.
pub(crate) fn groups_1d(ctx: &Context, n: u32) -> u32 {
    n.div_ceil(WG_SIZE)
        .clamp(1, ctx.limits().max_compute_workgroups_per_dimension)
}

/// A bind group for `kernel` with `buffers` (uniform or storage) at bindings 0, 1, 2, ...
pub(crate) fn bind_group(
    ctx: &Context,
    kernel: Kernel,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    bind_group_of(
        ctx,
        kernel,
        pipeline,
        buffers.iter().map(|b| b.as_entire_binding()),
    )
}

/// A uniform buffer holding `params` (made by `Context::uniform_buffer`, the allocation place
/// for parameter structs). Call it inside `Context::checked`, as every caller does.
pub(crate) fn uniform<P: bytemuck::Pod>(ctx: &Context, params: &P) -> wgpu::Buffer {
    ctx.uniform_buffer(params)
}

/// Workgroup counts in x, y and z. Most kernels use x and y only, given as a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid(pub u32, pub u32, pub u32);

impl From<(u32, u32)> for Grid {
    fn from((x, y): (u32, u32)) -> Self {
        Grid(x, y, 1)
    }
}

/// Record one dispatch of a prepared pipeline and bind group in its own compute pass.
pub(crate) fn dispatch(
    encoder: &mut wgpu::CommandEncoder,
    kernel: Kernel,
    pipeline: &wgpu::ComputePipeline,
    bind_group: &wgpu::BindGroup,
    groups: impl Into<Grid>,
) {
    let Grid(x, y, z) = groups.into();
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(kernel.name()),
        timestamp_writes: None,
    });
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, bind_group, &[]);
    pass.dispatch_workgroups(x, y, z);
}

/// The grid of a vec4 kernel over `batch` samples of `len4` vec4s,
/// [`Kernel::vec4s_per_invocation`] vec4s per invocation, and the kernel's `GRID` pipeline
/// constant for it (`per_sample_at` and `flat_at` in shaders/common.wgsl).
///
/// Per-sample ([`GRID_PER_SAMPLE`]): x covers one sample, y (then z, past the per-dimension
/// limit) counts samples, so the sample and its timestep are uniform per workgroup and nothing
/// divides. Used when samples fill at least three quarters of their workgroups' vec4s; short
/// samples would leave most lanes idle. Otherwise flat ([`GRID_FLAT`]): x then y rows of
/// workgroups over all vec4s of the batch, dividing per vec4 for the sample.
///
/// Why no grid-stride loop: on llvmpipe the loop and the per-invocation `i / sample_len` cost
/// more than q_sample's arithmetic. Per-sample, q_sample went from 0.65 to 0.75-0.81 of the copy
/// kernel at 2^20-2^24 elements (`ddpm bench`); at 2^20 elements in samples of 4 (one lane of
/// 256 busy) it took 312 ms against 2-4 ms on the flat grid, hence the rule. The grid is a
/// pipeline constant rather than a uniform, so each pipeline compiles one path only.
pub(crate) fn vec4_grid(ctx: &Context, kernel: Kernel, batch: u32, len4: u32) -> (Grid, u32) {
    let tile = WG_SIZE * kernel.vec4s_per_invocation();
    let max = ctx.limits().max_compute_workgroups_per_dimension;
    vec4_grid_within(max, tile, batch, len4)
}

/// [`vec4_grid`] for a per-dimension limit of `max` workgroups of `tile` vec4s each.
fn vec4_grid_within(max: u32, tile: u32, batch: u32, len4: u32) -> (Grid, u32) {
    let x = len4.div_ceil(tile).max(1);
    let y = batch.clamp(1, max);
    let z = batch.div_ceil(y).max(1);
    let busy = 4 * u64::from(len4) >= 3 * u64::from(x) * u64::from(tile);
    if busy && x <= max && z <= max {
        (Grid(x, y, z), GRID_PER_SAMPLE)
    } else {
        let n4 = batch.saturating_mul(len4);
        let (x, y) = rows_within(max, n4.div_ceil(tile));
        (Grid(x, y, 1), GRID_FLAT)
    }
}

/// A grid of `n` workgroups, 2-D when `n` exceeds the per-dimension limit (the kernels compute
/// their index as x + y * width and skip the overhang).
pub(crate) fn groups_2d(ctx: &Context, n: u32) -> (u32, u32) {
    rows_within(ctx.limits().max_compute_workgroups_per_dimension, n)
}

/// `n` workgroups as rows of at most `max`.
fn rows_within(max: u32, n: u32) -> (u32, u32) {
    let x = n.clamp(1, max);
    (x, n.div_ceil(x))
}

/// Record `kernel` with `params` at binding 0 and `buffers` at bindings 1, 2, ...
pub(crate) fn record<P: bytemuck::Pod>(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    kernel: Kernel,
    params: &P,
    buffers: &[&wgpu::Buffer],
    groups: impl Into<Grid>,
) -> Result<()> {
    // Kernels with model options as constants go through `record_with`: defaults here would
    // silently compute another model type.
    debug_assert!(
        !kernel.takes_model_constants(),
        "{kernel:?} needs record_with"
    );
    let constants = PipelineConstants::default();
    record_with(ctx, encoder, kernel, params, buffers, groups, constants)
}

/// [`record`] on the pipeline with `constants` (the vec4 kernels' grid, the step kernels' model
/// options).
pub(crate) fn record_with<P: bytemuck::Pod>(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    kernel: Kernel,
    params: &P,
    buffers: &[&wgpu::Buffer],
    groups: impl Into<Grid>,
    constants: PipelineConstants,
) -> Result<()> {
    let pipeline = ctx.pipeline_with(kernel, constants)?;
    ctx.checked(|| {
        let uniform = uniform(ctx, params);
        let mut all = vec![&uniform];
        all.extend_from_slice(buffers);
        let bind_group = bind_group(ctx, kernel, &pipeline, &all);
        dispatch(encoder, kernel, &pipeline, &bind_group, groups);
    })
}

/// Record an elementwise kernel over `params.n_elements`.
pub(crate) fn elementwise(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    kernel: Kernel,
    params: &ElementParams,
    buffers: &[&wgpu::Buffer],
) -> Result<()> {
    let groups = groups_1d(ctx, params.n_elements);
    record(ctx, encoder, kernel, params, buffers, (groups, 1))
}

/// For a kernel with a four-elements-per-invocation twin, over `batch` samples of `sample_len`:
/// `vec4` on its [`vec4_grid`] when `sample_len` is a multiple of 4 (each vec4 then lies inside
/// one sample), else `scalar` on [`groups_1d`] over every element; with the pipeline constants
/// holding that grid. Both compute the same per-element arithmetic, so the choice never changes
/// a result.
pub(crate) fn vec4_or_scalar(
    ctx: &Context,
    (vec4, scalar): (Kernel, Kernel),
    batch: u32,
    sample_len: u32,
) -> (Kernel, Grid, PipelineConstants) {
    if sample_len.is_multiple_of(4) && sample_len > 0 {
        let (groups, grid) = vec4_grid(ctx, vec4, batch, sample_len / 4);
        (vec4, groups, PipelineConstants::on_grid(grid))
    } else {
        let groups = Grid::from((groups_1d(ctx, batch.saturating_mul(sample_len)), 1));
        (scalar, groups, PipelineConstants::default())
    }
}

/// Record an elementwise kernel that has a four-elements-per-invocation twin, as
/// [`vec4_or_scalar`] picks.
pub(crate) fn elementwise_vec4_or_scalar(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    kernels: (Kernel, Kernel),
    params: &ElementParams,
    buffers: &[&wgpu::Buffer],
) -> Result<()> {
    let batch = params.n_elements / params.sample_len.max(1);
    let (kernel, groups, constants) = vec4_or_scalar(ctx, kernels, batch, params.sample_len);
    let constants = constants.with_model(params);
    record_with(ctx, encoder, kernel, params, buffers, groups, constants)
}

/// Check that `out` has `like`'s shape (outputs written into caller-provided tensors).
pub(crate) fn output_shape(name: &str, out: &GpuTensor, like: &GpuTensor) -> Result<()> {
    if out.shape() == like.shape() {
        Ok(())
    } else {
        Err(Error::ShapeMismatch(format!(
            "output '{name}' has shape {:?} but the inputs have {:?}",
            out.shape(),
            like.shape()
        )))
    }
}

/// Record the per-sample mean of `values` ([B, sample_len]) times `scale` into `means` (\[B\]).
pub(crate) fn sample_mean(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    values: &GpuTensor,
    sample_len: usize,
    scale: f64,
    means: &GpuTensor,
) -> Result<()> {
    let n_samples = means.len() as u32;
    let params = ReduceParams {
        sample_len: sample_len as u32,
        n_samples,
        scale_over_len: (scale / sample_len as f64) as f32,
        _pad: 0,
    };
    // One workgroup per sample, as a 2-D grid when B exceeds the per-dimension limit.
    let groups = groups_2d(ctx, n_samples);
    record(
        ctx,
        encoder,
        Kernel::SampleMean,
        &params,
        &[values.buffer(), means.buffer()],
        groups,
    )
}

/// A device tensor of either storage type, as far as shape checks go.
pub(crate) trait Shaped {
    fn shape(&self) -> &[usize];
}

impl Shaped for GpuTensor {
    fn shape(&self) -> &[usize] {
        GpuTensor::shape(self)
    }
}

/// Check that every named tensor has the same shape as the first, batch dimension B = t.len(),
/// and return the per-sample element count.
pub(crate) fn batch_layout<T: Shaped>(t: &GpuSteps, tensors: &[(&str, &T)]) -> Result<usize> {
    same_shapes(tensors)?;
    let (first_name, first) = tensors[0];
    match first.shape().first() {
        Some(&b) if b == t.len() => Ok(first.shape().iter().product::<usize>() / b),
        _ => Err(Error::ShapeMismatch(format!(
            "'{first_name}' has shape {:?} but t has {} entries (one per sample)",
            first.shape(),
            t.len()
        ))),
    }
}

/// Check that every named tensor has the shape of the first.
pub(crate) fn same_shapes<T: Shaped>(tensors: &[(&str, &T)]) -> Result<()> {
    let (first_name, first) = tensors[0];
    for &(name, tensor) in &tensors[1..] {
        if tensor.shape() != first.shape() {
            return Err(Error::ShapeMismatch(format!(
                "'{name}' has shape {:?} but '{first_name}' has {:?}",
                tensor.shape(),
                first.shape()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec4_grid_is_per_sample_only_where_samples_fill_their_workgroups() {
        let max = 65535;
        // Two vec4s per invocation: a workgroup covers 512 vec4s. [16, 3, 32, 32] has 768
        // vec4s: two workgroups per sample with three quarters of their lanes busy.
        assert_eq!(
            vec4_grid_within(max, 512, 16, 768),
            (Grid(2, 16, 1), GRID_PER_SAMPLE)
        );
        // 513 vec4s would leave all but one lane of the second workgroup idle: flat.
        assert_eq!(vec4_grid_within(max, 512, 3, 513).1, GRID_FLAT);
        // 7/8 busy.
        assert_eq!(vec4_grid_within(max, 512, 3, 896).1, GRID_PER_SAMPLE);
        // Short samples: flat rows over the whole batch.
        assert_eq!(
            vec4_grid_within(max, 512, 70_000, 1),
            (Grid(137, 1, 1), GRID_FLAT)
        );
        // More samples than y holds: z rows of y samples, the last one partly past the batch.
        assert_eq!(
            vec4_grid_within(4, 512, 9, 512),
            (Grid(1, 4, 3), GRID_PER_SAMPLE)
        );
        // More workgroups than x and y hold for one sample: flat rows.
        assert_eq!(
            vec4_grid_within(4, 512, 1, 5 * 512),
            (Grid(4, 2, 1), GRID_FLAT)
        );
        // One vec4 per invocation (the sampling step): workgroups of 256 vec4s.
        assert_eq!(
            vec4_grid_within(max, 256, 16, 768),
            (Grid(3, 16, 1), GRID_PER_SAMPLE)
        );
        // Empty input still makes a valid (idle) grid.
        assert_eq!(vec4_grid_within(max, 512, 0, 0).1, GRID_FLAT);
    }
}
