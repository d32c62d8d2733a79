//! The ancestral DDPM sampler (the original's `p_sample_loop`) on the full chain or a respaced
//! one: shaders/ddpm_step*.wgsl, rows = the chain's [`StepCoefs`] by training timestep; CPU
//! twin: `cpu::ddpm_step`.

use super::{next_of, step_constants, validate, CpuStep, Sampler, Threshold};
use crate::chain::Chain;
use crate::error::Result;
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::{FusedDenoiser, StepCoefs};
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// Ancestral sampling: x_{t'} = mean + exp(0.5 logvar) z, t' the previous kept step, no noise at
/// the chain's last step (improved-diffusion's rule; diffusers adds noise at any t > 0, which
/// differs only where a chain ends above 0, e.g. `leading` spacing with `steps_offset` 1).
#[derive(Clone, Debug)]
pub struct Ddpm {
    chain: Chain,
    by_timestep: Tables,
    model: ModelOptions,
    threshold: Option<Threshold>,
}

impl Ddpm {
    /// The sampler on `chain`, reading the model's output as `model` says, with optional
    /// dynamic thresholding of pred_xstart (which replaces clipping, as in diffusers).
    pub fn new(chain: Chain, model: ModelOptions, threshold: Option<Threshold>) -> Result<Self> {
        validate(&chain, &model, threshold)?;
        Ok(Ddpm {
            by_timestep: chain.by_timestep(),
            chain,
            model,
            threshold,
        })
    }

    /// The chain's tables by training timestep (what the step kernel and the denoiser read).
    pub fn tables_by_timestep(&self) -> &Tables {
        &self.by_timestep
    }
}

impl Sampler for Ddpm {
    fn name(&self) -> &'static str {
        "ddpm"
    }

    fn chain(&self) -> &Chain {
        &self.chain
    }

    fn model(&self) -> &ModelOptions {
        &self.model
    }

    fn threshold(&self) -> Option<Threshold> {
        self.threshold
    }

    fn draws_noise(&self, t: usize) -> bool {
        self.chain.steps.first() != Some(&t)
    }

    fn gpu_rows(&self) -> Vec<u8> {
        let tb = &self.by_timestep;
        let next = next_of(&self.order(), tb.num_timesteps());
        let rows: Vec<StepCoefs> = (0..tb.num_timesteps())
            .map(|t| StepCoefs {
                next_t: next[t],
                ..StepCoefs::from_tables(tb, t)
            })
            .collect();
        bytemuck::cast_slice(&rows).to_vec()
    }

    fn gpu_kernels(&self) -> (Kernel, Kernel) {
        (Kernel::DdpmStepVec4, Kernel::DdpmStep)
    }

    fn gpu_constants(&self) -> PipelineConstants {
        step_constants(&self.model, self.threshold, false)
    }

    fn gpu_fused(&self, denoiser: &FusedDenoiser) -> Option<Kernel> {
        match denoiser {
            FusedDenoiser::Gaussian { model, .. }
                if self.threshold.is_none()
                    && model.mean_type == self.model.mean_type
                    && model.var_type == self.model.var_type =>
            {
                Some(Kernel::DdpmStepGaussianVec4)
            }
            _ => None,
        }
    }

    fn cpu_step(&self, at: super::Visit, step: CpuStep<'_>) -> Result<Vec<f64>> {
        let t = at.t;
        // No noise at the chain's last step, whatever the caller passed (the ops pass it for
        // every sample).
        let noise = step.noise.filter(|_| self.draws_noise(t));
        crate::cpu::kernels::ddpm_step::ddpm_step(
            &self.by_timestep,
            &self.model,
            t,
            CpuStep { noise, ..step },
        )
    }
}
