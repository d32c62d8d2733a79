//! What each kernel of the table takes: its bindings' layout (the sampling-step kernels'),
//! its pipeline constants (grid, model options, step options) and vec4s per invocation, and
//! from those the pipeline cache's key.

use super::Kernel;
use crate::gpu::runtime::params::PipelineConstants;

impl Kernel {
    /// Whether this is a sampling-step kernel: the explicit layout of
    /// [`step_layout`](crate::gpu::runtime::step_layout), and the step constants (`NOISE_SOURCE`,
    /// `THRESHOLD`, `CLIPPED_EPS`).
    pub fn is_step(self) -> bool {
        matches!(
            self,
            Kernel::DdpmStep
                | Kernel::DdpmStepVec4
                | Kernel::DdpmStepGaussianVec4
                | Kernel::DdimStep
                | Kernel::DdimStepVec4
                | Kernel::DdimStepGaussianVec4
                | Kernel::MultistepStep
                | Kernel::MultistepStepVec4
        )
    }

    /// Whether the kernel has a `GRID` pipeline constant (`vec4_grid` in src/gpu/runtime/launch.rs).
    pub fn takes_grid(self) -> bool {
        matches!(
            self,
            Kernel::QSampleVec4
                | Kernel::PSampleVec4
                | Kernel::DdpmStepVec4
                | Kernel::GaussianDenoiserVec4
                | Kernel::DdpmStepGaussianVec4
                | Kernel::MixtureOutputVec4
                | Kernel::QSampleF16
                | Kernel::PSampleF16
                | Kernel::DdimStepVec4
                | Kernel::DdimStepGaussianVec4
                | Kernel::MultistepStepVec4
        )
    }

    /// vec4s (or f16 groups of eight) per invocation of a vec4 kernel (its
    /// `VEC4S_PER_INVOCATION` constant; 1 for the others). On llvmpipe several vec4s per
    /// invocation share the lane-by-lane loads of the timestep and schedule row: with two,
    /// p_sample went from 0.68-0.69 to 0.76-0.92 of the copy kernel at 2^24 elements, q_sample
    /// from 0.74-0.79 to 0.82-0.95; with four, p_sample's median of five alternating runs went
    /// from 0.79 to 0.87 at 2^24 (equal at 2^20) and q_sample's from 0.85 to 0.88 (three runs;
    /// `ddpm bench`); with eight, p_sample fell to 0.34-0.66. The copy and the f16 kernels take
    /// two (with four, p_sample_f16 was slower: 3.0-3.1 against 2.6 ms at 2^20). The sampling
    /// loop's kernels and the mixture's output keep one: more were within this machine's noise
    /// (two alternating runs of the step with two gave 1200-1340 steps/s at [16, 3, 32, 32]
    /// against 2090 with one, a later run with one 1400; the mixture output with four, sharing
    /// each weight load, showed no clear change in three runs).
    pub fn vec4s_per_invocation(self) -> u32 {
        match self {
            Kernel::QSampleVec4 | Kernel::PSampleVec4 => 4,
            Kernel::QSampleF16 | Kernel::PSampleF16 | Kernel::BandwidthCopy => 2,
            _ => 1,
        }
    }

    /// Whether the kernel takes its model options as pipeline constants (`MEAN_TYPE`,
    /// `VAR_TYPE`, `CLIP_DENOISED` in common.wgsl) instead of from `ElementParams` (the mixture
    /// output kernels: from `MixtureParams`, whose mean and variance types they replace).
    pub fn takes_model_constants(self) -> bool {
        matches!(
            self,
            Kernel::PSample
                | Kernel::PSampleVec4
                | Kernel::PSampleF16
                | Kernel::DdpmStep
                | Kernel::DdpmStepVec4
                | Kernel::DdpmStepGaussianVec4
                | Kernel::MixtureOutput
                | Kernel::MixtureOutputVec4
                | Kernel::DdimStep
                | Kernel::DdimStepVec4
                | Kernel::PredictXstart
                | Kernel::DdimStepGaussianVec4
                | Kernel::MultistepStep
                | Kernel::MultistepStepVec4
        )
    }

    /// `constants` with the ones this kernel does not take zeroed: the pipeline cache's key.
    pub fn own_constants(self, constants: PipelineConstants) -> PipelineConstants {
        let mut own = PipelineConstants::on_grid(0);
        if self.takes_grid() {
            own.grid = constants.grid;
        }
        if self.takes_model_constants() {
            own.mean_type = constants.mean_type;
            own.var_type = constants.var_type;
            own.clip_denoised = constants.clip_denoised;
        }
        if self.is_nn() {
            own.nn = constants.nn;
        }
        if self.is_step() {
            own.noise_source = constants.noise_source;
            own.threshold = constants.threshold;
            own.clipped_eps = constants.clipped_eps;
        }
        if matches!(self, Kernel::MultistepStep | Kernel::MultistepStepVec4) {
            own.keep_xstart = constants.keep_xstart;
        }
        own
    }
}
