//! Compiling a kernel: the pipeline constants it takes (the pipeline cache's key) and its
//! pipeline, with the explicit layout of the sampling-step kernels.

use super::kernels::Kernel;
use super::params::PipelineConstants;

impl Kernel {
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
        if self.is_step() {
            own.noise_source = constants.noise_source;
            own.threshold = constants.threshold;
            own.clipped_eps = constants.clipped_eps;
        }
        own
    }

    /// The pipeline, with the pipeline constants this kernel takes set from `constants`.
    pub(crate) fn create_pipeline(
        self,
        device: &wgpu::Device,
        constants: PipelineConstants,
    ) -> wgpu::ComputePipeline {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(self.name()),
            source: wgpu::ShaderSource::Wgsl(self.source().into()),
        });
        // Declared in common.wgsl, so every module has it; fixed per kernel, so not in the key.
        let per_invocation = f64::from(self.vec4s_per_invocation());
        let mut values = vec![("VEC4S_PER_INVOCATION", per_invocation)];
        if self.takes_grid() {
            values.push(("GRID", f64::from(constants.grid)));
        }
        if self.takes_model_constants() {
            values.push(("MEAN_TYPE", f64::from(constants.mean_type)));
            values.push(("VAR_TYPE", f64::from(constants.var_type)));
            values.push(("CLIP_DENOISED", f64::from(constants.clip_denoised)));
        }
        let layout = self.is_step().then(|| {
            values.push(("NOISE_SOURCE", f64::from(constants.noise_source)));
            values.push(("THRESHOLD", f64::from(constants.threshold)));
            values.push(("CLIPPED_EPS", f64::from(constants.clipped_eps)));
            super::step_layout::pipeline_layout(device)
        });
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(self.name()),
            layout: layout.as_ref(),
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &values,
                ..Default::default()
            },
            cache: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::kernels::Kernel;
    use crate::gpu::params::{GRID_FLAT, GRID_PER_SAMPLE};

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
}
