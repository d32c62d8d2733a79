//! What `ddpm sample` and `ddpm bpd` denoise with: the exact mixture of a data set or a UNet,
//! built on the GPU or as its f64 CPU twin from one description.

use ddpm_wgpu::cpu::nn::unet::UNetCpu;
use ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture;
use ddpm_wgpu::cpu::sampling::sample_loop::CpuDenoiser;
use ddpm_wgpu::dataset::Dataset;
use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::{Context, Denoiser, MixtureDenoiser, UNetDenoiser};
use ddpm_wgpu::nn::{Guidance, UNet2D};
use ddpm_wgpu::{ModelOptions, Tables};

/// The denoiser and what it needs to be built on either device.
pub(crate) enum Source {
    /// The exact denoiser of the mixture of `data`'s points with spread `sigma`.
    Mixture { data: Dataset, sigma: f64 },
    /// A diffusers UNet2DModel, the name it was opened by and how its kernels are chosen.
    Model {
        unet: Box<UNet2D>,
        name: String,
        opts: UNetOptions,
    },
}

fn unguided() -> ddpm_wgpu::error::Error {
    ddpm_wgpu::error::Error::Unsupported(
        "guidance needs a class-conditional model; the mixture has no classes".into(),
    )
}

impl Source {
    /// The denoiser on the GPU, for a chain of `big_t` training timesteps, guided as `guidance`
    /// says (a class-conditional model's).
    pub(crate) fn gpu(
        &self,
        ctx: &Context,
        model: ModelOptions,
        big_t: usize,
        guidance: Option<(Guidance, u32)>,
    ) -> Result<Box<dyn Denoiser>> {
        Ok(match (self, guidance) {
            (Source::Mixture { data, sigma }, None) => {
                Box::new(MixtureDenoiser::from_dataset(ctx, data, *sigma, model)?)
            }
            (Source::Mixture { .. }, Some(_)) => return Err(unguided()),
            (Source::Model { unet, opts, .. }, g) => {
                let mut den = UNetDenoiser::with_options(ctx, unet, big_t, *opts)?;
                if let Some((g, null)) = g {
                    den.set_guidance(Some(g), null)?;
                }
                Box::new(den)
            }
        })
    }

    /// Run `f` with the CPU twin. `by_t` are the chain's tables by training timestep, as the GPU
    /// loops give them to their denoiser; `point_shape` is one sample's ([C, H, W] for a model).
    pub(crate) fn with_cpu<T>(
        &self,
        by_t: &Tables,
        (model, guidance): (ModelOptions, Option<(Guidance, u32)>),
        point_shape: &[usize],
        f: impl FnOnce(&dyn CpuDenoiser) -> Result<T>,
    ) -> Result<T> {
        match (self, guidance) {
            (Source::Mixture { data, sigma }, None) => {
                f(&Mixture::from_dataset(by_t, data, *sigma, model))
            }
            (Source::Mixture { .. }, Some(_)) => Err(unguided()),
            (Source::Model { unet, .. }, g) => {
                let twin = UNetCpu::new(unet, point_shape[1], point_shape[2])?;
                let twin = match g {
                    Some((g, null)) => twin.with_guidance(Some(g), null)?,
                    None => twin,
                };
                f(&twin)
            }
        }
    }

    /// What the denoiser is, for the output line.
    pub(crate) fn describe(&self) -> String {
        match self {
            Source::Mixture { data, sigma } => {
                format!("the mixture of {} points (S = {sigma})", data.len())
            }
            Source::Model { unet, name, .. } => format!(
                "{name} ({:.1}M parameters)",
                unet.num_parameters() as f64 / 1e6
            ),
        }
    }
}
