//! The GPU context: a device, its queue, and the compiled pipelines. Built either by finding an
//! adapter ([`Context::new`]) or from an application's own device ([`Context::from_device`]).

use super::kernels::Kernel;
use super::params::PipelineConstants;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;

/// A device and queue with this crate's pipelines compiled on first use and cached.
pub struct Context {
    /// The device every buffer and pipeline of this context lives on.
    pub device: wgpu::Device,
    /// The queue work is submitted to.
    pub queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    // Keyed by kernel and the pipeline constants it takes (`Kernel::own_constants`).
    pipelines: Mutex<HashMap<(Kernel, PipelineConstants), wgpu::ComputePipeline>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .finish_non_exhaustive()
    }
}

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
    /// backends tried and `WGPU_ADAPTER_NAME` picks an adapter whose name contains it.
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
                // across a subgroup of 8 (shaders/nn/conv2d_weights_subgroup.wgsl).
                required_features: adapter.features() & wgpu::Features::SUBGROUP,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::RequestDevice(e.to_string()))?;
        // Our own device: errors we did not catch in a scope must not abort the process (wgpu's
        // default handler panics). Every call we make runs inside error scopes anyway.
        device.on_uncaptured_error(std::sync::Arc::new(|e| {
            eprintln!("ddpm-wgpu: uncaptured GPU error: {e}");
        }));
        Ok(Self::with_info(device, queue, adapter.get_info()))
    }

    async fn pick_adapter() -> Result<wgpu::Adapter> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
        let wanted = std::env::var("WGPU_ADAPTER_NAME")
            .ok()
            .map(|s| s.to_lowercase());
        let all = instance.enumerate_adapters(backends).await;
        let seen: Vec<String> = all.iter().map(|a| describe(&a.get_info())).collect();
        let mut usable: Vec<wgpu::Adapter> = all
            .into_iter()
            .filter(|a| {
                a.get_downlevel_capabilities()
                    .flags
                    .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
            })
            .filter(|a| {
                wanted
                    .as_ref()
                    .is_none_or(|w| a.get_info().name.to_lowercase().contains(w))
            })
            .collect();
        usable.sort_by_key(|a| preference(&a.get_info()));
        usable.into_iter().next().ok_or_else(|| {
            let seen = if seen.is_empty() {
                "no adapters at all; on Debian, install mesa-vulkan-drivers for lavapipe".into()
            } else {
                format!("adapters seen: {}", seen.join("; "))
            };
            match wanted {
                Some(w) => {
                    Error::NoAdapter(format!("none named like WGPU_ADAPTER_NAME='{w}'; {seen}"))
                }
                None => Error::NoAdapter(seen),
            }
        })
    }

    /// Wrap an application's existing device and queue (embedding): the library creates no
    /// device of its own and leaves the device's error handler as the application set it.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        Self::with_info(device, queue, info)
    }

    fn with_info(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        Context {
            limits: device.limits(),
            device,
            queue,
            info,
            pipelines: Mutex::new(HashMap::new()),
        }
    }

    /// The adapter this context's device came from.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
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
    pub fn checked<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
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
            Some(e) => Err(Error::Gpu(one_line(&e.to_string()))),
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
        let pipeline = self.checked(|| create_pipeline(kernel, &self.device, key.1))?;
        cache.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    /// A new command encoder on this context's device.
    pub fn encoder(&self) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ddpm-wgpu"),
            })
    }

    /// Finish and submit `encoder`, reporting validation errors of anything recorded in it.
    pub fn submit(&self, encoder: wgpu::CommandEncoder) -> Result<wgpu::SubmissionIndex> {
        self.checked(|| self.queue.submit([encoder.finish()]))
    }

    /// Block until all submitted work has finished.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Gpu(e.to_string()))
    }
}

/// The pipeline of `kernel`, with the pipeline constants it takes set from `constants`.
fn create_pipeline(
    kernel: Kernel,
    device: &wgpu::Device,
    constants: PipelineConstants,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(kernel.name()),
        source: wgpu::ShaderSource::Wgsl(kernel.source().into()),
    });
    // Declared in common.wgsl, so every module but the nn ones has it; fixed per kernel, so
    // not in the key.
    let per_invocation = f64::from(kernel.vec4s_per_invocation());
    let mut values = match kernel.is_nn() {
        true => super::nn::flags::constants(kernel, constants.nn),
        false => vec![("VEC4S_PER_INVOCATION", per_invocation)],
    };
    if kernel.takes_grid() {
        values.push(("GRID", f64::from(constants.grid)));
    }
    if kernel.takes_model_constants() {
        values.push(("MEAN_TYPE", f64::from(constants.mean_type)));
        values.push(("VAR_TYPE", f64::from(constants.var_type)));
        values.push(("CLIP_DENOISED", f64::from(constants.clip_denoised)));
    }
    let layout = kernel.is_step().then(|| {
        values.push(("NOISE_SOURCE", f64::from(constants.noise_source)));
        values.push(("THRESHOLD", f64::from(constants.threshold)));
        values.push(("CLIPPED_EPS", f64::from(constants.clipped_eps)));
        super::step_layout::pipeline_layout(device)
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(kernel.name()),
        layout: layout.as_ref(),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &values,
            ..Default::default()
        },
        cache: None,
    })
}

/// wgpu's error texts span several lines (cause chains, source excerpts); the CLI promises one.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" | ")
}
