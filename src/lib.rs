//! # ddpm-wgpu
//!
//! The math of Denoising Diffusion Probabilistic Models (Ho et al. 2020) in hand-written WGSL
//! compute kernels run through wgpu, with a float64 CPU reference that every kernel is tested
//! against. Semantics are those of the original code's `GaussianDiffusion2`.
//!
//! - [`schedule`]: beta schedules and the derived f64 tables.
//! - [`gpu`]: the device side: [`gpu::Context`], tensors, one module per kernel.
//! - [`cpu`]: the f64 reference, one twin per kernel.
//! - [`ops`]: the named operations of `ddpm op`, on either backend, with input validation.
//! - [`check`]: every kernel and option on seeded inputs, GPU against CPU (`ddpm check`).
//! - [`nn`]: diffusers' `UNet2DModel` loaded from its folder as a tree of layers; their f64
//!   forward is [`cpu::nn`].
//!
//! The f64 reference needs no device:
//!
//! ```
//! use ddpm_wgpu::{cpu, ScheduleKind, Tables};
//!
//! let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
//! // Two samples of three elements, at t = 0 and t = 999.
//! let x_t = cpu::q_sample(&tables, &[0, 999], 3, &[1.0, -1.0, 0.5, 0.0, 0.25, -0.75], &[0.0; 6])?;
//! assert!((x_t[0] - (1.0f64 - 1e-4).sqrt()).abs() < 1e-15);
//! assert!(x_t[3..].iter().all(|v| v.abs() < 0.01)); // little signal left at t = T-1
//! # Ok::<(), ddpm_wgpu::Error>(())
//! ```
//!
//! The GPU side mirrors it: see [`gpu`] and the README's embedding example.

#![warn(missing_docs)]

pub mod chain;
pub mod check;
pub mod cpu;
pub mod dataset;
pub mod error;
pub mod gpu;
pub mod nn;
pub mod npy;
pub mod ops;
pub mod options;
pub mod picture;
pub mod sampler;
pub mod schedule;
pub mod spacing;
pub mod tolerance;

pub use error::{Error, Result};
pub use options::{LossType, MeanType, ModelOptions, VarType};
pub use schedule::{ScheduleKind, Tables};
