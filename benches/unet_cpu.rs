//! The f64 CPU twin of UNet2DModel (`cpu::nn::forward`), one forward at batch sizes 1 and 4 of
//! the google/ddpm-cifar10-32 architecture with synthetic weights (`nn::Weights::synthetic`:
//! the speed does not depend on the values) and of the committed `cifar10_tiny` fixture.
//! Throughput in FLOPs as `UNet2D::flops` counts them (criterion prints them as elem/s: read
//! Gelem/s as GFLOP/s). The peer is `benches/peers/unet_forward.py` (torch on the CPU).
//! `cargo bench --bench unet_cpu`: about a minute per cifar10 row.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu::nn::forward;
use ddpm_wgpu::nn::{ModelFolder, UNet2D, UNetConfig, Weights};

use ddpm_wgpu::nn::presets::CIFAR10_CONFIG as CIFAR10;

fn bench(c: &mut Criterion) {
    let config = UNetConfig::from_json(CIFAR10, "cifar10").unwrap();
    let cifar10 = UNet2D::new(&config, &Weights::synthetic(0).root()).unwrap();
    let tiny_dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/unet/cifar10_tiny"
    );
    let tiny = ModelFolder::open(tiny_dir).unwrap().unet().unwrap();
    for (name, model, size, batches) in [
        ("cifar10", &cifar10, 32, &[1usize, 4][..]),
        ("cifar10_tiny", &tiny, 16, &[1, 4][..]),
    ] {
        let mut group = c.benchmark_group(format!("unet_cpu/{name}"));
        group.sample_size(10);
        for &b in batches {
            let shape = [b, 3, size, size];
            let x = Gen::new(3).vec(b * 3 * size * size, |g| g.range(-1.0, 1.0));
            let t: Vec<u32> = (0..b as u32).map(|i| 999 - 300 * i).collect();
            group.throughput(Throughput::Elements(model.flops(size, size) * b as u64));
            group.bench_function(BenchmarkId::new("f64", b), |bench| {
                bench.iter(|| forward(model, &x, shape, &t).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
