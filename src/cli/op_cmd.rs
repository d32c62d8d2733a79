//! `ddpm op`: one operation on .npy inputs, one .npy per output.

use crate::step_args::StepArgs;
use crate::{Device, ScheduleArgs};
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::runtime::Precision;
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::npy;
use ddpm_wgpu::ops::{self, Backend, Op, OpSettings, StepSettings};
use ddpm_wgpu::{LossType, MeanType, ModelOptions, VarType};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct OpArgs {
    /// The operation, e.g. q-sample, p-sample, ddim-step, vb-terms-bpd (see README for the table).
    op: String,
    /// An input as NAME=PATH.npy; repeat for each input.
    #[arg(long = "input", value_name = "NAME=PATH.npy")]
    inputs: Vec<String>,
    /// Folder for the outputs, one DIR/<name>.npy each (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Run on the GPU kernels or on the f64 CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    device: Device,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// What model_output predicts: eps, xstart, xprev, v.
    #[arg(long, default_value = "eps")]
    mean_type: String,
    /// Variance: fixedsmall, fixedlarge, learned, learned-range.
    #[arg(long, default_value = "fixedlarge")]
    var_type: String,
    /// training-losses objective: mse, kl.
    #[arg(long, default_value = "mse")]
    loss_type: String,
    /// Clip pred_xstart to [-R, R] (default: true for p-mean-variance, p-sample and the DDIM
    /// steps, else false).
    #[arg(long, value_name = "true|false")]
    clip_denoised: Option<bool>,
    /// R of the clip (diffusers' `clip_sample_range`).
    #[arg(long, value_name = "R", default_value_t = 1.0)]
    clip_range: f64,
    #[command(flatten)]
    step: StepArgs,
    /// `unet`: the model folder (config.json + diffusion_pytorch_model.safetensors, or a
    /// pipeline folder), or `synthetic:cifar10`.
    #[arg(long, value_name = "DIR")]
    model: Option<String>,
    /// `unet` on the GPU: store the weights and activations as `f32` (the default) or `f16`
    /// (every sum still in f32; needs the adapter's SHADER_F16).
    #[arg(long, value_name = "f32|f16")]
    precision: Option<String>,
}

pub fn run(args: &OpArgs) -> Result<()> {
    if args.op == "unet" {
        let model = args
            .model
            .as_deref()
            .ok_or_else(|| Error::MissingInput("--model DIR (for op unet)".into()))?;
        let precision = match (&args.precision, args.device) {
            (None, _) => Precision::F32,
            (Some(name), Device::Gpu) => Precision::from_name(name)?,
            (Some(name), Device::Cpu) => {
                Precision::from_name(name)?;
                return Err(Error::Unsupported(
                    "--precision sets how the GPU stores the UNet; --device cpu runs the f64 twin"
                        .into(),
                ));
            }
        };
        return crate::unet_op_cmd::run(
            model,
            &read_inputs(&args.inputs)?,
            (args.device, precision),
            &args.out_dir,
        );
    }
    for (given, flag) in [
        (args.model.is_some(), "--model"),
        (args.precision.is_some(), "--precision"),
    ] {
        if given {
            return Err(Error::Unsupported(format!(
                "{flag} applies to op unet, not {}",
                args.op
            )));
        }
    }
    let op: Op = args.op.parse()?;
    let ctx = match args.device {
        Device::Cpu => None,
        Device::Gpu => Some(Context::new()?),
    };
    let tables = args.schedule.tables_for(ctx.as_ref())?;
    let step = StepSettings {
        respace: args.step.respaced(tables.num_timesteps())?,
        ddim: args.step.ddim()?,
        threshold: args.step.threshold()?,
    };
    let settings = OpSettings {
        tables,
        model: ModelOptions {
            mean_type: args.mean_type.parse::<MeanType>()?,
            var_type: args.var_type.parse::<VarType>()?,
            clip_denoised: args
                .clip_denoised
                .unwrap_or_else(|| op.default_clip_denoised()),
            clip_range: args.clip_range,
        },
        loss: args.loss_type.parse::<LossType>()?,
        step,
    };
    let inputs = read_inputs(&args.inputs)?;
    let backend = match &ctx {
        None => Backend::Cpu,
        Some(ctx) => Backend::Gpu(ctx),
    };
    let outputs = ops::run(op, &settings, &inputs, backend)?;
    write_all(&args.out_dir, &outputs)
}

/// The `--input NAME=PATH.npy` arrays by name, each name once.
fn read_inputs(specs: &[String]) -> Result<BTreeMap<String, npy::NpyArray>> {
    let mut inputs = BTreeMap::new();
    for spec in specs {
        let (name, path) = spec
            .split_once('=')
            .ok_or_else(|| Error::Unsupported(format!("--input '{spec}' is not NAME=PATH.npy")))?;
        if inputs.insert(name.to_string(), npy::read(path)?).is_some() {
            return Err(Error::Unsupported(format!("input '{name}' given twice")));
        }
    }
    Ok(inputs)
}

/// Write every output or none: each goes to a hidden temporary file first, and only when all
/// are written are they renamed into place.
pub(crate) fn write_all(dir: &Path, outputs: &[ops::Output]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut staged = Vec::new();
    for o in outputs {
        let tmp = dir.join(format!(".{}.npy.partial", o.name));
        let data: Vec<f32> = o.data.iter().map(|&v| v as f32).collect();
        if let Err(e) = npy::write_f32(&tmp, &o.shape, &data) {
            for (t, _) in &staged {
                let _ = std::fs::remove_file(t);
            }
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        staged.push((tmp, dir.join(format!("{}.npy", o.name))));
    }
    for (tmp, path) in staged {
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
