//! One f64 twin per kernel, named as its shader in `shaders/` and its host module in
//! [`crate::gpu::kernels`]; plus the noise streams (Philox, torch's) and the shared formulas
//! (`common`).

pub mod bandwidth_copy;
pub mod common;
pub mod ddim_step;
pub mod ddpm_step;
pub mod discretized_gaussian_log_likelihood;
pub mod dynamic_threshold;
pub mod multistep_step;
pub mod noise;
pub mod normal_kl;
pub mod p_mean_variance;
pub mod p_sample;
pub mod philox_bits;
pub mod predict_xstart;
pub mod prior_bpd;
pub mod q_mean_variance;
pub mod q_posterior_mean_variance;
pub mod q_sample;
pub mod sample_mean;
pub mod torch_randn;
pub mod training_losses;
pub mod vb_terms_bpd;

/// The model's outputs at one step: the main output and, for learned variance types, `model_var`.
#[derive(Clone, Copy, Debug)]
pub struct ModelOut<'a> {
    /// eps, x_0 or x_{t-1}, by mean type.
    pub output: &'a [f32],
    /// The log-variance (learned) or v in [-1, 1] (learned-range); `None` for fixed types.
    pub var: Option<&'a [f32]>,
}

impl ModelOut<'_> {
    pub(crate) fn var_at(&self, i: usize) -> f64 {
        self.var.map_or(0.0, |v| v[i] as f64)
    }
}

/// One step of the CPU twin over a batch, in f64.
pub struct CpuStep<'a> {
    /// Elements per sample.
    pub sample_len: usize,
    /// x at the step, updated in place.
    pub x: &'a mut [f64],
    /// The model's output at the step.
    pub output: &'a [f64],
    /// model_var for the learned variance types.
    pub var: Option<&'a [f64]>,
    /// The step's normals, one per element; `None` where the step adds no noise.
    pub noise: Option<&'a [f64]>,
    /// Per-sample dynamic thresholds, with thresholding.
    pub scales: Option<&'a [f64]>,
    /// A multistep sampler's state ([`crate::sampler::Sampler::state_slots`] x its length: the
    /// ring of history values, then the corrector's last sample), kept from step to step; the
    /// GPU loop keeps it in its pred_xstart buffer, after pred_xstart.
    pub state: Option<&'a mut [f64]>,
}
