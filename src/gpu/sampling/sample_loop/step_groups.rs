//! The step kernel's bind groups of one chunk of the sampling loop, made once before its
//! first step: one per rows window of the plan (one for all visits where the rows are by
//! timestep, one per visit where they are by visit), and with the denoiser fused, two per
//! window, the second with `timesteps` and `next` swapped.

use crate::gpu::runtime::launch::bind_group_of;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::sampling::sample_loop::plan::LoopPlan;
use crate::gpu::sampling::sample_loop::steps::LoopSteps;
use crate::gpu::{Context, GpuTensor};

/// The buffers a step binds besides the rows and the timesteps.
pub(super) struct StepBuffers<'a> {
    /// ElementParams, NoiseParams and the fused denoiser's MixtureParams uniforms.
    pub uniforms: [&'a wgpu::Buffer; 3],
    pub x: &'a GpuTensor,
    pub model_output: &'a GpuTensor,
    /// model_var for the learned types (model_output is bound in its place otherwise).
    pub model_var: Option<&'a GpuTensor>,
    pub pred_xstart: &'a GpuTensor,
    pub aux: &'a wgpu::Buffer,
    pub steps: &'a LoopSteps,
}

/// The groups, used in turn from the first visit on (see the module doc). Call it inside
/// `Context::checked`.
pub(super) fn step_groups(
    ctx: &Context,
    plan: &LoopPlan<'_>,
    (kernel, pipeline): (Kernel, &wgpu::ComputePipeline),
    b: &StepBuffers<'_>,
    fused: bool,
) -> Vec<wgpu::BindGroup> {
    let [p, z, f] = b.uniforms;
    // The step layout (src/gpu/runtime/step_layout.rs), in binding order; the rows (binding
    // 2) through the visit's window.
    let group = |now: &wgpu::Buffer, next: &wgpu::Buffer, (offset, size): (u64, u64)| {
        let var = b.model_var.unwrap_or(b.model_output);
        let rows = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &plan.rows,
            offset,
            size: wgpu::BufferSize::new(size),
        });
        let buffers = [
            p.as_entire_binding(),
            z.as_entire_binding(),
            rows,
            now.as_entire_binding(),
            b.x.buffer().as_entire_binding(),
            b.model_output.buffer().as_entire_binding(),
            var.buffer().as_entire_binding(),
            b.pred_xstart.buffer().as_entire_binding(),
            next.as_entire_binding(),
            b.aux.as_entire_binding(),
            f.as_entire_binding(),
        ];
        bind_group_of(ctx, kernel, pipeline, buffers)
    };
    let turns = if fused { 2 } else { 1 };
    let per_visit = plan.windows.len() > 1;
    let count = if per_visit { plan.order.len() } else { turns };
    let steps = b.steps;
    (0..count)
        .map(|k| {
            let window = plan.window(k);
            if k % turns == 0 {
                group(&steps.timesteps, &steps.next, window)
            } else {
                group(&steps.next, &steps.timesteps, window)
            }
        })
        .collect()
}
