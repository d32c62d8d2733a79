//! `ddpm op unet --model DIR --input x=X.npy --input t=T.npy [--input class_labels=L.npy]
//! --out-dir D [--device gpu|cpu] [--precision f32|f16]`: one forward of a diffusers UNet2DModel, written as
//! D/model_output.npy (float32 [B, out_channels, H, W]). A class-conditional model takes
//! class_labels and needs them, as diffusers does: int32 or int64 \[B\] (a table's rows, or any
//! non-negative label of a `timestep` model), float32 \[B, D\] for an `identity` model (D the
//! time-embedding width).

use crate::Device;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::runtime::Precision;
use ddpm_wgpu::gpu::{Context, UNetDenoiser};
use ddpm_wgpu::nn::{ClassKind, ClassLabels, ModelFolder};
use ddpm_wgpu::npy::{NpyArray, NpyData};
use ddpm_wgpu::ops::Output;
use std::collections::BTreeMap;
use std::path::Path;

/// Run the forward of the model at `model` on `inputs` (x, t and class_labels) and write its
/// output to `dir`.
pub fn run(
    model: &str,
    inputs: &BTreeMap<String, NpyArray>,
    (device, precision): (Device, Precision),
    dir: &Path,
) -> Result<()> {
    let names = |k: &str| matches!(k, "x" | "t" | "class_labels");
    if let Some(other) = inputs.keys().find(|k| !names(k)) {
        return Err(Error::UnexpectedInput {
            op: "unet",
            name: other.clone(),
            expected: "x, t, class_labels".into(),
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
    let t = ints(inputs, "t", shape[0])?.ok_or_else(|| Error::MissingInput("t".into()))?;
    let t = in_range(&t, big_t)?;
    let kind = unet.class_embedding.as_ref().map(|c| c.kind());
    let given = class_inputs(inputs, kind, shape[0])?;
    let labels = given.as_ref().map(ClassInputs::labels);
    unet.check_sample_size(shape[2], shape[3])?;
    ddpm_wgpu::cpu::nn::unet::check_class_labels(&unet, shape[0], labels)?;
    let out: Vec<f64> = match device {
        Device::Gpu => {
            let ctx = Context::new()?;
            let opts = UNetOptions {
                precision,
                ..UNetOptions::from_env()?
            };
            let den = UNetDenoiser::with_options(&ctx, &unet, big_t, opts)?;
            den.forward_classes(&ctx, xs, &shape, &t, labels)?
                .into_iter()
                .map(f64::from)
                .collect()
        }
        Device::Cpu => {
            let x = xs.iter().map(|&v| f64::from(v)).collect();
            let times: Vec<f32> = t.iter().map(|&v| v as f32).collect();
            ddpm_wgpu::cpu::nn::unet::forward_classes(&unet, x, shape, &times, labels)?
        }
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

/// class_labels as read: integer labels, or an identity model's rows \[B, D\].
enum ClassInputs {
    Ids(Vec<u32>),
    Rows(Vec<f32>, usize),
}

impl ClassInputs {
    fn labels(&self) -> ClassLabels<'_> {
        match self {
            ClassInputs::Ids(l) => ClassLabels::Ids(l),
            ClassInputs::Rows(rows, width) => ClassLabels::Rows {
                rows,
                width: *width,
            },
        }
    }
}

/// class_labels, if given, as the model's kind takes them: float32 \[B, D\] for identity
/// (another dtype or shape refused, naming D), else int32 or int64 \[B\], non-negative.
fn class_inputs(
    inputs: &BTreeMap<String, NpyArray>,
    kind: Option<ClassKind>,
    batch: usize,
) -> Result<Option<ClassInputs>> {
    let Some(a) = inputs.get("class_labels") else {
        return Ok(None);
    };
    if let Some(ClassKind::Identity { width }) = kind {
        let NpyData::F32(rows) = &a.data else {
            return Err(Error::WrongDtype {
                name: "class_labels".into(),
                found: a.data.dtype().into(),
                expected: "float32 [B, D] (a class_embed_type identity model's rows)",
            });
        };
        if a.shape != [batch, width] {
            return Err(Error::ShapeMismatch(format!(
                "class_labels has shape {:?}: class_embed_type identity takes [{batch}, {width}] \
                 (x's samples, the time-embedding width)",
                a.shape
            )));
        }
        return Ok(Some(ClassInputs::Rows(rows.clone(), width)));
    }
    let Some(labels) = ints(inputs, "class_labels", batch)? else {
        return Ok(None);
    };
    // The device holds labels as u32: a timestep model's labels run to 2^32 - 1.
    let ids = labels
        .iter()
        .map(|&v| {
            u32::try_from(v)
                .map_err(|_| Error::ShapeMismatch(format!("class label {v} is outside [0, 2^32)")))
        })
        .collect::<Result<Vec<u32>>>()?;
    Ok(Some(ClassInputs::Ids(ids)))
}

/// Input `name`: int32 or int64 \[B\], if given.
fn ints(inputs: &BTreeMap<String, NpyArray>, name: &str, batch: usize) -> Result<Option<Vec<i64>>> {
    let Some(a) = inputs.get(name) else {
        return Ok(None);
    };
    let values: Vec<i64> = match &a.data {
        NpyData::I32(v) => v.iter().map(|&a| i64::from(a)).collect(),
        NpyData::I64(v) => v.clone(),
        other => {
            return Err(Error::WrongDtype {
                name: name.into(),
                found: other.dtype().into(),
                expected: "int32 or int64",
            })
        }
    };
    if a.shape != [batch] || values.len() != batch {
        return Err(Error::ShapeMismatch(format!(
            "{name} has shape {:?} but x has {batch} samples: {name} must be [{batch}]",
            a.shape
        )));
    }
    Ok(Some(values))
}

/// Timesteps `values`, each in [0, T).
fn in_range(values: &[i64], big_t: usize) -> Result<Vec<u32>> {
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
