//! One host module per kernel, named as its shader in `shaders/` and its f64 twin in
//! [`crate::cpu::kernels`]. Each function checks shapes, allocates its outputs, records its
//! dispatches into the caller's encoder and returns; nothing is submitted until the caller
//! calls [`Context::submit`](crate::gpu::Context::submit).

pub mod bandwidth_copy;
pub mod ddim_step;
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
pub mod training_losses;
pub mod vb_terms_bpd;

// The kernel table lives in the runtime (the pipeline cache is keyed by it); its WGSL is what
// an embedder prepends to a shader of their own, so it is named here too.
pub use crate::gpu::runtime::shaders::{Kernel, COMMON_WGSL, NN_COMMON_WGSL, PHILOX_WGSL, WG_SIZE};

use crate::error::{Error, Result};
use crate::gpu::runtime::{GpuTables, GpuTensor};
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

/// The buffers a denoiser reads and writes. They stay the same for the whole loop (x_t is
/// updated in place, `timesteps` is rewritten before each step), so bind groups can be made
/// once in [`Denoiser::prepare`](crate::gpu::Denoiser::prepare). Defined with the kernels,
/// which read these buffers too (thresholding's `predict_xstart`).
#[derive(Clone, Copy, Debug)]
pub struct DenoiserIo<'a> {
    /// x_t, shape [B, ...]. Read only.
    pub x_t: &'a GpuTensor,
    /// B u32 timesteps (`array<u32>`), all equal to the current step. Read only.
    pub timesteps: &'a wgpu::Buffer,
    /// The schedule tables (`array<StepCoefs>`, see shaders/common.wgsl), if the model wants
    /// abar_t and friends. Read only.
    pub tables: &'a GpuTables,
    /// Where the model writes eps, x_0 or x_{t-1} (per the sampler's mean type), x_t's shape.
    pub model_output: &'a GpuTensor,
    /// Where the model writes its variance output for the learned types; `None` otherwise.
    pub model_var: Option<&'a GpuTensor>,
    /// The model's timesteps where they are not integers (a sampler with
    /// [`model_times`](crate::sampler::Sampler::model_times), e.g. Euler on linspace spacing):
    /// `timesteps[b]` is then an index into these, and the model is called at
    /// `times[timesteps[b]]`. Only a denoiser whose
    /// [`takes_times`](crate::gpu::Denoiser::takes_times) is true is handed them. `None`
    /// otherwise: `timesteps` are the training timesteps themselves.
    pub times: Option<&'a [f64]>,
}
