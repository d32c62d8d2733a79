//! # ddpm-wgpu
//!
//! The math of Denoising Diffusion Probabilistic Models (Ho et al. 2020) in hand-written WGSL
//! compute kernels run through wgpu, with a float64 CPU reference that every kernel is tested
//! against. Semantics are those of the original code's `GaussianDiffusion2`.
//!
//! ## Sampling in your own application
//!
//! Your device and queue, the digits model embedded in the crate as a [`gpu::UNetDenoiser`]
//! (weights uploaded once), a DDIM loop of 10 steps, and the samples read back:
//!
//! ```
//! use ddpm_wgpu::chain::Chain;
//! use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions};
//! use ddpm_wgpu::gpu::{Context, UNetDenoiser};
//! use ddpm_wgpu::nn::ModelFolder;
//! use ddpm_wgpu::sampler::{Ddim, DdimOptions};
//! use ddpm_wgpu::spacing::{timesteps, Spacing};
//! use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};
//!
//! // The application's own device (here: the first adapter wgpu finds).
//! let instance =
//!     wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
//! # let Ok(adapter) = pollster::block_on(instance.request_adapter(&Default::default())) else {
//! #     // No adapter: fine on a machine without one, a failure where CI asks for one.
//! #     assert!(std::env::var_os("DDPM_REQUIRE_GPU").is_none(), "no GPU adapter");
//! #     return Ok(());
//! # };
//! # #[cfg(any())]
//! let adapter = pollster::block_on(instance.request_adapter(&Default::default()))?;
//! let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
//!     required_limits: adapter.limits(),
//!     ..Default::default()
//! }))?;
//! let ctx = Context::from_device(device, queue);
//!
//! // The embedded model (compiled into the crate) and the schedule it was trained with.
//! let unet = ModelFolder::resolve("embedded:digits")?.unet()?;
//! let mut denoiser = UNetDenoiser::new(&ctx, &unet, 1000)?;
//! let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
//!
//! // DDIM over 10 of the 1000 steps (diffusers' leading spacing), eta 0.
//! let kept = timesteps(1000, 10, &Spacing::Leading { steps_offset: 0 })?;
//! let chain = Chain::respaced(&tables, &kept)?;
//! let sampler = Ddim::new(chain, ModelOptions::default(), None, DdimOptions::default())?;
//!
//! // Two 16x16 digits; x_T and every step run on the device, read back once at the end.
//! let shape = [2, 1, 16, 16];
//! let opts = LoopOptions { seed: 7, ..LoopOptions::default() };
//! let samples = sample_loop(&ctx, &sampler, &mut denoiser, &shape, &opts, &mut |_, _| {})?;
//! assert_eq!(samples.x0.len(), 2 * 16 * 16);
//! assert!(samples.x0.iter().all(|v| v.is_finite() && v.abs() <= 1.0 + 1e-6));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A model of your own implements [`gpu::Denoiser`] (`examples/embed.rs`); the kernels one by
//! one record into your encoder ([`gpu::q_sample`] and the rest of [`gpu`]).
//!
//! ## The modules
//!
//! - [`schedule`], [`spacing`], [`chain`]: beta schedules, the derived f64 tables, respaced
//!   chains.
//! - [`gpu`]: the device side: [`gpu::runtime`] ([`gpu::Context`], tensors, tables),
//!   [`gpu::kernels`] (one module per kernel), [`gpu::sampling`] (denoisers and loops),
//!   [`gpu::nn`] (the UNet on the device).
//! - [`cpu`]: the f64 reference, one twin per kernel, loop and layer.
//! - [`sampler`]: DDPM, DDIM and inverse DDIM as parts of either loop.
//! - [`nn`]: diffusers' `UNet2DModel` loaded from its folder as a tree of layers.
//! - [`ops`] and [`check`]: the named operations on arrays on either backend, and every
//!   kernel checked against its twin on your adapter; [`npy`], [`picture`], [`dataset`],
//!   [`tolerance`]: arrays, PNG grids, the mixture's data and the budgets of the checks.
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
