//! The tuner's cache: one JSON file per adapter under `$XDG_CACHE_HOME/ddpm-wgpu/` (else
//! `$HOME/.cache/ddpm-wgpu/`), holding the adapter's identity (name, backend, vendor and
//! device ids, driver and driver info) and the chosen variant per shape. A file that does not
//! parse, has another version or another identity (a foreign adapter, or the same one under
//! another driver) is ignored and rewritten by the next timing. Writes are atomic: a file
//! beside it, renamed over it, so concurrent processes never read half a file.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The version of the file's layout; another is ignored.
const VERSION: u32 = 1;

/// The directory the tuner caches in: `$XDG_CACHE_HOME/ddpm-wgpu`, else
/// `$HOME/.cache/ddpm-wgpu`; `None` where neither is set (nothing is cached then).
pub fn cache_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    match (nonempty("XDG_CACHE_HOME"), nonempty("HOME")) {
        (Some(x), _) => Some(PathBuf::from(x).join("ddpm-wgpu")),
        (None, Some(h)) => Some(PathBuf::from(h).join(".cache").join("ddpm-wgpu")),
        (None, None) => None,
    }
}

/// One adapter's cached choices, as the file holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TuneCache {
    /// The file's layout version.
    pub version: u32,
    /// The adapter and driver the choices were timed on.
    pub adapter: Identity,
    /// Variant name ([`ConvKernel::name`](crate::gpu::nn::conv2d_tiled::ConvKernel::name))
    /// by [`ConvKey::cache_key`](super::ConvKey::cache_key).
    pub choices: BTreeMap<String, String>,
}

/// What makes two adapters the same for the tuner.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)] // wgpu::AdapterInfo's fields of the same names
pub struct Identity {
    pub name: String,
    pub backend: String,
    pub vendor: u32,
    pub device: u32,
    pub driver: String,
    pub driver_info: String,
}

impl Identity {
    /// The identity of the adapter `info` describes.
    pub fn of(info: &wgpu::AdapterInfo) -> Self {
        Identity {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            vendor: info.vendor,
            device: info.device,
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
        }
    }

    /// The file of this adapter's cache in `dir`: by backend and ids, so that adapters of one
    /// machine keep files of their own (the identity inside decides whether it is ours).
    pub fn file_in(&self, dir: &Path) -> PathBuf {
        dir.join(format!(
            "conv-{}-{:x}-{:x}.json",
            self.backend.to_lowercase(),
            self.vendor,
            self.device
        ))
    }
}

impl TuneCache {
    /// An empty cache of `adapter`.
    pub fn new(adapter: Identity) -> Self {
        TuneCache {
            version: VERSION,
            adapter,
            choices: BTreeMap::new(),
        }
    }

    /// The cache of `adapter` in `dir`: the file's choices where it parses and is this
    /// adapter's and driver's, else empty (the file is rewritten by the next [`TuneCache::save`]).
    pub fn load(dir: &Path, adapter: &Identity) -> Self {
        let file = adapter.file_in(dir);
        let parsed = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<TuneCache>(&bytes).ok());
        match parsed {
            Some(c) if c.version == VERSION && &c.adapter == adapter => c,
            _ => TuneCache::new(adapter.clone()),
        }
    }

    /// Write the cache to its adapter's file in `dir` atomically (a temporary file renamed
    /// over it), making `dir` where needed.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let io = |what: &str, e: std::io::Error| {
            Error::Unsupported(format!("tuning cache in {}: {what}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| io("making the directory", e))?;
        let file = self.adapter.file_in(dir);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = file.with_extension(format!("json.{}-{nanos}.tmp", std::process::id()));
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Unsupported(format!("tuning cache: {e}")))?;
        std::fs::write(&tmp, text).map_err(|e| io("writing", e))?;
        std::fs::rename(&tmp, &file).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io("renaming", e)
        })
    }
}
