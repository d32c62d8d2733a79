//! The whole sampling loop (`gpu::p_sample_loop`: allocation, T steps, read-back) in steps/s
//! (criterion's elements are steps; samples/s = steps/s x B / T) at [B, 3, 32, 32] for
//! B in {1, 16, 128} and [4, 3, 256, 256], with the exact mixture denoiser (M = 16 points, three
//! kernels a step) and the elementwise Gaussian denoiser (one kernel a step, so the scheduler's
//! own cost shows), beside the f64 CPU loop at the smaller shapes. T = 100 keeps a criterion run
//! in minutes on a software adapter; `ddpm bench` runs T = 1000 once and adds the overhead ratio.
//! `cargo bench --bench sample_loop`; without an adapter only the CPU rows run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu::sampling::{
    gaussian_denoiser::Gaussian, mixture_denoiser::Mixture, sample_loop,
};
use ddpm_wgpu::gpu::{self, Context, Denoiser, GaussianDenoiser, GpuTables, MixtureDenoiser};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};

const T: usize = 100;
const POINTS: usize = 16;
const SIGMA: f64 = 0.1;

fn bench(c: &mut Criterion) {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, T).unwrap();
    let model = ModelOptions::default();
    let opts = gpu::SampleOptions {
        model,
        seed: 1,
        steps_per_submit: T,
        ..Default::default()
    };
    let ctx = Context::new()
        .map_err(|e| eprintln!("no GPU adapter ({e}): CPU rows only"))
        .ok();
    let shapes: [&[usize]; 4] = [
        &[1, 3, 32, 32],
        &[16, 3, 32, 32],
        &[128, 3, 32, 32],
        &[4, 3, 256, 256],
    ];
    for shape in shapes {
        let (batch, d) = (shape[0], shape[1..].iter().product::<usize>());
        let points = Gen::new(7).vec(POINTS * d, |g| g.range(-1.0, 1.0));
        let mut group = c.benchmark_group(format!("sample_loop/{shape:?}"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(T as u64));
        if let Some(ctx) = &ctx {
            let gt = GpuTables::new(ctx, &tables).unwrap();
            let mut denoisers: Vec<(&str, Box<dyn Denoiser>)> = vec![
                (
                    "gaussian",
                    Box::new(GaussianDenoiser::new(SIGMA, model).unwrap()),
                ),
                (
                    "mixture",
                    Box::new(
                        MixtureDenoiser::new(ctx, &points, &[POINTS, d], SIGMA, model).unwrap(),
                    ),
                ),
            ];
            for (name, den) in denoisers.iter_mut() {
                group.bench_function(BenchmarkId::new(format!("gpu/{name}"), batch), |b| {
                    b.iter(|| {
                        gpu::p_sample_loop(ctx, &gt, den.as_mut(), shape, &opts, &mut |_, _| {})
                            .unwrap()
                    })
                });
            }
        }
        if batch * d <= 16 * 3 * 32 * 32 {
            let gauss = Gaussian {
                tables: &tables,
                sample_len: d,
                data_var: SIGMA * SIGMA,
                model,
            };
            let mix = Mixture {
                tables: &tables,
                points: &points,
                sample_len: d,
                data_var: SIGMA * SIGMA,
                model,
            };
            let cpu_denoisers: [(&str, &dyn sample_loop::CpuDenoiser); 2] =
                [("gaussian", &gauss), ("mixture", &mix)];
            for (name, den) in cpu_denoisers {
                group.bench_function(BenchmarkId::new(format!("cpu/{name}"), batch), |b| {
                    b.iter(|| {
                        sample_loop::p_sample_loop(&tables, &model, den, batch, d, 1).unwrap()
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
