//! `ddpm op unet --model DIR --input x=X.npy --input t=T.npy --out-dir D [--device gpu|cpu]`:
//! one forward of a diffusers UNet2DModel, written as D/model_output.npy (float32
//! [B, out_channels, H, W]).

use crate::Device;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::{Context, UNetDenoiser};
use ddpm_wgpu::nn::ModelFolder;
use ddpm_wgpu::npy::{NpyArray, NpyData};
use ddpm_wgpu::ops::Output;
use std::collections::BTreeMap;
use std::path::Path;

/// Run the forward of the model at `model` on `inputs` (x and t) and write its output to `dir`.
pub fn run(
    model: &str,
    inputs: &BTreeMap<String, NpyArray>,
    device: Device,
    dir: &Path,
) -> Result<()> {
    if let Some(other) = inputs.keys().find(|k| !matches!(k.as_str(), "x" | "t")) {
        return Err(Error::UnexpectedInput {
            op: "unet",
            name: other.clone(),
            expected: "x, t".into(),
        });
    }
    let folder = ModelFolder::resolve(model)?;
    let unet = folder.unet()?;
    let big_t = folder
        .scheduler
        .as_ref()
        .map_or(1000, |s| s.num_train_timesteps);
    let x = inputs
        .get("x")
        .ok_or_else(|| Error::MissingInput("x".into()))?;
    let NpyData::F32(xs) = &x.data else {
        return Err(Error::WrongDtype {
            name: "x".into(),
            found: x.data.dtype().into(),
            expected: "float32",
        });
    };
    let shape: [usize; 4] = <[usize; 4]>::try_from(x.shape.as_slice()).map_err(|_| {
        Error::ShapeMismatch(format!(
            "x must be [B, {}, H, W], got {:?}",
            unet.config.in_channels, x.shape
        ))
    })?;
    if let Some(index) = xs.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            name: "x".into(),
            index,
        });
    }
    let t = timesteps(inputs, shape[0], big_t)?;
    unet.check_sample_size(shape[2], shape[3])?;
    let out: Vec<f64> = match device {
        Device::Gpu => {
            let ctx = Context::new()?;
            let den = UNetDenoiser::new(&ctx, &unet, big_t)?;
            den.forward(&ctx, xs, &shape, &t)?
                .into_iter()
                .map(f64::from)
                .collect()
        }
        Device::Cpu => ddpm_wgpu::cpu::nn::unet::forward(&unet, xs, shape, &t)?,
    };
    let out_shape = vec![shape[0], unet.config.out_channels, shape[2], shape[3]];
    crate::write_all(
        dir,
        &[Output {
            name: "model_output",
            shape: out_shape,
            data: out,
        }],
    )
}

/// t: int32 or int64 \[B\], each in [0, T).
fn timesteps(inputs: &BTreeMap<String, NpyArray>, batch: usize, big_t: usize) -> Result<Vec<u32>> {
    let t = inputs
        .get("t")
        .ok_or_else(|| Error::MissingInput("t".into()))?;
    let values: Vec<i64> = match &t.data {
        NpyData::I32(v) => v.iter().map(|&a| i64::from(a)).collect(),
        NpyData::I64(v) => v.clone(),
        other => {
            return Err(Error::WrongDtype {
                name: "t".into(),
                found: other.dtype().into(),
                expected: "int32 or int64",
            })
        }
    };
    if t.shape != [batch] || values.len() != batch {
        return Err(Error::ShapeMismatch(format!(
            "t has shape {:?} but x has {batch} samples: t must be [{batch}]",
            t.shape
        )));
    }
    values
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            u32::try_from(value)
                .ok()
                .filter(|&v| (v as usize) < big_t)
                .ok_or(Error::TimestepOutOfRange {
                    index,
                    value,
                    num_timesteps: big_t,
                })
        })
        .collect()
}
