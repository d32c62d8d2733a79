//! The model interface of the sampling loop: a [`Denoiser`] records its GPU work for one step
//! into the loop's command encoder, reading x_t and the per-sample timesteps and writing
//! model_output (and model_var for the learned variance types).

use crate::error::Result;
pub use crate::gpu::kernels::DenoiserIo;
use crate::gpu::Context;
use crate::options::ModelOptions;

/// An elementwise model that the sampling step kernel can compute itself, saving the model's
/// own pass and its model_output traffic every step.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum FusedDenoiser {
    /// [`GaussianDenoiser`](crate::gpu::GaussianDenoiser): the exact denoiser of N(0, S^2 I) data
    /// with S^2 = `data_var`, writing as `model` says.
    Gaussian {
        /// S^2.
        data_var: f64,
        /// The mean and variance types it writes.
        model: ModelOptions,
    },
}

/// A model the sampler can run: any wgpu work that fills `model_output` from `x_t` and `t`.
///
/// An application implements it with its own WGSL (see `examples/`), or any wgpu-based network.
pub trait Denoiser {
    /// Called once before the loop (and again for each chunk of a split batch) with the buffers
    /// the loop will use: create bind groups and scratch buffers here, not per step.
    fn prepare(&mut self, ctx: &Context, io: &DenoiserIo<'_>) -> Result<()>;

    /// Record one step's work into `encoder`. Called T times with the same buffers as
    /// `prepare`; must not read anything back to the host.
    fn record(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        io: &DenoiserIo<'_>,
    ) -> Result<()>;

    /// The built-in elementwise model this denoiser is, if any. Where the sampler can fuse it
    /// (the model writes the sampler's own mean and variance types, sample_len % 4 == 0) its
    /// step kernel computes the model output itself and `record` is not called. Applications'
    /// denoisers keep the default, `None`.
    fn fused(&self) -> Option<FusedDenoiser> {
        None
    }

    /// Whether it reads [`DenoiserIo::times`], the non-integer model times of the
    /// sigma-space samplers at linspace spacing. A denoiser that keeps the default, `false`,
    /// is refused by those samplers (it would read the visit indices as timesteps).
    fn takes_times(&self) -> bool {
        false
    }

    /// Take one class label per sample of the next `prepare`'s chunk (a class-conditional
    /// model; the loop calls it before each chunk's `prepare` with
    /// [`LoopOptions::class_labels`](crate::sampler::LoopOptions::class_labels)). Refused by
    /// default: an unconditional denoiser has no use for labels.
    fn set_class_labels(&mut self, ctx: &Context, labels: &[u32]) -> Result<()> {
        let _ = (ctx, labels);
        Err(crate::error::Error::labels_refused())
    }

    /// Bytes of device memory the denoiser holds after `prepare` (weights and scratch), for
    /// memory reports such as `ddpm bench`. The default says nothing is known: 0.
    fn device_bytes(&self) -> u64 {
        0
    }
}
