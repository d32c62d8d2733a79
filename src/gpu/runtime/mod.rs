//! The runtime every kernel stands on: the [`Context`] (device, queue, pipeline cache, error
//! scopes, device-lost state), buffer creation checked against the device's limits
//! ([`alloc`]), device tensors and the schedule tables, the kernel table ([`shaders`]) with
//! its pipeline constants, uniform parameter structs ([`params`]), dispatch helpers and
//! read-back.

pub mod alloc;
pub mod capabilities;
pub mod context;
pub(crate) mod launch;
pub mod params;
pub mod pipeline;
pub mod precision;
pub mod readback;
pub mod shaders;
pub mod step_layout;
pub mod tables;
pub mod tensor;
pub mod tensor_f16;
pub mod timing;

pub use alloc::DeviceMemory;
pub use context::Context;
pub use precision::Precision;
pub use tables::{GpuTables, StepCoefs};
pub use tensor::{GpuSteps, GpuTensor};
pub use tensor_f16::GpuTensorF16;
