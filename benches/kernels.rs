//! Kernel throughput: every op of `ddpm op` on the GPU (inputs uploaded once, timed from submit
//! to completion; outputs are allocated per call as the API does) beside its f64 CPU twin, in
//! elements/s, at 2^12, 2^16, 2^20 and 2^24 elements (4 samples, t = 0, 333, 666, 999, the
//! default options); the CPU row runs `ops::run`, input validation included. Bytes/s for the GPU rows: `ddpm bench`, which also knows each kernel's
//! traffic. `DDPM_BENCH_SIZES=4096,65536` picks other sizes.
//! `cargo bench --bench kernels`; without an adapter only the CPU rows run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ddpm_wgpu::check::{self, Gen};
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::npy::NpyArray;
use ddpm_wgpu::ops::{self, GpuOp, Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions, ScheduleKind, Tables};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const BATCH: usize = 4;

fn sizes() -> Vec<usize> {
    std::env::var("DDPM_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1 << 12, 1 << 16, 1 << 20, 1 << 24])
}

/// Time `iters` submissions of `op`, waiting for the device after the last.
fn time_gpu(ctx: &Context, op: &GpuOp, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let mut enc = ctx.encoder();
        if op.record(ctx, &mut enc).is_err() || ctx.submit(enc).is_err() {
            break;
        }
    }
    let _ = ctx.wait();
    start.elapsed()
}

fn inputs(op: Op, settings: &OpSettings, n: usize) -> BTreeMap<String, NpyArray> {
    let mut g = Gen::new(n as u64);
    let shape = [BATCH, n / BATCH];
    let mut inputs = check::inputs(&mut g, op, &settings.model, &settings.tables, &shape);
    if op.takes_t() {
        let t = NpyArray {
            shape: vec![BATCH],
            data: ddpm_wgpu::npy::NpyData::I32(vec![0, 333, 666, 999]),
        };
        inputs.insert("t".into(), t);
    }
    inputs
}

fn bench(c: &mut Criterion) {
    let settings = OpSettings {
        step: Default::default(),
        tables: Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap(),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    let ctx = Context::new()
        .map_err(|e| eprintln!("no GPU adapter ({e}): CPU rows only"))
        .ok();
    for op in Op::ALL.iter().copied() {
        let mut group = c.benchmark_group(format!("kernels/{}", op.name().replace('-', "_")));
        group.sample_size(10);
        for n in sizes() {
            let inputs = inputs(op, &settings, n);
            group.throughput(Throughput::Elements(n as u64));
            if let Some(ctx) = &ctx {
                let prepared = GpuOp::new(ctx, op, &settings, &inputs).unwrap();
                group.bench_function(BenchmarkId::new("gpu", n), |b| {
                    b.iter_custom(|iters| time_gpu(ctx, &prepared, iters))
                });
            }
            group.bench_function(BenchmarkId::new("cpu", n), |b| {
                b.iter(|| ops::run(op, &settings, &inputs, ops::Backend::Cpu).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
