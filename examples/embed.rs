//! Embedding ddpm-wgpu in an application that owns its wgpu device and brings its own model.
//!
//! The application creates the device, writes its denoiser in WGSL (here the exact noise
//! predictor for data ~ N(mu, s^2 I): eps = sqrt(1 - abar) (x_t - sqrt(abar) mu) / v with
//! v = abar s^2 + 1 - abar), and samples through the library, which creates no device of its own.
//!
//! `cargo run --release --example embed`

use ddpm_wgpu::gpu::{self, Context, Denoiser, DenoiserIo, GpuTables, SampleOptions};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};
use wgpu::util::DeviceExt;

/// The application's model. Its shader starts with the library's common WGSL, which declares
/// `StepCoefs` (the layout of `DenoiserIo::tables`) and `step_index`.
const GAUSSIAN_EPS_WGSL: &str = r#"
struct GaussianParams {
    n_elements: u32,
    sample_len: u32,
    num_timesteps: u32,
    _pad0: u32,
    mean: f32,
    variance: f32,
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> p: GaussianParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> eps: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.n_elements { return; }
    let c = coefs[step_index(timesteps[i / p.sample_len], p.num_timesteps)];
    let v = c.sqrt_abar * c.sqrt_abar * p.variance + c.one_minus_abar;
    eps[i] = c.sqrt_one_minus_abar * (x[i] - c.sqrt_abar * p.mean) / v;
}
"#;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GaussianParams {
    n_elements: u32,
    sample_len: u32,
    num_timesteps: u32,
    _pad0: u32,
    mean: f32,
    variance: f32,
    _pad1: f32,
    _pad2: f32,
}

struct GaussianDenoiser {
    mean: f32,
    std: f32,
    pipeline: wgpu::ComputePipeline,
    prepared: Option<(wgpu::BindGroup, u32)>,
}

impl GaussianDenoiser {
    fn new(device: &wgpu::Device, mean: f32, std: f32) -> Self {
        let source = format!("{}\n{GAUSSIAN_EPS_WGSL}", gpu::kernels::COMMON_WGSL);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("gaussian eps"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("gaussian eps"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        GaussianDenoiser {
            mean,
            std,
            pipeline,
            prepared: None,
        }
    }
}

impl Denoiser for GaussianDenoiser {
    fn prepare(&mut self, ctx: &Context, io: &DenoiserIo<'_>) -> ddpm_wgpu::Result<()> {
        let n = io.x_t.len() as u32;
        let params = GaussianParams {
            n_elements: n,
            sample_len: n / io.x_t.shape()[0] as u32,
            num_timesteps: io.tables.num_timesteps() as u32,
            _pad0: 0,
            mean: self.mean,
            variance: self.std * self.std,
            _pad1: 0.0,
            _pad2: 0.0,
        };
        let uniform = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("gaussian params"),
                contents: bytemuck::bytes_of(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let buffers = [
            &uniform,
            io.tables.buffer(),
            io.timesteps,
            io.x_t.buffer(),
            io.model_output.buffer(),
        ];
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("gaussian eps"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.prepared = Some((group, n.div_ceil(64)));
        Ok(())
    }

    fn record(
        &self,
        _ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        _io: &DenoiserIo<'_>,
    ) -> ddpm_wgpu::Result<()> {
        let Some((group, groups)) = &self.prepared else {
            return Err(ddpm_wgpu::Error::Unsupported(
                "record before prepare".into(),
            ));
        };
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, group, &[]);
        pass.dispatch_workgroups(*groups, 1, 1);
        Ok(())
    }
}

/// Sample 2000 scalars from data N(0.3, 0.1^2) with T = 200 and return (mean, std).
pub fn run() -> Result<(f64, f64), Box<dyn std::error::Error>> {
    // The application's own device.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))?;
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("my app"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))?;
    let mut model = GaussianDenoiser::new(&device, 0.3, 0.1);

    // The library works on it.
    let ctx = Context::from_device(device, queue);
    let tables = GpuTables::new(
        &ctx,
        &Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 200)?,
    )?;
    let opts = SampleOptions {
        model: ModelOptions::default(),
        seed: 1,
        ..Default::default()
    };
    let samples = gpu::p_sample_loop(&ctx, &tables, &mut model, &[2000, 1], &opts, &mut |_, _| {})?;

    let n = samples.x0.len() as f64;
    let mean = samples.x0.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (samples
        .x0
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0))
        .sqrt();
    Ok((mean, std))
}

#[allow(dead_code)] // the tests include this file and call `run`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mean, std) = run()?;
    println!("2000 samples of N(0.3, 0.1^2) through the app's own WGSL denoiser: mean {mean:.4}, std {std:.4}");
    Ok(())
}
