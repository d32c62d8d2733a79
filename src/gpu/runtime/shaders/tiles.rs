//! The tile shapes of the workgroup-tiled conv (shaders/nn/conv2d_tiled.wgsl): its `BM`, `BN`,
//! `BK`, `TM`, `TN` and `WG` pipeline constants, chosen by the [`flags::TILE_SMALL`] bit, and
//! the check of a shape against the device's limits, made before a pipeline is created (wgpu
//! would otherwise fail, or abort, on a workgroup too large for the device).
//!
//! Which kernel a conv runs, [`ConvKernel`], and what the tuner keys that choice by,
//! [`ConvKey`], live here too, below the layers that choose it.
//!
//! [`flags::TILE_SMALL`]: super::flags::TILE_SMALL

use crate::error::{Error, Result};
use std::collections::HashMap;

/// Floats of padding after each row of a workgroup tile (`TILE_PAD` in conv2d_tiled.wgsl):
/// 16 bytes, so that consecutive rows do not start on the same memory bank.
pub const TILE_PAD: u32 = 4;
/// The register tile's largest side (`TILE_MAX` in conv2d_tiled.wgsl): its private arrays.
pub const TILE_MAX: u32 = 8;

/// Which conv kernel a layer runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConvKernel {
    /// shaders/nn/conv2d.wgsl: register-tiled, no workgroup memory (software adapters).
    #[default]
    Direct,
    /// shaders/nn/conv2d_tiled.wgsl with this tile shape.
    Tiled(TileShape),
}

impl ConvKernel {
    /// The names `DDPM_KERNEL` takes: `conv2d` (the direct kernel), `conv2d_tiled_large`,
    /// `conv2d_tiled_small`.
    pub const NAMES: [&'static str; 3] = ["conv2d", "conv2d_tiled_large", "conv2d_tiled_small"];

    /// The kernel named `name` (one of [`ConvKernel::NAMES`]).
    pub fn from_name(name: &str) -> Result<Self> {
        match name.trim() {
            "conv2d" => Ok(ConvKernel::Direct),
            "conv2d_tiled_large" => Ok(ConvKernel::Tiled(TileShape::LARGE)),
            "conv2d_tiled_small" => Ok(ConvKernel::Tiled(TileShape::SMALL)),
            other => Err(Error::Unsupported(format!(
                "no conv kernel named '{other}'; known: {}",
                ConvKernel::NAMES.join(", ")
            ))),
        }
    }

    /// Its name, as [`ConvKernel::from_name`] takes it.
    pub fn name(&self) -> &'static str {
        match self {
            ConvKernel::Direct => "conv2d",
            ConvKernel::Tiled(s) => s.name,
        }
    }

    /// `Ok` where a device with `limits` can run this kernel: a tile shape's workgroup within
    /// them (checked when a model is uploaded, before any pipeline exists).
    pub fn check(&self, limits: &wgpu::Limits) -> Result<()> {
        match self {
            ConvKernel::Direct => Ok(()),
            ConvKernel::Tiled(s) => s.check(limits),
        }
    }
}

/// One tile shape of the tiled conv, as named pipeline constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileShape {
    /// The name `DDPM_KERNEL` and the profiles use.
    pub name: &'static str,
    /// Output channels per workgroup tile (`BM`, the GEMM's M).
    pub bm: u32,
    /// Output pixels over the batch per workgroup tile (`BN`, the GEMM's N).
    pub bn: u32,
    /// K (input channels x taps) per staging step (`BK`).
    pub bk: u32,
    /// Channels per invocation (`TM`).
    pub tm: u32,
    /// Pixels per invocation (`TN`).
    pub tn: u32,
}

impl TileShape {
    /// 128 x 128 x 16, 256 invocations of 8 x 8 outputs: llama.cpp's Vulkan conv2d_mm large
    /// shape and gpu.cpp's WGSL matmul (about 16 TFLOP/s on an RTX 3090 in GLSL), for layers
    /// that fill a device with such tiles.
    pub const LARGE: TileShape = TileShape {
        name: "conv2d_tiled_large",
        bm: 128,
        bn: 128,
        bk: 16,
        tm: 8,
        tn: 8,
    };
    /// 32 x 64 x 16, 128 invocations of 4 x 4 outputs: layers too small to give a device
    /// enough large tiles (few channels, or small images at small batches).
    pub const SMALL: TileShape = TileShape {
        name: "conv2d_tiled_small",
        bm: 32,
        bn: 64,
        bk: 16,
        tm: 4,
        tn: 4,
    };

    /// Invocations per workgroup (`WG`).
    pub fn invocations(&self) -> u32 {
        (self.bm / self.tm) * (self.bn / self.tn)
    }

    /// Bytes of workgroup memory: both padded tiles in f32.
    pub fn workgroup_bytes(&self) -> u32 {
        4 * self.bk * (self.bm + TILE_PAD + self.bn + TILE_PAD)
    }

    /// Whether the kernel's staging and register loops cover this shape exactly (see the
    /// shader's header): the shapes above do (tests/nn_conv2d_tiled.rs).
    pub fn is_consistent(&self) -> bool {
        let wg = self.invocations();
        self.tm > 0
            && self.tn > 0
            && self.tm <= TILE_MAX
            && self.tn <= TILE_MAX
            && self.bm.is_multiple_of(self.tm)
            && self.bm.is_multiple_of(4)
            && self.bn.is_multiple_of(self.tn)
            && wg > 0
            && wg.is_multiple_of(self.bm)
            && wg.is_multiple_of(self.bn)
            && (self.bk * self.bm).is_multiple_of(wg)
            && (self.bk * self.bn).is_multiple_of(wg)
    }

    /// `Ok` where `limits` allow this shape's workgroup (memory, invocations, x size); else
    /// [`Error::Unsupported`] naming what it needs and what the device allows.
    pub fn check(&self, limits: &wgpu::Limits) -> Result<()> {
        let (bytes, wg) = (self.workgroup_bytes(), self.invocations());
        // The flags carry one bit of shape (TILE_SMALL): other shapes have no pipeline.
        if !self.is_consistent() || (*self != Self::LARGE && *self != Self::SMALL) {
            return Err(Error::Unsupported(format!(
                "{}: tile shape {self:?} does not fit the kernel's loops",
                self.name
            )));
        }
        if bytes > limits.max_compute_workgroup_storage_size {
            return Err(Error::Unsupported(format!(
                "{} needs {bytes} bytes of workgroup memory; the device allows {}",
                self.name, limits.max_compute_workgroup_storage_size
            )));
        }
        let max_wg = limits
            .max_compute_invocations_per_workgroup
            .min(limits.max_compute_workgroup_size_x);
        if wg > max_wg {
            return Err(Error::Unsupported(format!(
                "{} needs {wg} invocations per workgroup; the device allows {max_wg}",
                self.name
            )));
        }
        Ok(())
    }

    /// The shader's tile constants.
    pub(crate) fn constants(&self) -> [(&'static str, f64); 6] {
        [
            ("BM", f64::from(self.bm)),
            ("BN", f64::from(self.bn)),
            ("BK", f64::from(self.bk)),
            ("TM", f64::from(self.tm)),
            ("TN", f64::from(self.tn)),
            ("WG", f64::from(self.invocations())),
        ]
    }
}

/// A conv layer's shape per sample and the options that change its cost: what a choice is
/// keyed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConvKey {
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Kernel size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding at the top and left.
    pub pad: (usize, usize),
    /// The input's stored height.
    pub h: usize,
    /// The input's stored width.
    pub w: usize,
    /// Read as its nearest 2x enlargement (Upsample2D).
    pub upsample: bool,
    /// The fused options' bits (see `ConvOp::conv_key`).
    pub epilogue: u8,
    /// Weights and activations stored as f16 (`Precision::F16`): other loads, another time.
    pub f16: bool,
}

impl ConvKey {
    /// Multiply-adds per sample.
    pub fn macs(&self) -> u64 {
        let up = if self.upsample { 2 } else { 1 };
        let pixels = (self.h * up / self.stride.max(1)) * (self.w * up / self.stride.max(1));
        (self.cin * self.cout * self.kernel * self.kernel * pixels) as u64
    }

    /// The cache's key: every field, e.g. `64-128-k3s1p1,1-16x16u-e3`.
    pub fn cache_key(&self) -> String {
        format!(
            "{}-{}-k{}s{}p{},{}-{}x{}{}-e{}{}",
            self.cin,
            self.cout,
            self.kernel,
            self.stride,
            self.pad.0,
            self.pad.1,
            self.h,
            self.w,
            if self.upsample { "u" } else { "" },
            self.epilogue,
            if self.f16 { "-f16" } else { "" }
        )
    }
}

impl std::fmt::Display for ConvKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (k, s) = (self.kernel, self.stride);
        write!(
            f,
            "{k}x{k}/{s} {}->{} {}x{}",
            self.cin, self.cout, self.h, self.w
        )?;
        if self.upsample {
            write!(f, " up")?;
        }
        let names = ["center", "temb", "residual", "split", "kept"];
        for (i, name) in names.iter().enumerate() {
            if self.epilogue & (1 << i) != 0 {
                write!(f, " +{name}")?;
            }
        }
        if self.f16 {
            write!(f, " f16")?;
        }
        Ok(())
    }
}

/// The kernel of every conv shape of a forward, as the tuner chose them.
pub type Choices = HashMap<ConvKey, ConvKernel>;
