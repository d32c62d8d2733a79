//! The GPU side, in four rooms by role, each layer using only those before it:
//!
//! - [`runtime`]: the [`Context`] (device, queue, cached pipelines, errors), buffers checked
//!   against the device's limits, [`GpuTensor`] and the schedule tables on the device, the
//!   kernel table.
//! - [`kernels`]: one host module per kernel, named as its shader in `shaders/` and its CPU
//!   twin in [`crate::cpu::kernels`].
//! - [`sampling`]: the [`Denoiser`] interface, the exact denoisers, the sampling and bpd loops.
//! - [`nn`]: diffusers' `UNet2DModel` as WGSL kernels, [`UNetDenoiser`].
//!
//! Each kernel function records its dispatches into the caller's command encoder and returns
//! freshly allocated outputs; nothing is submitted until the caller calls [`Context::submit`],
//! so an application can batch work and add its own passes around ours. The items an
//! application uses most are re-exported here.

pub mod kernels;
pub mod nn;
pub mod runtime;
pub mod sampling;

pub use kernels::discretized_gaussian_log_likelihood::discretized_gaussian_log_likelihood;
pub use kernels::dynamic_threshold::{dynamic_threshold, DynamicThreshold};
pub use kernels::noise::{noise, noise_into};
pub use kernels::normal_kl::normal_kl;
pub use kernels::p_mean_variance::{p_mean_variance, PMeanVariance};
pub use kernels::p_sample::{p_sample, p_sample_f16, p_sample_into, PSample, PSampleF16};
pub use kernels::philox_bits::philox_bits;
pub use kernels::prior_bpd::prior_bpd;
pub use kernels::q_mean_variance::{q_mean_variance, QMeanVariance};
pub use kernels::q_posterior_mean_variance::{q_posterior_mean_variance, QPosterior};
pub use kernels::q_sample::{q_sample, q_sample_f16, q_sample_into};
pub use kernels::sample_mean::sample_mean;
pub use kernels::training_losses::training_losses;
pub use kernels::vb_terms_bpd::{vb_terms_bpd, VbTerms};
pub use kernels::GpuModelOut;
pub use nn::UNetDenoiser;
pub use runtime::context;
pub use runtime::{Context, DeviceMemory, GpuSteps, GpuTables, GpuTensor, GpuTensorF16, StepCoefs};
pub use sampling::sample_loop;
pub use sampling::{calc_bpd_loop, p_sample_loop, SampleOptions, Samples};
pub use sampling::{Denoiser, DenoiserIo, FusedDenoiser, GaussianDenoiser, MixtureDenoiser};
