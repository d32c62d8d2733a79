//! One sampling-step kernel run once on given inputs, each sample at its own training
//! timestep: the `ddim-step` and `ddim-reverse-step` ops (and `p-sample` with thresholding) are
//! the loop's own step kernels, with the noise given instead of drawn. CPU twin:
//! [`crate::sampler::cpu_step_per_sample`].

use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{bind_group, dispatch, uniform, vec4_or_scalar};
use crate::gpu::runtime::params::{ElementParams, MixtureParams, NoiseParams, NOISE_AUX};
use crate::gpu::{Context, GpuSteps, GpuTensor};
use crate::sampler::Sampler;

/// The inputs of one step.
#[derive(Clone, Copy, Debug)]
pub struct StepInputs<'a> {
    /// Per-sample training timesteps (validated < T and, on a respaced chain, kept).
    pub t: &'a GpuSteps,
    /// x at the step, [B, ...].
    pub x: &'a GpuTensor,
    /// The model's output.
    pub model_output: &'a GpuTensor,
    /// model_var for the learned variance types.
    pub model_var: Option<&'a GpuTensor>,
    /// The step's normals; zeros where `None` (the step then adds no noise).
    pub noise: Option<&'a GpuTensor>,
    /// Per-sample dynamic thresholds \[B\], with the sampler's thresholding.
    pub scales: Option<&'a GpuTensor>,
}

/// Record one step of `sampler` over `inputs`: returns (the new x, pred_xstart), new tensors.
pub fn step_once(
    ctx: &Context,
    encoder: &mut wgpu::CommandEncoder,
    sampler: &dyn Sampler,
    inputs: &StepInputs<'_>,
) -> Result<(GpuTensor, GpuTensor)> {
    if sampler.state_slots() != 0 || sampler.rows_by_visit() {
        return Err(Error::Unsupported(format!(
            "{} keeps history from step to step: it runs in a sampling loop, not one step at a time",
            sampler.name()
        )));
    }
    let shape = inputs.x.shape();
    let batch = inputs.t.len();
    if shape.first() != Some(&batch) {
        return Err(Error::ShapeMismatch(format!(
            "x has shape {shape:?} but t has {batch} entries"
        )));
    }
    let n = inputs.x.len();
    let sample_len = n / batch;
    let named = [
        Some(("model_output", inputs.model_output)),
        inputs.model_var.map(|v| ("model_var", v)),
        inputs.noise.map(|v| ("noise", v)),
    ];
    for (name, tensor) in named.into_iter().flatten() {
        if tensor.shape() != shape {
            return Err(Error::ShapeMismatch(format!(
                "'{name}' has shape {:?} but x has {shape:?}",
                tensor.shape()
            )));
        }
    }
    if sampler.model().var_type.is_learned() && inputs.model_var.is_none() {
        return Err(Error::MissingInput(format!(
            "model_var (required by variance type {})",
            sampler.model().var_type
        )));
    }
    let scales_len = match (sampler.threshold(), inputs.scales) {
        (Some(_), Some(s)) if s.len() == batch => batch.div_ceil(4) * 4,
        (Some(_), _) => {
            return Err(Error::MissingInput(format!(
                "the {batch} per-sample thresholds of a thresholded step"
            )))
        }
        (None, _) => 0,
    };
    let big_t = sampler.chain().num_train_timesteps();
    let out = GpuTensor::zeros(ctx, shape)?;
    let pred_xstart = GpuTensor::zeros(ctx, shape)?;
    let aux = GpuTensor::zeros(ctx, &[scales_len + n])?;
    let mut params = ElementParams::new(n as u32, sample_len as u32, big_t as u32, sampler.model());
    params.aux_noise_offset = scales_len as u32;
    let noise = NoiseParams::new(0, 0, 0, 0, batch, sample_len);
    let (kernel, groups, grid) =
        vec4_or_scalar(ctx, sampler.gpu_kernels(), batch as u32, sample_len as u32);
    let mut constants = sampler.gpu_constants();
    constants.grid = grid.grid;
    constants.noise_source = NOISE_AUX;
    let pipeline = ctx.pipeline_with(kernel, constants)?;
    let rows = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("sampler rows"),
        contents: &sampler.gpu_rows(),
        usage: wgpu::BufferUsages::STORAGE,
    })?;
    let next = ctx.create_buffer(&wgpu::BufferDescriptor {
        label: Some("next timesteps"),
        size: crate::gpu::runtime::alloc::array_bytes("next timesteps", batch, 4)?,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    })?;
    ctx.checked(|| {
        let copy = |e: &mut wgpu::CommandEncoder, from: &GpuTensor, to: &GpuTensor, at: usize| {
            e.copy_buffer_to_buffer(
                from.buffer(),
                0,
                to.buffer(),
                at as u64 * 4,
                from.len() as u64 * 4,
            )
        };
        copy(encoder, inputs.x, &out, 0);
        if let (Some(s), true) = (inputs.scales, scales_len > 0) {
            copy(encoder, s, &aux, 0);
        }
        if let Some(z) = inputs.noise {
            copy(encoder, z, &aux, scales_len);
        }
        let (p, z, f) = (
            uniform(ctx, &params),
            uniform(ctx, &noise),
            uniform(ctx, &MixtureParams::default()),
        );
        let var = inputs.model_var.unwrap_or(inputs.model_output);
        let buffers = [
            &p,
            &z,
            &rows,
            inputs.t.buffer(),
            out.buffer(),
            inputs.model_output.buffer(),
            var.buffer(),
            pred_xstart.buffer(),
            &next,
            aux.buffer(),
            &f,
        ];
        let group = bind_group(ctx, kernel, &pipeline, &buffers);
        dispatch(encoder, kernel, &pipeline, &group, groups);
    })?;
    Ok((out, pred_xstart))
}
