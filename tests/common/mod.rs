//! Shared by the integration tests: the GPU context (gated loudly), case sweeps and comparison.
#![allow(dead_code)] // each test binary uses a different subset

pub mod class;
pub mod cli;
pub mod dpm;
pub mod nn;
pub mod unet;

use ddpm_wgpu::check::{self, Case, Gen};
use ddpm_wgpu::gpu::runtime::context::describe;
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::npy::{NpyArray, NpyData};
use ddpm_wgpu::ops::{self, Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions, ScheduleKind, Tables};

/// A context on the adapter the library picks. Without one the test is skipped with a message,
/// unless `CI` or `DDPM_REQUIRE_GPU` is set: then it fails. `DDPM_EXPECT_BACKEND` (vulkan, gl)
/// makes it fail when the adapter runs on another backend, so CI knows what it tested.
pub fn gpu() -> Option<Context> {
    match Context::new() {
        Ok(ctx) => {
            let info = ctx.adapter_info();
            eprintln!("GPU tests on {}", describe(info));
            if let Ok(want) = std::env::var("DDPM_EXPECT_BACKEND") {
                let got = format!("{:?}", info.backend).to_lowercase();
                assert_eq!(got, want.to_lowercase(), "DDPM_EXPECT_BACKEND not met");
            }
            Some(ctx)
        }
        Err(e) => {
            let required =
                std::env::var_os("CI").is_some() || std::env::var_os("DDPM_REQUIRE_GPU").is_some();
            assert!(
                !required,
                "no GPU adapter, but CI/DDPM_REQUIRE_GPU requires one: {e}"
            );
            eprintln!("SKIPPED: no GPU adapter ({e}); set DDPM_REQUIRE_GPU=1 to make this fail");
            None
        }
    }
}

/// A context whose device allows only [`SMALL_GRID`] workgroups per grid dimension, so that small
/// inputs take the grid paths that real ones reach only past 65535 workgroups (rows of
/// workgroups, samples spilling from y into z). `None` where [`gpu`] skips.
pub fn small_grid_gpu() -> Option<Context> {
    let ctx = gpu_with_limits("small grid", |l| wgpu::Limits {
        max_compute_workgroups_per_dimension: SMALL_GRID,
        ..l
    })?;
    assert_eq!(
        ctx.limits().max_compute_workgroups_per_dimension,
        SMALL_GRID
    );
    Some(ctx)
}

/// A context on the default adapter with limits made from the adapter's by `limits` (lower
/// ones, so that tests reach a limit with small sizes). `None` where [`gpu`] skips.
pub fn gpu_with_limits(
    label: &str,
    limits: impl FnOnce(wgpu::Limits) -> wgpu::Limits,
) -> Option<Context> {
    gpu()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
        .expect("an adapter exists but the default request found none");
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some(label),
        required_limits: limits(adapter.limits()),
        ..Default::default()
    }))
    .expect("a device with lower limits than the adapter allows");
    Some(Context::from_device(device, queue))
}

/// Workgroups per dimension of [`small_grid_gpu`].
/// Eight: the smallest limit at which one shape can need more than a row of 1024-vec4
/// workgroups for one sample and still fit a flat grid of 256-vec4 workgroups in x * y.
pub const SMALL_GRID: u32 = 8;

/// Shapes that take every vec4 grid path on [`small_grid_gpu`], for workgroups of 256, 512 or
/// 1024 vec4s (one, two or four per invocation; f16 groups of eight likewise): per-sample with
/// samples spilling into z (9 samples of 1024 vec4s, y = 8), flat in rows because one sample
/// needs more than 8 workgroups (10240 vec4s), and short samples on the flat grid in rows
/// (10000 vec4s in samples of 2, so an invocation's later vec4s are in other samples than its
/// first).
pub const SMALL_GRID_SHAPES: [&[usize]; 3] = [&[9, 4096], &[1, 40960], &[5000, 8]];

pub fn linear(t: usize) -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, t).unwrap()
}

pub fn cosine(t: usize) -> Tables {
    Tables::from_schedule(ScheduleKind::Cosine, 1e-4, 0.02, t).unwrap()
}

pub fn f32_array(shape: &[usize], data: Vec<f32>) -> NpyArray {
    NpyArray {
        shape: shape.to_vec(),
        data: NpyData::F32(data),
    }
}

pub fn t_array(t: &[u32]) -> NpyArray {
    NpyArray {
        shape: vec![t.len()],
        data: NpyData::I32(t.iter().map(|&v| v as i32).collect()),
    }
}

/// A case with the check's input distributions, x of `shape`, every sample at timestep `step`.
pub fn case(
    op: Op,
    tables: &Tables,
    model: ModelOptions,
    loss: LossType,
    shape: &[usize],
    step: u32,
    seed: u64,
) -> Case {
    let mut g = Gen::new(seed);
    let mut inputs = check::inputs(&mut g, op, &model, tables, shape);
    if op.takes_t() {
        inputs.insert("t".into(), t_array(&vec![step; shape[0]]));
    }
    Case {
        op,
        settings: OpSettings {
            step: Default::default(),
            tables: tables.clone(),
            model,
            loss,
        },
        label: format!("{model:?} {loss} shape {shape:?} t={step}"),
        inputs,
    }
}

/// Run `case` on both backends and fail with the worst element of any output out of tolerance.
pub fn assert_case(ctx: &Context, case: &Case) {
    let rows = check::run_case(ctx, case).unwrap();
    for r in &rows {
        assert!(
            r.comparison.pass,
            "{} {} output {}: worst (index, gpu, ref, distance, bound) = {:?}, tolerance {}",
            r.op.name(),
            r.label,
            r.output,
            r.comparison.worst,
            r.tolerance
        );
    }
}

/// Sizes not multiples of the 256-wide workgroup, from one element up, and t in {0, 1, T-1}.
pub const SHAPES: [&[usize]; 4] = [&[1, 1], &[1, 255], &[3, 257], &[2, 3, 17, 19]];

/// Sample lengths that are multiples of 4 (the vec4 kernels' path), in element counts that are
/// not multiples of a 256-wide workgroup of vec4s.
pub const VEC4_SHAPES: [&[usize]; 3] = [&[1, 4], &[3, 268], &[2, 3, 16, 20]];

/// More samples than one grid dimension holds (65535): with samples this short the vec4 kernels
/// take the flat grid, and a wrong sample index shows as the wrong row or noise key.
pub const MANY_SAMPLES: &[usize] = &[70_000, 4];

/// Every shape in [`SHAPES`] at t = 0, 1 and T-1 of `tables`, for each option set.
pub fn sweep(ctx: &Context, op: Op, tables: &Tables, options: &[(ModelOptions, LossType)]) {
    sweep_shapes(ctx, op, tables, options, &SHAPES);
}

/// Every shape in `shapes` at t = 0, 1 and T-1 of `tables`, for each option set.
pub fn sweep_shapes(
    ctx: &Context,
    op: Op,
    tables: &Tables,
    options: &[(ModelOptions, LossType)],
    shapes: &[&[usize]],
) {
    let big_t = tables.num_timesteps() as u32;
    let mut seed = 1;
    for &(model, loss) in options {
        for &shape in shapes {
            let mut steps = vec![0, 1.min(big_t - 1), big_t - 1];
            steps.dedup();
            for &step in &steps {
                seed += 1;
                assert_case(ctx, &case(op, tables, model, loss, shape, step, seed));
            }
            // Samples at different steps in one batch, so a kernel that looks up the wrong
            // sample's row fails.
            if op.takes_t() && shape[0] > 1 {
                seed += 1;
                let mut mixed = case(op, tables, model, loss, shape, 0, seed);
                let t: Vec<u32> = (0..shape[0]).map(|b| steps[b % steps.len()]).collect();
                mixed.inputs.insert("t".into(), t_array(&t));
                mixed.label = format!("{model:?} {loss} shape {shape:?} t={t:?}");
                assert_case(ctx, &mixed);
            }
        }
    }
}

/// Timesteps 0, 1, T-1, 0, ... for a batch of `batch`: neighbours at different steps.
pub fn mixed_steps(tables: &Tables, batch: usize) -> Vec<u32> {
    let big_t = tables.num_timesteps() as u32;
    let steps = [0, 1.min(big_t - 1), big_t - 1];
    (0..batch).map(|b| steps[(b + 1) % 3]).collect()
}

/// Every mean type x variance type x clip setting.
pub fn all_model_options() -> Vec<(ModelOptions, LossType)> {
    let mut v = Vec::new();
    for &mean_type in ddpm_wgpu::MeanType::ALL {
        for &var_type in ddpm_wgpu::VarType::ALL {
            for clip_denoised in [true, false] {
                let m = ModelOptions {
                    mean_type,
                    var_type,
                    clip_denoised,
                    clip_range: 1.0,
                };
                v.push((m, LossType::Mse));
            }
        }
    }
    v
}

/// Run `op` on both backends with explicit inputs; returns (gpu, cpu) outputs.
pub fn run_both(
    ctx: &Context,
    op: Op,
    settings: &OpSettings,
    inputs: &std::collections::BTreeMap<String, NpyArray>,
) -> (Vec<ops::Output>, Vec<ops::Output>) {
    let g = ops::run(op, settings, inputs, ops::Backend::Gpu(ctx)).unwrap();
    let c = ops::run(op, settings, inputs, ops::Backend::Cpu).unwrap();
    (g, c)
}

/// Assert each output of (gpu, cpu) within `check::tolerance` for `op`.
pub fn assert_outputs(op: Op, gpu: &[ops::Output], cpu: &[ops::Output], terms: Option<&[f64]>) {
    for (g, c) in gpu.iter().zip(cpu) {
        let tol = check::tolerance(op, c.name);
        let sample_len = c.shape.iter().skip(1).product();
        let cmp = tol.compare(&g.data, &c.data, sample_len, terms);
        assert!(
            cmp.pass,
            "{} output {}: worst (index, gpu, ref, distance, bound) = {:?}, tolerance {tol}",
            op.name(),
            c.name,
            cmp.worst
        );
    }
}

/// A context on the adapter [`gpu`] finds, but with a device created without optional features:
/// no subgroups, so the portable variants of the kernels that have a subgroup one run.
/// `None` where [`gpu`] skips.
pub fn gpu_without_subgroups() -> Option<Context> {
    gpu()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
        .expect("an adapter exists but the default request found none");
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("no subgroups"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .expect("a device without optional features");
    let ctx = Context::from_device(device, queue);
    assert_eq!(ctx.subgroup_size(), None);
    Some(ctx)
}

/// A context on [`gpu`]'s adapter whose device binds at most `bytes` per storage buffer, so that
/// small models take the paths real ones reach only past 128 MiB. `None` where [`gpu`] skips.
pub fn gpu_with_binding_limit(bytes: u64) -> Option<Context> {
    gpu()?;
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
        .expect("an adapter exists but the default request found none");
    let limits = wgpu::Limits {
        max_storage_buffer_binding_size: bytes,
        ..adapter.limits()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("small bindings"),
        required_limits: limits,
        required_features: adapter.features() & wgpu::Features::SUBGROUP,
        ..Default::default()
    }))
    .expect("a device with smaller storage bindings than the adapter allows");
    let ctx = Context::from_device(device, queue);
    assert_eq!(ctx.limits().max_storage_buffer_binding_size, bytes);
    Some(ctx)
}

/// The GPU and the f64 CPU loop of `sampler` over the exact mixture of `points` ([M, d]) with
/// standard deviation `sigma`: (GPU samples, CPU samples), `batch` of d each.
pub fn mixture_loops(
    ctx: &Context,
    sampler: &dyn ddpm_wgpu::sampler::Sampler,
    (points, d): (&[f32], usize),
    sigma: f64,
    batch: usize,
    opts: &ddpm_wgpu::gpu::sample_loop::LoopOptions,
) -> (Vec<f32>, Vec<f64>) {
    let model = *sampler.model();
    let mut den =
        ddpm_wgpu::gpu::MixtureDenoiser::new(ctx, points, &[points.len() / d, d], sigma, model)
            .unwrap();
    let gpu = ddpm_wgpu::gpu::sample_loop::sample_loop(
        ctx,
        sampler,
        &mut den,
        &[batch, d],
        opts,
        &mut |_, _| {},
    )
    .unwrap()
    .x0;
    let by_t = sampler.chain().by_timestep();
    let mix = ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture {
        tables: &by_t,
        points,
        sample_len: d,
        data_var: sigma * sigma,
        model,
    };
    let cpu =
        ddpm_wgpu::cpu::sampling::sample_loop::sample_loop(sampler, &mix, batch, d, opts).unwrap();
    (gpu, cpu)
}
