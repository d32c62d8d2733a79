//! `ddpm sample`'s arguments, read by the command (`sample_cmd.rs`) and by the set-up of what
//! it samples with (`sample_setup.rs`).

use crate::mixture_args::MixtureArgs;
use crate::step_args::StepArgs;
use crate::{Device, ScheduleArgs};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SampleArgs {
    /// A diffusers UNet2DModel folder (config.json + diffusion_pytorch_model.safetensors, with
    /// its scheduler_config.json; or a pipeline folder), `embedded:digits`,
    /// `embedded:digits-cond` or `synthetic:cifar10`. Its scheduler config gives the schedule
    /// and the defaults of the sampler options below. Default: the embedded digits model
    /// (`embedded:digits-cond`, the class-conditional one, when a class flag is given), sampled
    /// with 10 DPM-Solver++ 2M steps unless --sampler, --steps or --respace is given.
    #[arg(long, value_name = "DIR")]
    pub model: Option<String>,
    /// model (a UNet: --model, or the embedded digits) or mixture (the exact denoiser of the
    /// points of --data, the 30 drawn digits by default). Default: mixture when --data is
    /// given, else model.
    #[arg(long, value_name = "model|mixture")]
    pub denoiser: Option<String>,
    #[command(flatten)]
    pub mixture: MixtureArgs,
    /// Number of samples.
    #[arg(long, default_value_t = 16)]
    pub count: usize,
    #[command(flatten)]
    pub schedule: ScheduleArgs,
    /// Seed of every noise draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output: .npy (float32 [N, ...]) or .png (a grid of the samples).
    #[arg(long, value_name = "FILE.npy|FILE.png", default_value = "samples.png")]
    pub out: PathBuf,
    /// Also write a PNG strip of the denoising from x_T to x_0 for up to 8 samples.
    #[arg(long, value_name = "FILE.png")]
    pub progress_out: Option<PathBuf>,
    /// Run on the GPU kernels or on the f64 CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    pub device: Device,
    #[command(flatten)]
    pub tune: crate::tune_args::TuneArgs,
    /// ddpm (ancestral steps), ddim, DPM-Solver++ (diffusers' DPMSolverMultistepScheduler:
    /// dpm++2m, dpm++3m, or the SDE form dpm++2m-sde), unipc (UniPCMultistepScheduler), euler
    /// or euler-a (EulerDiscreteScheduler, EulerAncestralDiscreteScheduler), heun
    /// (HeunDiscreteScheduler), lms (LMSDiscreteScheduler; these four call the model at
    /// non-integer timesteps on linspace spacing, their classes' default), pndm
    /// (PNDMScheduler); the last nine need --steps (default: the scheduler config's class, else
    /// ddpm).
    #[arg(long)]
    pub sampler: Option<String>,
    /// Take N of the T steps, spaced as --spacing says (default: all T).
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// leading, linspace, trailing (diffusers) or improved:SPEC, for --steps (default: leading,
    /// or the model's timestep_spacing).
    #[arg(long)]
    pub spacing: Option<String>,
    #[command(flatten)]
    pub step: StepArgs,
    #[command(flatten)]
    pub solver: crate::sampler_pick::SolverArgs,
    /// What the denoiser writes and the sampler reads: eps, xstart, xprev (ddpm only), v
    /// (default: eps, or the model's prediction_type).
    #[arg(long)]
    pub mean_type: Option<String>,
    /// Clip pred_xstart to [-R, R] (default: true, or the model's clip_sample).
    #[arg(long, value_name = "true|false")]
    pub clip_denoised: Option<bool>,
    /// R of the clip (default: 1, or the model's clip_sample_range).
    #[arg(long, value_name = "R")]
    pub clip_range: Option<f64>,
    /// Noise: philox (in the shader) or torch (torch.manual_seed + torch.randn, as diffusers'
    /// pipelines draw it).
    #[arg(long, default_value = "philox")]
    pub noise: String,
    /// The index of the first sample in the whole run: samples K .. K + count - 1, the same
    /// bits as those rows of one run of K + count samples (Philox noise only, no --x-t).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub first_index: u32,
    /// Start from this x_T (float32 [count, ...]) instead of drawing it.
    #[arg(long, value_name = "FILE.npy")]
    pub x_t: Option<PathBuf>,
    #[command(flatten)]
    pub classes: crate::class_args::ClassArgs,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    pub quiet: bool,
}
