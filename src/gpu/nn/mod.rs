//! The UNet on the device: diffusers' `UNet2DModel` ([`crate::nn::UNet2D`]) as WGSL kernels
//! (shaders/nn/), one host module per layer that has a kernel (`conv2d`, `group_norm`,
//! `linear`, `attention`) plus the layers that are sequences of them (`resnet`,
//! `time_embedding`) and the whole model as a [`Denoiser`](super::Denoiser),
//! [`UNetDenoiser`]. The f64 CPU twin of every layer is in [`crate::cpu::nn`].
//!
//! Weights are uploaded once ([`UNetDenoiser::new`]). [`Denoiser::prepare`] writes the forward
//! as a list of layer ops over logical activations (`graph`), gives each activation a buffer
//! that is free for its lifetime (buffers are reused once their activation is dead; skips live
//! from their down block to their up block, written straight into the channels of the
//! concatenation that reads them), and makes every uniform and bind group;
//! [`Denoiser::record`] only records the dispatches, in one compute pass.
//!
//! [`Denoiser::prepare`]: super::Denoiser::prepare
//! [`Denoiser::record`]: super::Denoiser::record

pub mod attention;
mod attention_flash;
mod attention_softmax;
mod blocks;
pub mod cast;
pub(crate) mod class_embedding;
pub mod conv2d;
pub mod conv2d_op;
pub mod conv2d_tiled;
mod conv_args;
mod graph;
pub mod group_norm;
pub mod guidance;
pub mod linear;
pub mod params;
mod plan;
pub mod resnet;
pub mod time_embedding;
pub mod tune;
pub mod unet;
mod walk;
mod winograd;
mod winograd_weights;

pub use unet::{UNetDenoiser, UNetOptions};

use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{bind_group, uniform, Grid};
use crate::gpu::runtime::shaders::{flags, Kernel};
use crate::gpu::runtime::{Context, Precision};

/// One prepared dispatch: a pipeline, its bind group (uniform at binding 0) and its grid.
#[derive(Debug)]
pub(crate) struct Stage {
    kernel: Kernel,
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
    grid: Grid,
    /// The uniform's bytes, for the memory report.
    uniform_bytes: u64,
    /// The kernel and the options that change its cost, for profiles.
    label: String,
    /// FLOPs it does (2 per multiply-add of its products), for profiles.
    flops: u64,
}

impl Stage {
    /// `kernel` with the pipeline constants `nn` (see [`flags`]), `params` in a new uniform at
    /// binding 0 and `buffers` (whole bindings) at 1, 2, ...
    pub(crate) fn new<P: bytemuck::Pod>(
        ctx: &Context,
        kernel: Kernel,
        nn: u32,
        params: &P,
        buffers: &[&wgpu::Buffer],
        grid: Grid,
    ) -> Result<Self> {
        let constants = crate::gpu::runtime::params::PipelineConstants {
            nn,
            ..crate::gpu::runtime::params::PipelineConstants::default()
        };
        let pipeline = ctx.pipeline_with(kernel, constants)?;
        let group = ctx.checked(|| {
            let u = uniform(ctx, params);
            let mut all = vec![&u];
            all.extend_from_slice(buffers);
            bind_group(ctx, kernel, &pipeline, &all)
        })?;
        Ok(Stage {
            kernel,
            pipeline,
            group,
            grid,
            uniform_bytes: std::mem::size_of::<P>() as u64,
            label: flags::label(kernel, nn),
            flops: 0,
        })
    }

    /// This stage, counted as doing `flops`.
    pub(crate) fn with_flops(self, flops: u64) -> Self {
        Stage { flops, ..self }
    }
}

/// Time of one kind of stage in a forward, as `ddpm bench --model --profile` reports it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StageTime {
    /// The kernel and the options that change its cost, e.g. "conv2d 3x3 +temb".
    pub kind: String,
    /// Dispatches of this kind in the forward.
    pub count: usize,
    /// Seconds, each dispatch submitted and waited for alone.
    pub seconds: f64,
    /// FLOPs of these dispatches (convs and attention products; 0 for the rest).
    pub flops: u64,
}

/// Run `stages` one submission each, timing each, and sum by kind: where a forward's time
/// goes. Each dispatch pays a submission (about 0.1 ms on lavapipe) on top of its own time.
pub(crate) fn profile(ctx: &Context, stages: &[Stage]) -> Result<Vec<StageTime>> {
    let mut out: Vec<StageTime> = Vec::new();
    for s in stages {
        let start = std::time::Instant::now();
        run_stages(ctx, std::slice::from_ref(s))?;
        ctx.wait()?;
        let seconds = start.elapsed().as_secs_f64();
        match out.iter_mut().find(|t| t.kind == s.label) {
            Some(t) => {
                t.count += 1;
                t.seconds += seconds;
                t.flops += s.flops;
            }
            None => out.push(StageTime {
                kind: s.label.clone(),
                count: 1,
                seconds,
                flops: s.flops,
            }),
        }
    }
    Ok(out)
}

/// Record `stages` in order in one compute pass: consecutive dispatches of a pass see each
/// other's writes (WebGPU orders them), and one pass saves the per-pass cost of the host side.
pub(crate) fn record_stages(encoder: &mut wgpu::CommandEncoder, stages: &[Stage]) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("unet"),
        timestamp_writes: None,
    });
    for s in stages {
        let Grid(x, y, z) = s.grid;
        pass.set_pipeline(&s.pipeline);
        pass.set_bind_group(0, &s.group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
    // Labels only matter for debuggers; keep the kernel for them.
    let _ = stages.first().map(|s| s.kernel);
}

/// Record `stages` and submit them alone (the layer functions used by tests and `ddpm op`).
pub(crate) fn run_stages(ctx: &Context, stages: &[Stage]) -> Result<()> {
    let mut encoder = ctx.encoder();
    record_stages(&mut encoder, stages);
    ctx.submit(encoder)?;
    Ok(())
}

/// Bytes of the uniforms of `stages`.
pub(crate) fn uniform_bytes(stages: &[Stage]) -> u64 {
    stages.iter().map(|s| s.uniform_bytes).sum()
}

/// A read-only storage buffer holding `data` (at least 16 bytes, so that an empty table still
/// binds), through the allocation place (limits checked first).
pub(crate) fn upload(ctx: &Context, name: &str, data: &[f32]) -> Result<wgpu::Buffer> {
    let mut bytes: Vec<u8> = bytemuck::cast_slice(data).to_vec();
    bytes.resize(bytes.len().max(16), 0);
    ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(name),
        contents: &bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    })
}

/// [`upload`] with the values stored as `precision` says (f16: rounded to nearest).
pub(crate) fn upload_as(
    ctx: &Context,
    name: &str,
    data: &[f32],
    precision: Precision,
) -> Result<wgpu::Buffer> {
    let mut bytes = precision.encode(data);
    // f16: an odd count padded to whole 4-byte words (copies move words).
    bytes.resize(bytes.len().max(16).next_multiple_of(4), 0);
    ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(name),
        contents: &bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    })
}

/// A zeroed read-write storage buffer of `elements` f32 (at least 4), through the allocation
/// place.
pub(crate) fn scratch(ctx: &Context, name: &str, elements: u64) -> Result<wgpu::Buffer> {
    scratch_as(ctx, name, elements, Precision::F32)
}

/// [`scratch`] of `elements` values stored as `precision` says (at least 8 bytes).
pub(crate) fn scratch_as(
    ctx: &Context,
    name: &str,
    elements: u64,
    precision: Precision,
) -> Result<wgpu::Buffer> {
    // At least 16 bytes, whole 4-byte words (copies move words).
    let elements = usize::try_from(elements.max(8).next_multiple_of(2)).unwrap_or(usize::MAX);
    let size = precision.bytes() as usize;
    let bytes = crate::gpu::runtime::alloc::array_bytes(name, elements, size)?;
    ctx.create_buffer(&wgpu::BufferDescriptor {
        label: Some(name),
        size: bytes,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// `n` as u32, or an error naming `what`: the kernels index with 32-bit integers.
pub(crate) fn u32_of(what: &str, n: usize) -> Result<u32> {
    u32::try_from(n)
        .map_err(|_| Error::Unsupported(format!("{what}: {n} exceeds the kernels' 32-bit indices")))
}

/// A grid of `n` workgroups in x, spilling into z past the per-dimension limit (the kernels
/// compute their workgroup index as z * x + x and skip the overhang), with `y` in y.
pub(crate) fn grid_xz(ctx: &Context, n: u32, y: u32) -> Result<Grid> {
    let max = ctx.limits().max_compute_workgroups_per_dimension;
    let x = n.clamp(1, max);
    let z = n.div_ceil(x).max(1);
    if y > max || z > max {
        return Err(Error::Unsupported(format!(
            "a UNet dispatch needs {n} x {y} workgroups, past the device's {max} per dimension"
        )));
    }
    Ok(Grid(x, y.max(1), z))
}
