//! The UNet layer kernels' part of the kernel table (src/gpu/runtime/shaders/mod.rs): which kernels they
//! are, their workgroup size, and the WGSL prepended to their own file.

use crate::gpu::runtime::shaders::{Kernel, WG_SIZE};

impl Kernel {
    /// Whether this is a UNet layer kernel (shaders/nn/): prepended with
    /// [`NN_COMMON_WGSL`](crate::gpu::runtime::shaders::NN_COMMON_WGSL) only, its options in
    /// [`PipelineConstants::nn`](crate::gpu::runtime::params::PipelineConstants::nn).
    pub fn is_nn(self) -> bool {
        matches!(
            self,
            Kernel::Conv2d
                | Kernel::Conv2dSubgroup
                | Kernel::Conv2dTiled
                | Kernel::WinogradInput
                | Kernel::WinogradOutput
                | Kernel::GroupNorm
                | Kernel::GroupNormSubgroup
                | Kernel::GroupNormSubgroups
                | Kernel::Linear
                | Kernel::Attention
                | Kernel::AttentionSubgroup
                | Kernel::AttentionSoftmax
                | Kernel::AttentionSoftmaxRows
                | Kernel::AttentionSoftmaxRowsSubgroups
                | Kernel::AttentionFlash
                | Kernel::Guidance
                | Kernel::CastIn
                | Kernel::CastOut
        )
    }

    /// Invocations per workgroup: [`WG_SIZE`], or 64 for the UNet layer kernels (register tiles
    /// per invocation; see shaders/nn/conv2d.wgsl), 8 for the subgroup group norm, the large
    /// tile shape's for the tiled conv (its `WG` is a pipeline constant: `tiles::TileShape`).
    pub fn workgroup_size(self) -> u32 {
        match self {
            Kernel::Conv2dTiled => super::tiles::TileShape::LARGE.invocations(),
            // One subgroup of 8 per workgroup (shaders/nn/group_norm_sum_subgroup.wgsl).
            Kernel::GroupNormSubgroup => 8,
            k if k.is_nn() => 64,
            _ => WG_SIZE,
        }
    }

    /// What goes between the nn common WGSL and the kernel's file: the conv's weight loading
    /// and 3x3 order, per invocation (a kernel row at a time) or shared across a subgroup (all
    /// nine taps at once), and every conv's fused epilogue (conv_epilogue.wgsl); the group norm's sums, over a workgroup tree, one subgroup of 8, or subgroups of any size; the
    /// attention product's left operand, per lane or shared across a subgroup.
    pub(crate) fn nn_prelude(self) -> &'static str {
        match self {
            Kernel::Conv2d => concat!(
                include_str!("../../../../shaders/nn/conv2d_weights.wgsl"),
                include_str!("../../../../shaders/nn/conv_epilogue.wgsl")
            ),
            Kernel::Conv2dSubgroup => concat!(
                include_str!("../../../../shaders/nn/conv2d_weights_subgroup.wgsl"),
                include_str!("../../../../shaders/nn/conv2d_nine_taps.wgsl"),
                include_str!("../../../../shaders/nn/conv_epilogue.wgsl")
            ),
            Kernel::Conv2dTiled => include_str!("../../../../shaders/nn/conv_epilogue.wgsl"),
            Kernel::GroupNorm => include_str!("../../../../shaders/nn/group_norm_sum.wgsl"),
            Kernel::Attention => include_str!("../../../../shaders/nn/attention_a.wgsl"),
            Kernel::AttentionSubgroup => {
                include_str!("../../../../shaders/nn/attention_a_subgroup.wgsl")
            }
            Kernel::GroupNormSubgroup => {
                include_str!("../../../../shaders/nn/group_norm_sum_subgroup.wgsl")
            }
            Kernel::GroupNormSubgroups => {
                include_str!("../../../../shaders/nn/group_norm_sum_subgroups.wgsl")
            }
            Kernel::AttentionSoftmaxRows => concat!(
                include_str!("../../../../shaders/nn/group_norm_sum.wgsl"),
                include_str!("../../../../shaders/nn/workgroup_max.wgsl")
            ),
            Kernel::AttentionSoftmaxRowsSubgroups => concat!(
                include_str!("../../../../shaders/nn/group_norm_sum_subgroups.wgsl"),
                include_str!("../../../../shaders/nn/workgroup_max_subgroups.wgsl")
            ),
            Kernel::CastIn => "alias cast_src = f32;\nalias cast_dst = act;\n",
            Kernel::CastOut => "alias cast_src = act;\nalias cast_dst = f32;\n",
            _ => "",
        }
    }
}
