//! Dynamic thresholding's per-sample scale on the GPU (`gpu::DynamicThreshold`, prepared once,
//! recorded as a sampling loop would) beside a plain elementwise kernel of the same size
//! (`q_sample_into` into a buffer made beforehand) and the torch-exact CPU twin, at
//! [16, 3, 32, 32], [128, 3, 32, 32] and [4, 3, 256, 256] (ratio 0.995, normal values).
//! GPU rows: `iters` dispatches recorded into one encoder, timed from submit to completion.
//! `cargo bench --bench dynamic_threshold`; without an adapter only the CPU rows run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu::kernels::dynamic_threshold::dynamic_threshold_torch_f32;
use ddpm_wgpu::gpu::{self, Context, DynamicThreshold, GpuSteps, GpuTables, GpuTensor};
use ddpm_wgpu::{ScheduleKind, Tables};
use std::time::{Duration, Instant};

const SHAPES: [[usize; 4]; 3] = [[16, 3, 32, 32], [128, 3, 32, 32], [4, 3, 256, 256]];

/// Submit `iters` records of `record` in one encoder and wait; the recording is not timed.
fn time_records(
    ctx: &Context,
    iters: u64,
    record: &dyn Fn(&mut wgpu::CommandEncoder) -> ddpm_wgpu::Result<()>,
) -> Duration {
    let mut enc = ctx.encoder();
    for _ in 0..iters {
        if record(&mut enc).is_err() {
            break;
        }
    }
    let start = Instant::now();
    if ctx.submit(enc).is_ok() {
        let _ = ctx.wait();
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new()
        .map_err(|e| eprintln!("no GPU adapter ({e}): CPU rows only"))
        .ok();
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    for shape in SHAPES {
        let n: usize = shape.iter().product();
        let sample_len = n / shape[0];
        let mut g = Gen::new(n as u64);
        let x = g.vec(n, Gen::normal);
        let mut group = c.benchmark_group(format!("dynamic_threshold/{shape:?}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(n as u64));
        if let Some(ctx) = &ctx {
            let values = GpuTensor::from_slice(ctx, &shape, &x).unwrap();
            let threshold = DynamicThreshold::new(ctx, &values, 0.995, 1.0).unwrap();
            group.bench_function(BenchmarkId::new("gpu", "dynamic_threshold"), |b| {
                b.iter_custom(|iters| time_records(ctx, iters, &|enc| threshold.record(ctx, enc)))
            });
            let gpu_tables = GpuTables::new(ctx, &tables).unwrap();
            let steps: Vec<u32> = (0..shape[0] as u32).map(|b| (b * 333) % 1000).collect();
            let t = GpuSteps::new(ctx, &gpu_tables, &steps).unwrap();
            let noise = GpuTensor::from_slice(ctx, &shape, &g.vec(n, Gen::normal)).unwrap();
            let x_t = GpuTensor::zeros(ctx, &shape).unwrap();
            group.bench_function(BenchmarkId::new("gpu", "q_sample"), |b| {
                b.iter_custom(|iters| {
                    time_records(ctx, iters, &|enc| {
                        gpu::q_sample_into(ctx, enc, &gpu_tables, &t, &values, &noise, &x_t)
                    })
                })
            });
        }
        group.bench_function(
            BenchmarkId::new("cpu", "dynamic_threshold_torch_f32"),
            |b| b.iter(|| dynamic_threshold_torch_f32(&x, sample_len, 0.995, 1.0).unwrap()),
        );
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
