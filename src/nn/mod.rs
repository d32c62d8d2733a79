//! diffusers' `UNet2DModel` as a tree of layer structs, one file per layer kind, each holding
//! its f32 weights and hyper-parameters and built from its config slice and its weight prefix
//! (candle-nn's `VarBuilder` idiom). The f64 forward of every layer is its CPU twin in
//! [`crate::cpu::nn`], under the same file name.
//!
//! ```no_run
//! use ddpm_wgpu::nn::ModelFolder;
//! let folder = ModelFolder::open("ddpm-cifar10-32")?; // config.json + safetensors (+ scheduler)
//! let unet = folder.unet()?;
//! println!("{} parameters, {} FLOP per 32x32 sample", unet.num_parameters(), unet.flops(32, 32));
//! # Ok::<(), ddpm_wgpu::Error>(())
//! ```

pub mod attention;
pub mod blocks;
pub mod class_embedding;
pub mod config;
pub mod conv2d;
pub mod downsample;
pub mod folder;
pub mod group_norm;
pub mod guidance;
mod json;
pub mod linear;
pub mod presets;
pub mod resnet;
pub mod scheduler_config;
pub mod scheduler_dpm;
pub mod scheduler_euler;
pub mod scheduler_map;
pub mod scheduler_unipc;
pub mod time_embedding;
pub mod unet;
pub mod upsample;
pub mod weights;

pub use attention::Attention;
pub use blocks::{DownBlock, DownBlockKind, MidBlock, UpBlock, UpBlockKind};
pub use class_embedding::{
    check_class_labels, ClassEmbedType, ClassEmbedding, ClassKind, ClassLabels, ClassTable,
};
pub use config::UNetConfig;
pub use conv2d::{Conv2d, Padding};
pub use downsample::Downsample2D;
pub use folder::ModelFolder;
pub use group_norm::GroupNorm;
pub use guidance::Guidance;
pub use linear::Linear;
pub use resnet::{ResnetBlock2D, TimeEmbeddingNorm};
pub use scheduler_config::SchedulerConfig;
pub use time_embedding::{TimeEmbedding, Timesteps};
pub use unet::UNet2D;
pub use upsample::Upsample2D;
pub use weights::{Tensor, VarBuilder, Weights};
