//! Kernel throughput: each GPU kernel (submit + wait, the device created once) beside its f64
//! CPU twin, in elements/s. Sizes 2^12, 2^16, 2^20 (2^24 with DDPM_BENCH_LARGE=1).
//! `cargo bench --bench kernels`; without an adapter only the CPU rows run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu::{self, ModelOut};
use ddpm_wgpu::gpu::{self, Context, GpuModelOut, GpuSteps, GpuTables, GpuTensor};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};
use std::time::{Duration, Instant};

const BATCH: usize = 4;

fn sizes() -> Vec<usize> {
    let mut v = vec![1 << 12, 1 << 16, 1 << 20];
    if std::env::var_os("DDPM_BENCH_LARGE").is_some() {
        v.push(1 << 24);
    }
    v
}

/// Time `iters` submissions of what `record` encodes, waiting for the device after the last.
fn time_gpu(
    ctx: &Context,
    iters: u64,
    mut record: impl FnMut(&mut wgpu::CommandEncoder),
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let mut enc = ctx.encoder();
        record(&mut enc);
        if ctx.submit(enc).is_err() {
            break;
        }
    }
    let _ = ctx.wait();
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let ctx = Context::new()
        .map_err(|e| eprintln!("no GPU adapter ({e}): CPU rows only"))
        .ok();
    let opts = ModelOptions::default();
    for n in sizes() {
        let d = n / BATCH;
        let mut g = Gen::new(n as u64);
        let x = g.vec(n, Gen::normal);
        let eps = g.vec(n, Gen::normal);
        let z = g.vec(n, Gen::normal);
        let t: Vec<u32> = (0..BATCH as u32).map(|b| 250 * b).collect();
        let mut group = c.benchmark_group("kernels");
        group.throughput(Throughput::Elements(n as u64));
        group.sample_size(10);
        if let Some(ctx) = &ctx {
            let gt = GpuTables::new(ctx, &tables).unwrap();
            let steps = GpuSteps::new(ctx, &gt, &t).unwrap();
            let shape = [BATCH, d];
            let (gx, ge, gz) = (
                GpuTensor::from_slice(ctx, &shape, &x).unwrap(),
                GpuTensor::from_slice(ctx, &shape, &eps).unwrap(),
                GpuTensor::from_slice(ctx, &shape, &z).unwrap(),
            );
            group.bench_function(BenchmarkId::new("q_sample/gpu", n), |b| {
                b.iter_custom(|iters| {
                    time_gpu(ctx, iters, |e| {
                        let _ = gpu::q_sample(ctx, e, &gt, &steps, &gx, &ge);
                    })
                })
            });
            let model = GpuModelOut {
                output: &ge,
                var: None,
            };
            group.bench_function(BenchmarkId::new("p_sample/gpu", n), |b| {
                b.iter_custom(|iters| {
                    time_gpu(ctx, iters, |e| {
                        let _ = gpu::p_sample(ctx, e, &gt, &opts, &steps, &gx, model, &gz);
                    })
                })
            });
            group.bench_function(BenchmarkId::new("vb_terms_bpd/gpu", n), |b| {
                b.iter_custom(|iters| {
                    time_gpu(ctx, iters, |e| {
                        let _ = gpu::vb_terms_bpd(ctx, e, &gt, &opts, &steps, &gx, &gz, model);
                    })
                })
            });
        }
        group.bench_function(BenchmarkId::new("q_sample/cpu", n), |b| {
            b.iter(|| cpu::q_sample(&tables, &t, d, &x, &eps))
        });
        let model = ModelOut {
            output: &eps,
            var: None,
        };
        group.bench_function(BenchmarkId::new("p_sample/cpu", n), |b| {
            b.iter(|| cpu::p_sample(&tables, &opts, &t, d, &x, model, &z))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
