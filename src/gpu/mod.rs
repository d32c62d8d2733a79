//! The GPU side: a [`Context`] (device, queue, cached pipelines), device tensors, the schedule
//! tables, and one module per kernel, named as its shader in `shaders/` and its CPU twin in
//! `crate::cpu`.
//!
//! Each kernel function records its dispatches into the caller's command encoder and returns
//! freshly allocated outputs; nothing is submitted until the caller calls [`Context::submit`],
//! so an application can batch work and add its own passes around ours.

pub mod alloc;
pub mod bandwidth_copy;
pub mod bpd_loop;
pub mod context;
pub mod ddim_step;
pub mod denoiser;
pub mod discretized_gaussian_log_likelihood;
pub mod dynamic_threshold;
pub mod gaussian_denoiser;
pub mod kernels;
mod launch;
pub mod mixture_denoiser;
pub mod nn;
pub mod noise;
pub mod normal_kl;
pub mod p_mean_variance;
pub mod p_sample;
pub mod params;
pub mod philox_bits;
pub mod predict_xstart;
pub mod prior_bpd;
pub mod q_mean_variance;
pub mod q_posterior_mean_variance;
pub mod q_sample;
pub mod readback;
pub mod sample_loop;
pub mod sample_mean;
pub mod step_layout;
pub mod step_op;
pub mod tables;
pub mod tensor;
pub mod tensor_f16;
pub mod training_losses;
pub mod vb_terms_bpd;

pub use alloc::DeviceMemory;
pub use bpd_loop::calc_bpd_loop;
pub use context::Context;
pub use denoiser::{Denoiser, DenoiserIo, FusedDenoiser};
pub use discretized_gaussian_log_likelihood::discretized_gaussian_log_likelihood;
pub use dynamic_threshold::{dynamic_threshold, DynamicThreshold};
pub use gaussian_denoiser::GaussianDenoiser;
pub use mixture_denoiser::MixtureDenoiser;
pub use nn::UNetDenoiser;
pub use noise::{noise, noise_into};
pub use normal_kl::normal_kl;
pub use p_mean_variance::{p_mean_variance, PMeanVariance};
pub use p_sample::{p_sample, p_sample_f16, p_sample_into, PSample, PSampleF16};
pub use philox_bits::philox_bits;
pub use prior_bpd::prior_bpd;
pub use q_mean_variance::{q_mean_variance, QMeanVariance};
pub use q_posterior_mean_variance::{q_posterior_mean_variance, QPosterior};
pub use q_sample::{q_sample, q_sample_f16, q_sample_into};
pub use sample_loop::{p_sample_loop, SampleOptions, Samples};
pub use sample_mean::sample_mean;
pub use tables::{GpuTables, StepCoefs};
pub use tensor::{GpuSteps, GpuTensor};
pub use tensor_f16::GpuTensorF16;
pub use training_losses::training_losses;
pub use vb_terms_bpd::{vb_terms_bpd, VbTerms};

use crate::error::{Error, Result};
use crate::options::ModelOptions;

/// The model's outputs at one step on the device: the main output and, for learned variance
/// types, `model_var`.
#[derive(Clone, Copy, Debug)]
pub struct GpuModelOut<'a> {
    /// eps, x_0 or x_{t-1}, by mean type.
    pub output: &'a GpuTensor,
    /// The log-variance (learned) or v in [-1, 1] (learned-range); `None` for fixed types.
    pub var: Option<&'a GpuTensor>,
}

impl<'a> GpuModelOut<'a> {
    /// The tensor to bind as `model_var`: the real one for learned types, else `output` again
    /// (the shader never reads it then, but every binding needs a buffer).
    fn var_binding(&self, opts: &ModelOptions) -> Result<&'a GpuTensor> {
        var_binding(opts, self.output, self.var)
    }
}

/// The tensor to bind as `model_var` for either storage type: `var` for learned types (an
/// error without it), else `output` again (never read then).
fn var_binding<'a, T>(opts: &ModelOptions, output: &'a T, var: Option<&'a T>) -> Result<&'a T> {
    match (opts.var_type.is_learned(), var) {
        (true, Some(v)) => Ok(v),
        (true, None) => Err(Error::MissingInput(format!(
            "model_var (required by variance type {})",
            opts.var_type
        ))),
        (false, _) => Ok(output),
    }
}

fn u32_len(n: usize) -> u32 {
    // GpuTensor caps element counts below 2^31, so this never truncates.
    n as u32
}
