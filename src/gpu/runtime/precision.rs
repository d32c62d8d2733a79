//! How the UNet stores its weights and activations on the device: f32, or f16 with every
//! product, sum and epilogue still computed in f32 (`--precision`). The kernels of shaders/nn/
//! read and write their storage through the WGSL aliases `act` and `act4`, which
//! [`Kernel::source_with`](super::shaders::Kernel::source_with) defines from the pipeline flag
//! [`flags::F16`] (with `enable f16;`, which needs the device's
//! `Features::SHADER_F16`); the loop's own arrays (x_t, model_output) stay f32, and the forward
//! converts at its two ends (shaders/nn/cast.wgsl).

use super::context::Context;
use super::shaders::flags;
use crate::error::{Error, Result};

/// The storage type of the UNet's weights and activations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit floats (the default).
    #[default]
    F32,
    /// IEEE half floats in storage, f32 arithmetic: half the memory and bandwidth, about
    /// 3 significant decimal digits per stored value.
    F16,
}

impl Precision {
    /// Every precision, in the order of [`Precision::NAMES`].
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::F16];
    /// Their names (`--precision`).
    pub const NAMES: [&'static str; 2] = ["f32", "f16"];

    /// Its name, `f32` or `f16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => Precision::NAMES[0],
            Precision::F16 => Precision::NAMES[1],
        }
    }

    /// The precision called `name`, or an error listing the names.
    pub fn from_name(name: &str) -> Result<Self> {
        Precision::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "no precision named '{name}'; known: {}",
                    Precision::NAMES.join(", ")
                ))
            })
    }

    /// Bytes per stored value.
    pub fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }

    /// The pipeline flag of the UNet kernels that selects it (0 for f32).
    pub fn bits(self) -> u32 {
        match self {
            Precision::F32 => 0,
            Precision::F16 => flags::F16,
        }
    }

    /// Whether `ctx`'s device runs it: f16 storage needs `Features::SHADER_F16` (Vulkan's
    /// lavapipe has it; llvmpipe's GL does not).
    pub fn runs_on(self, ctx: &Context) -> bool {
        self == Precision::F32 || ctx.device.features().contains(wgpu::Features::SHADER_F16)
    }

    /// An error naming the missing feature and the adapter where it does not run.
    pub fn check(self, ctx: &Context) -> Result<()> {
        if self.runs_on(ctx) {
            return Ok(());
        }
        Err(Error::Unsupported(format!(
            "precision {}: the adapter {} ({:?}) lacks SHADER_F16",
            self.name(),
            ctx.adapter_info().name,
            ctx.adapter_info().backend
        )))
    }

    /// `data` as stored: f32 bytes, or each value rounded to the nearest f16 (ties to even;
    /// beyond f16's range, infinity).
    pub fn encode(self, data: &[f32]) -> Vec<u8> {
        match self {
            Precision::F32 => bytemuck::cast_slice(data).to_vec(),
            Precision::F16 => data
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect(),
        }
    }

    /// Stored bytes back as f32 (exact for both).
    pub fn decode(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            Precision::F32 => bytemuck::pod_collect_to_vec(bytes),
            Precision::F16 => bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        }
    }

    /// `v` as this precision stores it, back in f32: the CPU twin of a store.
    pub fn round(self, v: f32) -> f32 {
        match self {
            Precision::F32 => v,
            Precision::F16 => half::f16::from_f32(v).to_f32(),
        }
    }
}
