//! The GPU context: a device, its queue, and the compiled pipelines. Built either by finding an
//! adapter ([`Context::new`]) or from an application's own device ([`Context::from_device`]).

use crate::error::{Error, Result};
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::pipeline::{create_pipeline, ShaderChecks};
use crate::gpu::runtime::shaders::Kernel;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// What this context created, for [`Context::memory`].
#[derive(Debug, Default)]
pub(crate) struct AllocCounts {
    pub(crate) buffers: std::sync::atomic::AtomicU64,
    pub(crate) bytes: std::sync::atomic::AtomicU64,
}

/// A device and queue with this crate's pipelines compiled on first use and cached.
///
/// `Send + Sync`: one context can serve several threads at once. wgpu's error scopes are per
/// thread (its `std` feature, on by default), so [`Context::checked`] on one thread never sees
/// another thread's errors; the pipeline cache is behind a mutex.
pub struct Context {
    /// The device every buffer and pipeline of this context lives on.
    pub device: wgpu::Device,
    /// The queue work is submitted to.
    pub queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    // What the adapter offers (the device enables a subset): `ddpm info` reports it.
    offered: wgpu::Features,
    // Keyed by kernel and the pipeline constants it takes (`Kernel::own_constants`).
    pipelines: Mutex<HashMap<(Kernel, PipelineConstants), wgpu::ComputePipeline>>,
    counts: AllocCounts,
    // Set once by the device-lost callback: every entry point fails with it afterwards.
    lost: Arc<OnceLock<String>>,
    // Which kernels are compiled without naga's runtime checks.
    shader_checks: ShaderChecks,
    // The adapter's cooperative matrix configurations (`ddpm info`; empty from a device).
    coop_matrix: Vec<wgpu::CooperativeMatrixProperties>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .finish_non_exhaustive()
    }
}

/// The first [`preference`] kind that is not a real GPU (`Other`, then `Cpu`).
const SOFTWARE: u8 = 3;

/// Adapters in the order we prefer them: real GPUs first, software last; within a kind, the
/// native APIs before GL.
fn preference(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    let backend = u8::from(info.backend == wgpu::Backend::Gl);
    (kind, backend)
}

/// A one-line description of an adapter, for messages and `ddpm info`.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

impl Context {
    /// Find an adapter with compute shaders, hardware first, then software, and create a device
    /// with the adapter's full limits. `WGPU_BACKEND` (e.g. `vulkan`, `gl`) restricts the
    /// backends tried and `WGPU_ADAPTER_NAME` picks an adapter whose name contains it. Without
    /// `WGPU_BACKEND`, GL is initialised only when the native APIs offer no hardware adapter.
    ///
    /// Mesa's Vulkan device-select layer prints `XDG_RUNTIME_DIR is invalid` when that variable
    /// is unset (it looks for a Wayland display); `NODEVICE_SELECT=1` turns the layer off. The
    /// `ddpm` binary sets it at start-up; a library must not set the environment of a running
    /// process, so applications set it themselves if they want.
    pub fn new() -> Result<Self> {
        pollster::block_on(Self::new_async())
    }

    /// [`Context::new`], as a future.
    pub async fn new_async() -> Result<Self> {
        let adapter = Self::pick_adapter().await?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("ddpm-wgpu"),
                required_limits: adapter.limits(),
                // Subgroups where the adapter has them: the UNet's convs share their weights
                // across a subgroup of 8 (shaders/nn/conv2d_weights_subgroup.wgsl). Timestamp
                // queries where it has them: the conv tuner times variants with them. f16 in
                // shaders where it has it: the UNet's f16 storage (`Precision::F16`).
                required_features: adapter.features()
                    & (wgpu::Features::SUBGROUP
                        | wgpu::Features::TIMESTAMP_QUERY
                        | wgpu::Features::SHADER_F16),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::RequestDevice(e.to_string()))?;
        // Our own device: errors we did not catch in a scope must not abort the process (wgpu's
        // default handler panics). Every call we make runs inside error scopes anyway.
        device.on_uncaptured_error(std::sync::Arc::new(|e| {
            eprintln!("ddpm-wgpu: uncaptured GPU error: {e}");
        }));
        let checks = ShaderChecks::from_env()?;
        let mut ctx = Self::with_info(device, queue, adapter.get_info()).with_shader_checks(checks);
        ctx.offered = adapter.features();
        ctx.coop_matrix = adapter.cooperative_matrix_properties();
        // Our own device, so the lost callback is ours to set (see `from_device`).
        let lost = Arc::clone(&ctx.lost);
        ctx.device.set_device_lost_callback(move |reason, message| {
            let _ = lost.set(format!("{reason:?}: {message}"));
        });
        Ok(ctx)
    }

    async fn pick_adapter() -> Result<wgpu::Adapter> {
        let wanted = std::env::var("WGPU_ADAPTER_NAME")
            .ok()
            .map(|s| s.to_lowercase());
        let mut seen = Vec::new();
        // An empty WGPU_BACKEND would enable no backend at all: treat it as unset.
        let asked = std::env::var("WGPU_BACKEND")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .and(wgpu::Backends::from_env());
        let best = match asked {
            Some(backends) => Self::best_adapter(backends, wanted.as_deref(), &mut seen).await,
            None => {
                // GL last and only if needed: a hardware adapter on a native API needs no EGL
                // start-up; a software one (lavapipe) still competes with GL's (a GL-only GPU
                // beats it).
                let native = wgpu::Backends::all().difference(wgpu::Backends::GL);
                match Self::best_adapter(native, wanted.as_deref(), &mut seen).await {
                    Some(a) if preference(&a.get_info()).0 < SOFTWARE => Some(a),
                    native => {
                        let gl =
                            Self::best_adapter(wgpu::Backends::GL, wanted.as_deref(), &mut seen)
                                .await;
                        native
                            .into_iter()
                            .chain(gl)
                            .min_by_key(|a| preference(&a.get_info()))
                    }
                }
            }
        };
        if let Some(adapter) = best {
            return Ok(adapter);
        }
        let seen = if seen.is_empty() {
            "no adapters at all; on Debian, install mesa-vulkan-drivers for lavapipe".into()
        } else {
            format!("adapters seen: {}", seen.join("; "))
        };
        Err(match wanted {
            Some(w) => Error::NoAdapter(format!("none named like WGPU_ADAPTER_NAME='{w}'; {seen}")),
            None => Error::NoAdapter(seen),
        })
    }

    /// The preferred usable adapter of an instance with only `backends`, adding every adapter
    /// it enumerates to `seen`.
    async fn best_adapter(
        backends: wgpu::Backends,
        wanted: Option<&str>,
        seen: &mut Vec<String>,
    ) -> Option<wgpu::Adapter> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
        });
        let all = instance.enumerate_adapters(backends).await;
        seen.extend(all.iter().map(|a| describe(&a.get_info())));
        let mut usable: Vec<wgpu::Adapter> = all
            .into_iter()
            .filter(|a| {
                a.get_downlevel_capabilities()
                    .flags
                    .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
            })
            .filter(|a| wanted.is_none_or(|w| a.get_info().name.to_lowercase().contains(w)))
            .collect();
        usable.sort_by_key(|a| preference(&a.get_info()));
        usable.into_iter().next()
    }

    /// Wrap an application's existing device and queue (embedding): the library creates no
    /// device of its own and leaves the device's error handler and device-lost callback as the
    /// application set them. A lost device still fails every call with an error (wgpu reports
    /// it on poll and read-back); call [`Context::mark_lost`] from your own lost callback to
    /// make every later call fail at once with [`Error::DeviceLost`].
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        Self::with_info(device, queue, info)
    }

    /// Record that the device is lost (`reason` is shown in the errors): every later call on
    /// this context fails with [`Error::DeviceLost`] before it touches the device. The callback
    /// [`Context::new`] installs calls it; an embedding application may call it from its own.
    pub fn mark_lost(&self, reason: impl Into<String>) {
        let _ = self.lost.set(reason.into());
    }

    /// `Err(DeviceLost)` once the device is known to be lost.
    pub fn check_alive(&self) -> Result<()> {
        match self.lost.get() {
            Some(reason) => Err(Error::DeviceLost(reason.clone())),
            None => Ok(()),
        }
    }

    fn with_info(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        Context {
            limits: device.limits(),
            offered: device.features(),
            device,
            queue,
            info,
            pipelines: Mutex::new(HashMap::new()),
            counts: AllocCounts::default(),
            lost: Arc::new(OnceLock::new()),
            shader_checks: ShaderChecks::default(),
            coop_matrix: Vec::new(),
        }
    }

    /// This context with its kernels compiled as `checks` says (the default:
    /// [`ShaderChecks::Audited`]; [`Context::new`] reads `DDPM_SHADER_CHECKS`). Pipelines
    /// compiled before are dropped.
    pub fn with_shader_checks(mut self, checks: ShaderChecks) -> Self {
        self.shader_checks = checks;
        self.pipelines = Mutex::new(HashMap::new());
        self
    }

    /// Which kernels are compiled without naga's runtime checks.
    pub fn shader_checks(&self) -> ShaderChecks {
        self.shader_checks
    }

    /// The cooperative matrix configurations the adapter lists (sizes and types), where
    /// [`Context::new`] found it; empty for [`Context::from_device`].
    pub fn cooperative_matrix_configs(&self) -> &[wgpu::CooperativeMatrixProperties] {
        &self.coop_matrix
    }

    pub(crate) fn alloc_counts(&self) -> &AllocCounts {
        &self.counts
    }

    /// The adapter this context's device came from.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The features the adapter offers ([`Context::new`]'s), or the device's own (a device
    /// handed to [`Context::from_device`]).
    pub fn adapter_features(&self) -> wgpu::Features {
        self.offered
    }

    /// The device's limits.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The subgroup size when the device has subgroups enabled and the adapter runs them at
    /// one size only; `None` otherwise.
    pub fn subgroup_size(&self) -> Option<u32> {
        let (lo, hi) = (self.info.subgroup_min_size, self.info.subgroup_max_size);
        (self.device.features().contains(wgpu::Features::SUBGROUP) && lo == hi && lo > 0)
            .then_some(lo)
    }

    /// Run `f` inside validation, out-of-memory and internal error scopes, turning any error wgpu
    /// reports for it into [`Error::Gpu`] instead of a panic.
    /// Fails with [`Error::DeviceLost`] without running `f` once the device is known lost. The
    /// scopes are the calling thread's own (wgpu keeps a stack per thread), so concurrent calls
    /// from other threads neither see nor hide this one's errors.
    pub fn checked<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        self.check_alive()?;
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let errors = [
            pollster::block_on(validation.pop()),
            pollster::block_on(oom.pop()),
            pollster::block_on(internal.pop()),
        ];
        match errors.into_iter().flatten().next() {
            Some(wgpu::Error::OutOfMemory { source }) => {
                Err(Error::OutOfMemory(one_line(&format!("GPU: {source}"))))
            }
            Some(e) => {
                // A destroyed device is marked lost only once its queue has drained, inside a
                // poll: wait for that (bounded), so that the error names the loss rather than
                // its symptom (an invalid buffer, say). Only on this error path.
                let _ = self.device.poll(wgpu::PollType::Wait {
                    submission_index: None,
                    timeout: Some(std::time::Duration::from_secs(10)),
                });
                self.check_alive()?;
                Err(Error::Gpu(one_line(&e.to_string())))
            }
            None => Ok(out),
        }
    }

    /// The compute pipeline of `kernel`, compiled on first use (vec4 kernels: per-sample grid).
    pub(crate) fn pipeline(&self, kernel: Kernel) -> Result<wgpu::ComputePipeline> {
        self.pipeline_with(kernel, PipelineConstants::default())
    }

    /// The compute pipeline of `kernel` with the pipeline constants it takes set from
    /// `constants` (the rest ignored), compiled on first use.
    pub(crate) fn pipeline_with(
        &self,
        kernel: Kernel,
        constants: PipelineConstants,
    ) -> Result<wgpu::ComputePipeline> {
        let key = (kernel, kernel.own_constants(constants));
        let mut cache = self
            .pipelines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = cache.get(&key) {
            return Ok(p.clone());
        }
        let pipeline =
            self.checked(|| create_pipeline(kernel, &self.device, key.1, self.shader_checks))?;
        cache.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// A new command encoder on this context's device.
    ///
    /// On a lost device the encoder is invalid; the error is reported when it is submitted
    /// ([`Context::submit`]), so creating it needs no `Result`. Its own error is caught in a scope
    /// here and dropped: outside one, an application's default handler would panic on it.
    pub fn encoder(&self) -> wgpu::CommandEncoder {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ddpm-wgpu"),
            });
        drop(pollster::block_on(scope.pop()));
        encoder
    }

    /// Finish and submit `encoder`, reporting validation errors of anything recorded in it.
    pub fn submit(&self, encoder: wgpu::CommandEncoder) -> Result<wgpu::SubmissionIndex> {
        self.checked(|| self.queue.submit([encoder.finish()]))
    }

    /// Block until all submitted work has finished.
    pub fn wait(&self) -> Result<()> {
        self.check_alive()?;
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(e.to_string()))?;
        // The poll is where wgpu reports a loss (the callback runs inside it).
        self.check_alive()
    }
}

/// wgpu's error texts span several lines (cause chains, source excerpts); the CLI promises one.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}
