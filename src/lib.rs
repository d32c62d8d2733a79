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

pub mod check;
pub mod cpu;
pub mod error;
pub mod gpu;
pub mod npy;
pub mod ops;
pub mod options;
pub mod schedule;
pub mod tolerance;

pub use error::{Error, Result};
pub use options::{LossType, MeanType, ModelOptions, VarType};
pub use schedule::{ScheduleKind, Tables};
