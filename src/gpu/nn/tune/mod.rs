//! Which conv kernel each layer shape runs: a fixed rule per device type (`--tune off`), or
//! the fastest variant timed on the device (`auto`: a bounded search; `full`: every variant at
//! the batch at hand), remembered per adapter, driver and shape in the user's cache directory
//! (`cache.rs`) and timed by `measure.rs`.
//!
//! A choice is keyed by the layer's shape per sample ([`ConvKey`]), never by the batch: a
//! sample's bits then never depend on the batch it runs in (`ddpm sample --first-index` splits
//! a run over machines; they agree where their caches do, and always with `--tune off`). Every
//! variant agrees with the f64 twin within the conv tolerance (tests/nn_conv2d_tiled.rs), so
//! a choice never moves a result beyond it.

pub mod cache;
mod measure;
mod search;

pub use crate::gpu::runtime::shaders::tiles::{Choices, ConvKey};
pub use cache::{cache_dir, TuneCache};
pub use measure::{TuneRow, VariantTime};

use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::tiles::{ConvKernel, TileShape};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// How the conv kernels are chosen (`--tune`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tune {
    /// The fixed rule of [`rule`]: the direct kernel on software adapters, the tiled one on
    /// GPUs. Nothing is timed, nothing cached. The library's default.
    #[default]
    Off,
    /// Shapes found in the cache take its choice; the others are timed at up to
    /// [`AUTO_PROBE`] samples, a challenger dropped on a slow warm-up or after losing by 2x
    /// on two shapes, within [`AUTO_BUDGET_S`] seconds per model (shapes left over take the
    /// rule, uncached, and are timed by a later run). A challenger must beat the rule's
    /// choice by 10% to replace it. The command line's default.
    Auto,
    /// Every applicable variant of every shape timed at the whole sub-batch (the cache read
    /// for nothing, rewritten with the results).
    Full,
}

/// Seconds the `auto` search may spend on one model's shapes.
pub const AUTO_BUDGET_S: f64 = 1.0;
/// Samples `auto` times a layer at (fewer where the batch is smaller).
pub const AUTO_PROBE: usize = 4;

impl Tune {
    /// The names `--tune` takes.
    pub const NAMES: [&'static str; 3] = ["off", "auto", "full"];

    /// The mode named `name` (one of [`Tune::NAMES`]).
    pub fn from_name(name: &str) -> Result<Self> {
        match name.trim() {
            "off" => Ok(Tune::Off),
            "auto" => Ok(Tune::Auto),
            "full" => Ok(Tune::Full),
            other => Err(Error::Unsupported(format!(
                "no tuning mode named '{other}'; known: {}",
                Tune::NAMES.join(", ")
            ))),
        }
    }

    /// Its name, as [`Tune::from_name`] takes it.
    pub fn name(&self) -> &'static str {
        match self {
            Tune::Off => "off",
            Tune::Auto => "auto",
            Tune::Full => "full",
        }
    }
}

/// The variants a device with `limits` can run a conv on: the direct kernel and each tile
/// shape within the limits.
pub fn candidates(limits: &wgpu::Limits) -> Vec<ConvKernel> {
    [
        ConvKernel::Direct,
        ConvKernel::Tiled(TileShape::LARGE),
        ConvKernel::Tiled(TileShape::SMALL),
    ]
    .into_iter()
    .filter(|k| k.check(limits).is_ok())
    .collect()
}

/// The fixed rule (`--tune off`, and the incumbent every timed challenger must beat): the
/// register-tiled direct kernel on software adapters (and adapters of unknown type), where it
/// is 8-39x faster than the tiled one (benches/unet.md); on GPUs the workgroup-tiled kernel,
/// its large tile where the output channels fill its 128 rows, else the small one. Never a
/// variant the device's limits refuse.
pub fn rule(device: wgpu::DeviceType, limits: &wgpu::Limits, key: &ConvKey) -> ConvKernel {
    let gpu = crate::gpu::runtime::capabilities::is_gpu(device);
    let ok = candidates(limits);
    let large = ConvKernel::Tiled(TileShape::LARGE);
    let small = ConvKernel::Tiled(TileShape::SMALL);
    if !gpu {
        ConvKernel::Direct
    } else if key.cout >= TileShape::LARGE.bm as usize && ok.contains(&large) {
        large
    } else if ok.contains(&small) {
        small
    } else {
        ConvKernel::Direct
    }
}

/// Where a shape's choice came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `DDPM_KERNEL` or `UNetOptions::conv` forced it.
    Forced,
    /// The fixed rule (`--tune off`, or a shape the `auto` budget left over).
    Rule,
    /// The cache, timed by an earlier run.
    Cache,
    /// Timed now.
    Measured,
}

/// The tuner a `UNetDenoiser` holds: its mode, where it caches, and the choices made so far in
/// this process (a shape is timed at most once per model and mode).
#[derive(Debug)]
pub struct Tuner {
    pub(crate) mode: Tune,
    pub(crate) forced: Option<ConvKernel>,
    pub(crate) cache: Option<PathBuf>,
    pub(crate) made: Mutex<HashMap<ConvKey, (ConvKernel, Source)>>,
    pub(crate) rows: Mutex<Vec<TuneRow>>,
}

impl Tuner {
    /// A tuner in `mode`, or every conv on `forced`; caching under [`cache_dir`].
    pub fn new(mode: Tune, forced: Option<ConvKernel>) -> Self {
        Tuner {
            mode,
            forced,
            cache: cache_dir(),
            made: Mutex::new(HashMap::new()),
            rows: Mutex::new(Vec::new()),
        }
    }

    /// The choices made so far, with where each came from, in key order.
    pub fn choices(&self) -> Vec<(ConvKey, ConvKernel, Source)> {
        let made = self.made.lock().map(|m| m.clone()).unwrap_or_default();
        let mut v: Vec<_> = made.into_iter().map(|(k, (c, s))| (k, c, s)).collect();
        v.sort_by_key(|e| e.0);
        v
    }

    /// The rows the last timing made (empty where nothing was timed).
    pub fn rows(&self) -> Vec<TuneRow> {
        self.rows.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
