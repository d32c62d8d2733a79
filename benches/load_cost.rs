//! What a load costs a compute shader on this adapter, by where it reads from: a storage
//! buffer (scalar, vec4), a uniform buffer (scalar, vec4), a texture (r32float, rgba32float)
//! and, for scale, subgroup operations: a broadcast, a shuffle up by one and a shuffle by a
//! per-lane index (benches/load_cost.wgsl). The figures behind the conv
//! kernel's shape (src/gpu/nn/conv2d.rs, benches/unet.md): on llvmpipe a storage load runs as
//! a loop over the lanes. Printed per load of one invocation, above the same loop without a
//! load, in ns of one core (time x cores / loads). `cargo bench --bench load_cost` (the
//! subgroup rows only where the adapter has subgroups).

use ddpm_wgpu::gpu::Context;
use std::time::Instant;
use wgpu::util::DeviceExt;

const N: u32 = 65536;
const K: u32 = 2048;

fn texture(ctx: &Context, format: wgpu::TextureFormat, data: &[f32]) -> wgpu::TextureView {
    let desc = wgpu::TextureDescriptor {
        label: Some("load_cost"),
        size: wgpu::Extent3d {
            width: 64,
            height: 64,
            depth_or_array_layers: 1,
        },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING,
        view_formats: &[],
    };
    let order = wgpu::util::TextureDataOrder::LayerMajor;
    let t =
        ctx.device
            .create_texture_with_data(&ctx.queue, &desc, order, bytemuck::cast_slice(data));
    t.create_view(&Default::default())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::new()?;
    let subgroups = ctx.subgroup_size().is_some();
    let mut source = include_str!("load_cost.wgsl").to_string();
    if subgroups {
        for (marker, op) in [
            ("/*BROADCAST*/f32(i)", "subgroupBroadcast(f32(i), 3u)"),
            ("/*SHUFFLE_UP*/f32(i)", "subgroupShuffleUp(f32(i), 1u)"),
            (
                "/*SHUFFLE*/f32(i)",
                "subgroupShuffle(f32(i), (n + 3u) & 7u)",
            ),
        ] {
            source = source.replace(marker, op);
        }
    }
    let dev = &ctx.device;
    let module = dev.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("load_cost"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let init = |bytes: &[u8], usage| {
        dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("load_cost"),
            contents: bytes,
            usage,
        })
    };
    let params = init(
        bytemuck::cast_slice(&[N, K, 0, 0]),
        wgpu::BufferUsages::UNIFORM,
    );
    let data: Vec<f32> = (0..16384).map(|i| (i % 7) as f32).collect();
    let storage = init(bytemuck::cast_slice(&data), wgpu::BufferUsages::STORAGE);
    let uniform = init(bytemuck::cast_slice(&data), wgpu::BufferUsages::UNIFORM);
    let t1 = texture(&ctx, wgpu::TextureFormat::R32Float, &data[..4096]);
    let t4 = texture(&ctx, wgpu::TextureFormat::Rgba32Float, &data);
    let out = dev.create_buffer(&wgpu::BufferDescriptor {
        label: Some("load_cost"),
        size: u64::from(N) * 4,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!(
        "adapter: {}",
        ddpm_wgpu::gpu::runtime::context::describe(ctx.adapter_info())
    );
    println!("{N} invocations x {K} loads; ns of one core per load of one invocation");
    let names = [
        "storage f32",
        "storage vec4",
        "uniform f32",
        "uniform vec4",
        "texture r32float",
        "texture rgba32float",
        "subgroupBroadcast",
        "subgroupShuffleUp",
        "subgroupShuffle",
        "no load",
    ];
    let mut times = Vec::new();
    for src in 0..names.len() {
        let constants = [("SRC", src as f64)];
        let pipeline = dev.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("load_cost"),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                ..Default::default()
            },
            cache: None,
        });
        let resources = [
            params.as_entire_binding(),
            storage.as_entire_binding(),
            storage.as_entire_binding(),
            uniform.as_entire_binding(),
            wgpu::BindingResource::TextureView(&t1),
            wgpu::BindingResource::TextureView(&t4),
            out.as_entire_binding(),
        ];
        let entries: Vec<_> = resources
            .into_iter()
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        let group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("load_cost"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        // One warm-up (llvmpipe compiles at the first dispatch), then the median of five.
        let mut runs = Vec::new();
        for rep in 0..6 {
            let mut enc = dev.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(N / 64, 1, 1);
            }
            let start = Instant::now();
            ctx.queue.submit([enc.finish()]);
            ctx.wait()?;
            if rep > 0 {
                runs.push(start.elapsed().as_secs_f64());
            }
        }
        runs.sort_by(f64::total_cmp);
        times.push(runs[runs.len() / 2]);
    }
    let base = times[times.len() - 1];
    let per = |t: f64| t * cores * 1e9 / (f64::from(N) * f64::from(K));
    for (name, &t) in names.iter().zip(&times) {
        if name.starts_with("subgroup") && !subgroups {
            println!("{name:20} (no subgroups on this adapter)");
            continue;
        }
        println!(
            "{name:20} {:8.1} ms  {:6.3} ns per load ({:6.3} above no load)",
            t * 1e3,
            per(t),
            per(t - base)
        );
    }
    Ok(())
}
