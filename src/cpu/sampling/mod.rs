//! The f64 twins of [`crate::gpu::sampling`]: the sampling loop with its [`CpuDenoiser`]
//! interface, the exact denoisers and the variational-bound loop.

pub mod bpd_loop;
pub mod gaussian_denoiser;
pub mod mixture_denoiser;
pub mod sample_loop;

pub use sample_loop::CpuDenoiser;
