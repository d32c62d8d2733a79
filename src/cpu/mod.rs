//! The float64 CPU reference, in the rooms of [`crate::gpu`]: [`kernels`] (one twin per
//! kernel, named as its shader in `shaders/`), [`sampling`] (the loops and exact denoisers) and
//! [`nn`] (the UNet's layers).
//!
//! Each twin mirrors its shader: a serial loop with one iteration per GPU invocation, taking the
//! same f32 inputs the GPU sees and computing in f64 the way the original code writes it. The
//! differential tests and `ddpm check` measure every kernel against these functions.
//!
//! Every x-like input is a flat `[B * sample_len]` slice in C order; `t` holds one timestep per
//! sample. Per-sample outputs have length B.

pub mod kernels;
pub mod nn;
pub mod sampling;

pub use kernels::discretized_gaussian_log_likelihood::discretized_gaussian_log_likelihood;
pub use kernels::dynamic_threshold::{dynamic_threshold, dynamic_threshold_torch_f32};
pub use kernels::normal_kl::normal_kl;
pub use kernels::p_mean_variance::{p_mean_variance, PMeanVariance};
pub use kernels::p_sample::{p_sample, PSample};
pub use kernels::prior_bpd::prior_bpd;
pub use kernels::q_mean_variance::{q_mean_variance, QMeanVariance};
pub use kernels::q_posterior_mean_variance::{q_posterior_mean_variance, QPosterior};
pub use kernels::q_sample::q_sample;
pub use kernels::sample_mean::sample_mean;
pub use kernels::training_losses::training_losses;
pub use kernels::vb_terms_bpd::{vb_terms_bpd, VbTerms};
pub use kernels::ModelOut;
