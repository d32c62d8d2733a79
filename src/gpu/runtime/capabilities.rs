//! What an adapter offers the kernels beyond WebGPU's baseline, as `ddpm info` reports it: the
//! subgroup sizes it may run (8 on llvmpipe, 32 on NVIDIA and Apple, 32 or 64 on AMD), f16 in
//! shaders, timestamp queries (for timing kernels on the device), wgpu's experimental
//! cooperative matrices, and the workgroup memory a tiled kernel may stage operands in.

use super::context::Context;

/// The adapter capabilities that decide which kernel variants can run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The adapter's smallest and largest subgroup size (wgpu's bucketed values).
    pub subgroup_sizes: (u32, u32),
    /// Subgroup operations enabled on the device (`Features::SUBGROUP`).
    pub subgroups: bool,
    /// `Features::SHADER_F16` offered.
    pub shader_f16: bool,
    /// `Features::TIMESTAMP_QUERY` offered.
    pub timestamp_query: bool,
    /// `Features::EXPERIMENTAL_COOPERATIVE_MATRIX` offered.
    pub cooperative_matrix: bool,
    /// The cooperative matrix configurations listed, as `MxNxK A/B type -> C type`.
    pub cooperative_matrix_configs: Vec<String>,
    /// `max_compute_workgroup_storage_size` of the device, bytes.
    pub workgroup_storage: u32,
}

/// Whether `device` is a GPU (discrete, integrated or virtual): the device types whose kernel
/// variants differ from a software adapter's (llvmpipe, lavapipe) or an unknown type's.
pub fn is_gpu(device: wgpu::DeviceType) -> bool {
    matches!(
        device,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

impl Capabilities {
    /// The capabilities of `ctx`'s adapter and device.
    pub fn of(ctx: &Context) -> Self {
        let (info, offered) = (ctx.adapter_info(), ctx.adapter_features());
        Capabilities {
            subgroup_sizes: (info.subgroup_min_size, info.subgroup_max_size),
            subgroups: ctx.device.features().contains(wgpu::Features::SUBGROUP),
            shader_f16: offered.contains(wgpu::Features::SHADER_F16),
            timestamp_query: offered.contains(wgpu::Features::TIMESTAMP_QUERY),
            cooperative_matrix: offered.contains(wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX),
            cooperative_matrix_configs: ctx
                .cooperative_matrix_configs()
                .iter()
                .map(|c| {
                    format!(
                        "{}x{}x{} {:?} -> {:?}",
                        c.m_size, c.n_size, c.k_size, c.ab_type, c.cr_type
                    )
                })
                .collect(),
            workgroup_storage: ctx.limits().max_compute_workgroup_storage_size,
        }
    }

    /// One `name: value` line each, for `ddpm info` (which prints the workgroup memory among
    /// the limits).
    pub fn lines(&self) -> Vec<String> {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let (lo, hi) = self.subgroup_sizes;
        vec![
            format!(
                "subgroups:   sizes {lo} to {hi}, {}",
                if self.subgroups {
                    "enabled"
                } else {
                    "not enabled"
                }
            ),
            format!("shader f16:  {}", yes(self.shader_f16)),
            format!("timestamps:  {}", yes(self.timestamp_query)),
            match self.cooperative_matrix_configs.is_empty() {
                true => format!("coop matrix: {}", yes(self.cooperative_matrix)),
                false => format!(
                    "coop matrix: {} ({})",
                    yes(self.cooperative_matrix),
                    self.cooperative_matrix_configs.join(", ")
                ),
            },
        ]
    }
}
