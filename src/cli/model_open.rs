//! Opening a UNet model for `ddpm sample` and `ddpm bpd`: the folder a spec names, its
//! scheduler config's sampling settings and sample shape, and the refusal of the options a
//! model does not take.

use crate::mixture_args::MixtureArgs;
use crate::ScheduleArgs;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::nn::scheduler_map::Sampling;
use ddpm_wgpu::nn::{ModelFolder, UNet2D};

/// Refuses the options a model does not take: a model's schedule is its scheduler config, and
/// the mixture's data options mean nothing to it.
pub(crate) fn check_model_args(schedule: &ScheduleArgs, mixture: &MixtureArgs) -> Result<()> {
    if !schedule.is_default() {
        return Err(Error::Unsupported(
            "a model's schedule is its scheduler config: --schedule, --timesteps, --beta-start, \
             --beta-end, --betas and --rescale-zero-snr go with the mixture denoiser"
                .into(),
        ));
    }
    mixture.check_unused_by_model()
}

/// The UNet `spec` names (a folder, `embedded:digits`, `synthetic:cifar10`), its scheduler
/// config's sampling settings (the defaults when it has none), and the shape of one sample,
/// [C, H, W]; `ctx` refuses schedule tables too large for it.
pub(crate) fn open_model(
    spec: &str,
    ctx: Option<&Context>,
) -> Result<(UNet2D, Sampling, Vec<usize>)> {
    let folder = ModelFolder::resolve(spec)?;
    let unet = folder.unet()?;
    let sampling = folder.scheduler.clone().unwrap_or_default().sampling()?;
    let (h, w) = unet
        .config
        .sample_size
        .ok_or_else(|| Error::UnsupportedModel(format!("{spec}: the config has no sample_size")))?;
    unet.check_sample_size(h, w)?;
    if let Some(ctx) = ctx {
        ddpm_wgpu::gpu::GpuTables::check_fits(ctx, sampling.tables.num_timesteps())?;
    }
    let point_shape = vec![unet.config.in_channels, h, w];
    Ok((unet, sampling, point_shape))
}
