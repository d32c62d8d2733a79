//! Models the toolkit knows by name: the digits model trained by the project and embedded in
//! the crate (`embedded:digits`, trained by `tools/train/train.py`, the folder is
//! `src/models/digits/`; its class-conditional sibling `embedded:digits-cond`,
//! `src/models/digits-cond/`), and architectures with synthetic weights (`synthetic:cifar10`), for
//! benchmarks and the device kit, which measure speed and need the shapes, not a checkpoint
//! (nothing can be downloaded here).

use super::folder::ModelFolder;
use super::{SchedulerConfig, UNetConfig, Weights};
use crate::error::{Error, Result};

/// The google/ddpm-cifar10-32 config.json, as its repository has it: 35,746,307 parameters,
/// 12.4 GFLOP per 32x32 sample.
pub const CIFAR10_CONFIG: &str = r#"{
  "_class_name": "UNet2DModel", "_diffusers_version": "0.0.4", "act_fn": "silu",
  "attention_head_dim": null, "block_out_channels": [128, 256, 256, 256],
  "center_input_sample": false,
  "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
  "downsample_padding": 0, "flip_sin_to_cos": false, "freq_shift": 1, "in_channels": 3,
  "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-06, "norm_num_groups": 32,
  "out_channels": 3, "sample_size": 32, "time_embedding_type": "positional",
  "up_block_types": ["UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"]
}"#;

/// Its scheduler_config.json: DDPM, linear betas 1e-4 to 0.02 over 1000 steps, fixed small
/// variance, clipped x_0.
pub const CIFAR10_SCHEDULER: &str = r#"{
  "_class_name": "DDPMScheduler", "beta_end": 0.02, "beta_schedule": "linear",
  "beta_start": 0.0001, "clip_sample": true, "num_train_timesteps": 1000,
  "trained_betas": null, "variance_type": "fixed_small"
}"#;

/// The names `ModelFolder::resolve` takes besides a folder.
pub const SYNTHETIC_CIFAR10: &str = "synthetic:cifar10";
/// The embedded digits model's name.
pub const EMBEDDED_DIGITS: &str = "embedded:digits";
/// The embedded class-conditional digits model's name: what `ddpm sample --class` samples
/// when no `--model` is given.
pub const EMBEDDED_DIGITS_COND: &str = "embedded:digits-cond";

/// An embedded model folder's files, as `tools/train/train.py` wrote them: config.json, the f16
/// safetensors, scheduler_config.json and the record of its training (steps, seed, wall time,
/// loss curve; JSON).
macro_rules! embedded_folder {
    ($(#[$doc:meta])* $name:ident, $dir:literal) => {
        $(#[$doc])*
        pub mod $name {
            /// config.json.
            pub const CONFIG: &str = include_str!(concat!("../models/", $dir, "/config.json"));
            /// diffusion_pytorch_model.safetensors.
            pub const WEIGHTS: &[u8] = include_bytes!(concat!(
                "../models/",
                $dir,
                "/diffusion_pytorch_model.safetensors"
            ));
            /// scheduler_config.json.
            pub const SCHEDULER: &str =
                include_str!(concat!("../models/", $dir, "/scheduler_config.json"));
            /// training.json.
            pub const TRAINING: &str = include_str!(concat!("../models/", $dir, "/training.json"));
        }
    };
}

embedded_folder!(
    /// The embedded digits model's folder: a 1.1M-parameter UNet2DModel on 16x16x1 images
    /// with its DDPMScheduler config.
    digits,
    "digits"
);

embedded_folder!(
    /// The class-conditional digits model (`train.py --class-cond`): the same architecture
    /// with 11 class rows, the digits 0-9 and the null class 10 (labels dropped to it with
    /// probability 0.15 in training). It ships beside `digits`, not in its place: its null-class
    /// samples score under `digits`' on classifier confidence (0.864 against 0.941,
    /// benches/guidance.md), one of the criteria a replacement had to meet.
    digits_cond,
    "digits-cond"
);

impl ModelFolder {
    /// The google/ddpm-cifar10-32 architecture with synthetic weights drawn from `seed`
    /// ([`Weights::synthetic`]).
    pub fn synthetic_cifar10(seed: u64) -> Result<Self> {
        Ok(ModelFolder {
            config: UNetConfig::from_json(CIFAR10_CONFIG, "cifar10 config.json")?,
            scheduler: Some(SchedulerConfig::from_json(
                CIFAR10_SCHEDULER,
                "cifar10 scheduler_config.json",
            )?),
            weights: Weights::synthetic(seed),
        })
    }

    /// The digits model embedded in the crate (no file is read).
    pub fn embedded_digits() -> Result<Self> {
        Self::from_parts(digits::CONFIG, digits::WEIGHTS, Some(digits::SCHEDULER))
    }

    /// The class-conditional digits model embedded in the crate (no file is read).
    pub fn embedded_digits_cond() -> Result<Self> {
        Self::from_parts(
            digits_cond::CONFIG,
            digits_cond::WEIGHTS,
            Some(digits_cond::SCHEDULER),
        )
    }

    /// A model folder (or pipeline folder) at `spec`, `embedded:digits`, `embedded:digits-cond`
    /// or `synthetic:cifar10`.
    pub fn resolve(spec: &str) -> Result<Self> {
        if let Some(name) = spec.strip_prefix("embedded:") {
            return match name {
                "digits" => Self::embedded_digits(),
                "digits-cond" => Self::embedded_digits_cond(),
                other => Err(Error::UnsupportedModel(format!(
                    "unknown embedded model '{other}' (known: digits, digits-cond)"
                ))),
            };
        }
        match spec.strip_prefix("synthetic:") {
            Some("cifar10") => Self::synthetic_cifar10(0),
            Some(other) => Err(Error::UnsupportedModel(format!(
                "unknown synthetic model '{other}' (known: cifar10)"
            ))),
            None => Self::open(spec),
        }
    }
}
