//! The float64 CPU reference: one module per kernel, named as its shader in `shaders/`.
//!
//! Each twin mirrors its shader: a serial loop with one iteration per GPU invocation, taking the
//! same f32 inputs the GPU sees and computing in f64 the way the original code writes it. The
//! differential tests and `ddpm check` measure every kernel against these functions.
//!
//! Every x-like input is a flat `[B * sample_len]` slice in C order; `t` holds one timestep per
//! sample. Per-sample outputs have length B.

pub mod bandwidth_copy;
pub mod bpd_loop;
pub mod common;
pub mod ddim_step;
pub mod ddpm_step;
pub mod discretized_gaussian_log_likelihood;
pub mod dynamic_threshold;
pub mod gaussian_denoiser;
pub mod mixture_denoiser;
pub mod nn;
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
pub mod sample_loop;
pub mod sample_mean;
pub mod torch_randn;
pub mod training_losses;
pub mod vb_terms_bpd;

pub use discretized_gaussian_log_likelihood::discretized_gaussian_log_likelihood;
pub use normal_kl::normal_kl;
pub use p_mean_variance::{p_mean_variance, PMeanVariance};
pub use p_sample::{p_sample, PSample};
pub use prior_bpd::prior_bpd;
pub use q_mean_variance::{q_mean_variance, QMeanVariance};
pub use q_posterior_mean_variance::{q_posterior_mean_variance, QPosterior};
pub use q_sample::q_sample;
pub use sample_mean::sample_mean;
pub use training_losses::training_losses;
pub use vb_terms_bpd::{vb_terms_bpd, VbTerms};

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
