//! Sampling on the device: the [`Denoiser`] interface a model implements, the built-in exact
//! denoisers (mixture, Gaussian), the sampling loop that drives any
//! [`Sampler`](crate::sampler::Sampler) with any denoiser, one step run alone on given inputs
//! (`step_op`) and the variational-bound loop.

pub mod bpd_loop;
pub mod denoiser;
pub mod gaussian_denoiser;
pub mod mixture_denoiser;
pub mod sample_loop;
pub mod step_op;

pub use bpd_loop::calc_bpd_loop;
pub use denoiser::{Denoiser, DenoiserIo, FusedDenoiser};
pub use gaussian_denoiser::GaussianDenoiser;
pub use mixture_denoiser::MixtureDenoiser;
pub use sample_loop::{p_sample_loop, SampleOptions, Samples};
