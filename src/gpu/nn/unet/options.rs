//! [`UNetOptions`]: how [`UNetDenoiser`](super::UNetDenoiser) runs the model (Winograd, and
//! which conv kernel), by value or from the environment.

use crate::error::{Error, Result};
use crate::gpu::nn::attention::AttentionKind;
use crate::gpu::nn::conv2d_tiled::ConvKernel;
use crate::gpu::nn::tune::Tune;
use crate::gpu::runtime::Precision;

/// How [`UNetDenoiser`](super::UNetDenoiser) runs the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UNetOptions {
    /// The 3x3 stride-1 convs as Winograd F(2x2, 3x3) (16 products per 2x2 tile instead of
    /// 36 multiply-adds, the transforms as kernels of their own) rather than directly. Off by
    /// default: on lavapipe the products, 1x1 convs over K = C_in, run at about half the direct
    /// kernel's FLOP rate (each input load serves one tap instead of three), so the cifar10
    /// forward at B = 8 took 7.0-7.9 s against 7.4 s direct (two alternating runs each,
    /// CPU time 29.5-31.8 s against 30.5-30.7 s per process) with 3.4x the activation memory
    /// (225 against 67 MiB). Where FMAs rather than loads bound a conv (real GPUs) it may pay.
    pub winograd: bool,
    /// Every conv that runs directly (with `winograd`, all but the 3x3 stride-1 ones) forced
    /// onto this kernel: the register-tiled `conv2d.wgsl` (software adapters) or the
    /// workgroup-tiled `conv2d_tiled.wgsl` with a tile shape (hardware GPUs). `None`: each
    /// conv shape's kernel is chosen as `tune` says.
    pub conv: Option<ConvKernel>,
    /// How each conv shape's kernel is chosen where `conv` forces none: the fixed rule per
    /// device type (the default), or timed on the device and cached ([`Tune`]).
    pub tune: Tune,
    /// Every attention forced onto this path (materialised scores, or the one-pass kernel);
    /// `None`: the device's ([`AttentionKind::auto`]).
    pub attention: Option<AttentionKind>,
    /// How weights and activations are stored: f32 (the default), or f16 with f32
    /// arithmetic where the device has `SHADER_F16` ([`Precision`]; refused elsewhere).
    pub precision: Precision,
}

impl UNetOptions {
    /// The default options with `DDPM_KERNEL` applied, the one place the environment picks a
    /// kernel (read by `UNetDenoiser::new` and `ddpm bench`; tests force a variant with it): a
    /// comma-separated list of a conv kernel, `conv2d`, `conv2d_tiled_large` or
    /// `conv2d_tiled_small` (see [`ConvKernel::from_name`]), and an attention path,
    /// `attention_scores` or `attention_flash`; unset or empty, the defaults. An unknown name
    /// is an error, not a silent default.
    pub fn from_env() -> Result<Self> {
        let mut opts = UNetOptions::default();
        if let Ok(names) = std::env::var("DDPM_KERNEL") {
            for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                match AttentionKind::from_name(name) {
                    Some(k) => opts.attention = Some(k),
                    None => {
                        let conv = ConvKernel::from_name(name).map_err(|_| {
                            Error::Unsupported(format!(
                                "DDPM_KERNEL: no kernel named '{name}'; known: {}, {}",
                                ConvKernel::NAMES.join(", "),
                                AttentionKind::ALL.map(AttentionKind::name).join(", ")
                            ))
                        })?;
                        opts.conv = Some(conv);
                    }
                }
            }
        }
        Ok(opts)
    }
}
