//! The one bind-group layout of every sampling-step kernel (ddpm_step, ddim_step and their vec4
//! and fused twins; shaders/shared/step_bindings*.wgsl), given explicitly so that the loop binds
//! the same eleven buffers whatever the sampler: a kernel that does not read a binding (DDIM
//! reads no model_var, only the fused step reads binding 10) still accepts it. Eight storage
//! buffers, WebGPU's default limit per stage, so embedders' default devices run it.

/// Bindings of the step layout.
pub const STEP_BINDINGS: u32 = 11;

/// (binding, kind): 'u' uniform, 'r' read-only storage, 'w' read-write storage.
const KINDS: [(u32, char); STEP_BINDINGS as usize] = [
    (0, 'u'),  // ElementParams
    (1, 'u'),  // NoiseParams
    (2, 'r'),  // the sampler's rows, by training timestep
    (3, 'r'),  // timesteps
    (4, 'w'),  // x
    (5, 'r'),  // model_output
    (6, 'r'),  // model_var
    (7, 'w'),  // pred_xstart
    (8, 'w'),  // next_timesteps
    (9, 'r'),  // aux: thresholds and host-drawn noise
    (10, 'u'), // the fused denoiser's MixtureParams
];

fn entries() -> Vec<wgpu::BindGroupLayoutEntry> {
    KINDS
        .iter()
        .map(|&(binding, kind)| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: match kind {
                'u' => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                other => wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage {
                        read_only: other == 'r',
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
            },
            count: None,
        })
        .collect()
}

/// The pipeline layout of the step kernels.
pub(crate) fn pipeline_layout(device: &wgpu::Device) -> wgpu::PipelineLayout {
    let group = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("sampling step"),
        entries: &entries(),
    });
    device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some("sampling step"),
        bind_group_layouts: &[Some(&group)],
        immediate_size: 0,
    })
}
