//! `--tune` (the conv kernel choice) and `--precision` (the UNet's storage type) of `ddpm
//! sample`, `ddpm bpd` and `ddpm bench --model`.

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::nn::tune::Tune;
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::runtime::Precision;

/// How the UNet's conv kernels are chosen and its values stored.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TuneArgs {
    /// How the UNet's kernel for each conv shape is chosen: `off` (a fixed rule per device
    /// type: the register-tiled kernel on software adapters, the workgroup-tiled one on GPUs),
    /// `auto` (the default: timed on the device at first use, a bounded search, and cached per
    /// adapter and driver in $XDG_CACHE_HOME/ddpm-wgpu/) or `full` (every variant timed at the
    /// batch at hand, the cache rewritten). DDPM_KERNEL=NAME forces one kernel instead.
    #[arg(long, value_name = "off|auto|full")]
    pub tune: Option<String>,
    /// How the UNet stores its weights and activations: `f32` (the default) or `f16` (half the
    /// memory and bandwidth, every sum still in f32; needs the adapter's SHADER_F16, which
    /// Vulkan's lavapipe has and llvmpipe's GL lacks). Sampling quality with f16:
    /// benches/unet.md.
    #[arg(long, value_name = "f32|f16")]
    pub precision: Option<String>,
}

impl TuneArgs {
    /// The UNet's options: `DDPM_KERNEL` (`UNetOptions::from_env`) and the mode (auto unless
    /// given).
    pub fn options(&self) -> Result<UNetOptions> {
        let mut opts = UNetOptions::from_env()?;
        opts.tune = match &self.tune {
            Some(name) => Tune::from_name(name)?,
            None => Tune::Auto,
        };
        if let Some(name) = &self.precision {
            opts.precision = Precision::from_name(name)?;
        }
        Ok(opts)
    }

    /// An error where `--tune` or `--precision` was given to a run without a UNet on the
    /// device (`what` says what it runs); an unknown mode's own error first.
    pub fn refuse_without_unet(&self, what: &str) -> Result<()> {
        if let Some(name) = &self.precision {
            Precision::from_name(name)?;
            return Err(Error::Unsupported(format!(
                "--precision sets how the UNet is stored on the device; {what} runs none"
            )));
        }
        match &self.tune {
            Some(name) => Err(Tune::from_name(name).err().unwrap_or_else(|| {
                Error::Unsupported(format!(
                    "--tune chooses the UNet's conv kernels; {what} runs none"
                ))
            })),
            None => Ok(()),
        }
    }
}
