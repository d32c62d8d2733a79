//! The pipeline cache keys of src/gpu/runtime/shaders/mod.rs.

use super::*;
use crate::gpu::runtime::params::{PipelineConstants, GRID_FLAT, GRID_PER_SAMPLE};

#[test]
fn pipeline_keys_keep_only_the_constants_a_kernel_takes() {
    let c = PipelineConstants {
        grid: GRID_FLAT,
        mean_type: 2,
        var_type: 3,
        clip_denoised: 1,
        noise_source: 1,
        threshold: 1,
        clipped_eps: 1,
        keep_xstart: 1,
        nn: 0,
    };
    let model_only = PipelineConstants {
        noise_source: 0,
        threshold: 0,
        clipped_eps: 0,
        ..c
    };
    // All three kinds: the vec4 sampling steps.
    assert_eq!(Kernel::DdpmStepVec4.own_constants(c), c);
    assert_eq!(Kernel::DdimStepVec4.own_constants(c), c);
    // Whether x_0 is kept: the multistep steps only (the others always write it).
    let drop_xstart = PipelineConstants {
        keep_xstart: 0,
        ..c
    };
    assert_eq!(
        Kernel::MultistepStepVec4.own_constants(drop_xstart),
        drop_xstart
    );
    assert_eq!(Kernel::DdpmStepVec4.own_constants(drop_xstart), c);
    // Grid and model options: p_sample's vec4 kernel.
    assert_eq!(Kernel::PSampleVec4.own_constants(c), model_only);
    // Model and step options: the scalar sampling steps.
    assert_eq!(
        Kernel::DdpmStep.own_constants(c),
        PipelineConstants { grid: 0, ..c }
    );
    // Model options only: p_sample and its f16 twin.
    for k in [Kernel::PSample, Kernel::PSampleF16] {
        assert_eq!(
            k.own_constants(c),
            PipelineConstants {
                grid: 0,
                ..model_only
            }
        );
    }
    // Grid only: the vec4 kernels without model options.
    assert_eq!(
        Kernel::QSampleVec4.own_constants(c),
        PipelineConstants::on_grid(GRID_FLAT)
    );
    // The sampling loop gives the fused Gaussian step the unfused step's grid.
    assert_eq!(
        Kernel::DdpmStepGaussianVec4.vec4s_per_invocation(),
        Kernel::DdpmStepVec4.vec4s_per_invocation()
    );
    // Neither: one pipeline whatever the constants.
    assert_eq!(
        Kernel::NormalKl.own_constants(c),
        Kernel::NormalKl.own_constants(PipelineConstants::on_grid(GRID_PER_SAMPLE))
    );
}
