//! `ModelFolder`: a UNet2DModel as diffusers saves it, from disk or from bytes. Either a model
//! folder (`config.json` + `diffusion_pytorch_model.safetensors`, optionally
//! `scheduler_config.json` beside them) or a pipeline folder (`model_index.json`, `unet/`,
//! `scheduler/`).

use super::config::UNetConfig;
use super::json::JsonObject;
use super::scheduler_config::SchedulerConfig;
use super::unet::UNet2D;
use super::weights::Weights;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// diffusers' `CONFIG_NAME`.
pub const CONFIG_NAME: &str = "config.json";
/// diffusers' `SAFETENSORS_WEIGHTS_NAME`.
pub const WEIGHTS_NAME: &str = "diffusion_pytorch_model.safetensors";
/// The scheduler's config file name.
pub const SCHEDULER_CONFIG_NAME: &str = "scheduler_config.json";
/// A pipeline's index.
pub const MODEL_INDEX_NAME: &str = "model_index.json";

/// A loaded model: its validated config, its weights (converted to f32) and the scheduler
/// config found beside it. [`ModelFolder::unet`] builds the layer tree.
#[derive(Debug)]
pub struct ModelFolder {
    /// The UNet's config.
    pub config: UNetConfig,
    /// scheduler_config.json, if the folder has one.
    pub scheduler: Option<SchedulerConfig>,
    /// Every tensor of the safetensors file.
    pub weights: Weights,
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::MissingModelFile {
            path: path.to_path_buf(),
            what,
        },
        _ => Error::io(path, e),
    })
}

fn read_text(path: &Path, what: &'static str) -> Result<String> {
    String::from_utf8(read(path, what)?).map_err(|_| Error::ModelConfig {
        file: path.display().to_string(),
        reason: "not UTF-8 text".into(),
    })
}

impl ModelFolder {
    /// Loads the model folder or pipeline folder at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let index = path.join(MODEL_INDEX_NAME);
        if index.is_file() {
            let text = read_text(&index, "pipeline index")?;
            let file = index.display().to_string();
            let o = JsonObject::parse(&text, &file)?;
            // model_index.json maps each component to [library, class].
            let unet: Option<(String, String)> = o.get("unet")?;
            match unet {
                Some((_, class)) if class == "UNet2DModel" => {}
                Some((_, class)) => {
                    return Err(Error::UnsupportedModel(format!(
                        "{file}: unet component of class '{class}' (only UNet2DModel)"
                    )))
                }
                None => return Err(o.error("unet", "missing: the pipeline has no UNet")),
            }
            let scheduler = path.join("scheduler").join(SCHEDULER_CONFIG_NAME);
            return Self::open_model(&path.join("unet"), Some(scheduler));
        }
        Self::open_model(path, None)
    }

    /// A model folder; the scheduler config is read from `scheduler` or else from beside the
    /// model, and may be absent.
    fn open_model(dir: &Path, scheduler: Option<PathBuf>) -> Result<Self> {
        let config_path = dir.join(CONFIG_NAME);
        let config_text = read_text(&config_path, "model config")?;
        let config = UNetConfig::from_json(&config_text, &config_path.display().to_string())?;
        let weights_path = dir.join(WEIGHTS_NAME);
        if !weights_path.is_file() {
            let others = [
                "diffusion_pytorch_model.bin",
                "diffusion_pytorch_model.fp16.safetensors",
            ];
            if let Some(other) = others.iter().find(|o| dir.join(o).is_file()) {
                return Err(Error::UnsupportedModel(format!(
                    "{}: only {other} is there; {WEIGHTS_NAME} is needed (re-save the model with save_pretrained)",
                    dir.display()
                )));
            }
        }
        let bytes = read(&weights_path, "model weights (safetensors)")?;
        let weights = Weights::from_safetensors(&bytes, &weights_path.display().to_string())?;
        drop(bytes);
        let scheduler_path = scheduler.unwrap_or_else(|| dir.join(SCHEDULER_CONFIG_NAME));
        let scheduler = if scheduler_path.is_file() {
            let text = read_text(&scheduler_path, "scheduler config")?;
            Some(SchedulerConfig::from_json(
                &text,
                &scheduler_path.display().to_string(),
            )?)
        } else {
            None
        };
        Ok(ModelFolder {
            config,
            scheduler,
            weights,
        })
    }

    /// The same from memory (e.g. a model embedded with `include_bytes!`): the text of
    /// config.json, the bytes of the safetensors file, the text of scheduler_config.json.
    pub fn from_parts(
        config_json: &str,
        safetensors: &[u8],
        scheduler_json: Option<&str>,
    ) -> Result<Self> {
        Ok(ModelFolder {
            config: UNetConfig::from_json(config_json, CONFIG_NAME)?,
            scheduler: scheduler_json
                .map(|s| SchedulerConfig::from_json(s, SCHEDULER_CONFIG_NAME))
                .transpose()?,
            weights: Weights::from_safetensors(safetensors, WEIGHTS_NAME)?,
        })
    }

    /// Builds the layer tree (copying the weights out; the folder stays usable).
    pub fn unet(&self) -> Result<UNet2D> {
        UNet2D::new(&self.config, &self.weights.root())
    }

    /// Tensors of the file the model did not read (after [`Self::unet`]); diffusers warns
    /// about such tensors and so may a caller.
    pub fn unused_tensors(&self) -> Vec<String> {
        self.weights.unused()
    }
}
