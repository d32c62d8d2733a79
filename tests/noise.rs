//! The normal noise: GPU draws against the exact f64 value of the same draw, independence from
//! batch chunking, and the statistics of ~10^6 draws (mean, variance, Kolmogorov-Smirnov,
//! correlation between neighbouring elements and between consecutive steps).

mod common;
use ddpm_wgpu::cpu::kernels::noise::{
    self, normal, normal_from_bits, normal_from_bits_f32, stream,
};
use ddpm_wgpu::gpu;

fn gpu_noise(
    ctx: &gpu::Context,
    seed: u64,
    stream: u32,
    step: u32,
    first: u32,
    shape: &[usize],
) -> Vec<f32> {
    let mut enc = ctx.encoder();
    let t = gpu::noise(ctx, &mut enc, seed, stream, step, first, shape).unwrap();
    ctx.submit(enc).unwrap();
    t.to_vec(ctx).unwrap()
}

/// Distance in f32 ulps of the exact value.
fn ulps(got: f32, exact: f64) -> f64 {
    let ulp = (exact.abs() as f32).max(f32::MIN_POSITIVE);
    let ulp = f32::from_bits(ulp.to_bits() + 1) - ulp;
    (got as f64 - exact).abs() / ulp as f64
}

/// Each f32 draw carries a handful of roundings: the log's series and exponent split, the
/// square root, the reduced angle, sin or cos (1 ulp on llvmpipe) and the final product. Bound:
/// 4 ulps of the exact value; below 1e-3 in magnitude (where an ulp is < 1e-10), 4e-10 absolute.
fn assert_close_to_exact(got: &[f32], exact: &[f64]) -> (f64, f64) {
    let (mut worst_ulps, mut worst_abs) = (0.0f64, 0.0f64);
    for (i, (&g, &e)) in got.iter().zip(exact).enumerate() {
        if e.abs() >= 1e-3 {
            let u = ulps(g, e);
            worst_ulps = worst_ulps.max(u);
            assert!(u <= 4.0, "element {i}: {g} vs exact {e}: {u} ulps");
        } else {
            let a = (g as f64 - e).abs();
            worst_abs = worst_abs.max(a);
            assert!(a <= 4e-10, "element {i}: {g} vs exact {e}: {a} absolute");
        }
    }
    (worst_ulps, worst_abs)
}

#[test]
fn cpu_f32_mirror_is_close_to_exact() {
    let exact: Vec<f64> = (0..200_000)
        .map(|j| normal(7, stream::SAMPLE, 3, 0, j))
        .collect();
    let mirror: Vec<f32> = (0..200_000)
        .map(|j| noise::normal_f32(7, stream::SAMPLE, 3, 0, j))
        .collect();
    let (u, a) = assert_close_to_exact(&mirror, &exact);
    eprintln!("CPU f32 mirror vs exact: {u:.2} ulps (|z| >= 1e-3), {a:e} absolute below");
}

#[test]
fn gpu_normals_match_the_exact_draws() {
    let Some(ctx) = common::gpu() else { return };
    let (batch, len) = (4usize, 100_003usize);
    let got = gpu_noise(&ctx, 0xABCDEF, stream::SAMPLE, 500, 0, &[batch, len]);
    let exact = noise::noise(0xABCDEF, stream::SAMPLE, 500, 0, batch, len);
    let (u, a) = assert_close_to_exact(&got, &exact);
    eprintln!("GPU vs exact: {u:.2} ulps (|z| >= 1e-3), {a:e} absolute below");
}

/// The same seed gives the same draws whether the batch is drawn whole or in chunks.
#[test]
fn chunking_does_not_change_the_draws() {
    let Some(ctx) = common::gpu() else { return };
    let len = 777;
    let whole = gpu_noise(&ctx, 9, stream::INIT, 1000, 0, &[6, len]);
    let mut parts = gpu_noise(&ctx, 9, stream::INIT, 1000, 0, &[1, len]);
    parts.extend(gpu_noise(&ctx, 9, stream::INIT, 1000, 1, &[3, len]));
    parts.extend(gpu_noise(&ctx, 9, stream::INIT, 1000, 4, &[2, len]));
    assert_eq!(whole, parts);
}

/// Standard normal CDF via erfc (W. J. Cody's rational approximation is overkill here; this
/// series/continued-fraction pair is accurate to ~1e-12, far below the KS statistic's 1e-3).
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.5 {
        // erf by its Taylor series, 1 - erf.
        let mut term = x;
        let mut sum = x;
        let x2 = x * x;
        for n in 1..200 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 {
                break;
            }
        }
        1.0 - 2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        // Continued fraction (Lentz) for erfc at large x.
        let mut f = 0.0;
        for n in (1..60).rev() {
            f = (n as f64 / 2.0) / (x + f);
        }
        (-x * x).exp() / std::f64::consts::PI.sqrt() / (x + f)
    }
}

/// Mean, variance, KS distance to N(0, 1), and the correlations of neighbouring elements and of
/// the same element at consecutive steps. Bounds at ~5 sigma (KS: the 0.001 critical value
/// 1.95 / sqrt(n)), so a correct generator fails them with negligible probability.
fn assert_standard_normal(draws: &[f64], next_step: &[f64], label: &str) {
    let n = draws.len() as f64;
    let mean = draws.iter().sum::<f64>() / n;
    let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(mean.abs() < 5.0 / n.sqrt(), "{label}: mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(),
        "{label}: variance {var}"
    );
    let mut sorted = draws.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ks = sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let c = normal_cdf(x);
            (c - i as f64 / n).abs().max(((i + 1) as f64 / n - c).abs())
        })
        .fold(0.0, f64::max);
    assert!(ks < 1.95 / n.sqrt(), "{label}: KS distance {ks}");
    let corr =
        |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / a.len() as f64;
    let lag1 = corr(&draws[..draws.len() - 1], &draws[1..]);
    assert!(
        lag1.abs() < 5.0 / n.sqrt(),
        "{label}: neighbour correlation {lag1}"
    );
    let steps = corr(draws, next_step);
    assert!(
        steps.abs() < 5.0 / n.sqrt(),
        "{label}: consecutive-step correlation {steps}"
    );
    eprintln!(
        "{label}: mean {mean:.2e} var {var:.5} KS {ks:.2e} lag1 {lag1:.2e} steps {steps:.2e}"
    );
}

#[test]
fn statistics_of_a_million_draws_cpu() {
    let n = 1 << 20;
    let a = noise::noise(1, stream::SAMPLE, 10, 0, 1, n);
    let b = noise::noise(1, stream::SAMPLE, 9, 0, 1, n);
    assert_standard_normal(&a, &b, "cpu");
}

#[test]
fn statistics_of_a_million_draws_gpu() {
    let Some(ctx) = common::gpu() else { return };
    let n = 1 << 20;
    let a: Vec<f64> = gpu_noise(&ctx, 2, stream::SAMPLE, 10, 0, &[8, n / 8])
        .into_iter()
        .map(f64::from)
        .collect();
    let b: Vec<f64> = gpu_noise(&ctx, 2, stream::SAMPLE, 9, 0, &[8, n / 8])
        .into_iter()
        .map(f64::from)
        .collect();
    assert_standard_normal(&a, &b, "gpu");
}

/// The box-muller pair really uses both words: the radius and the angle come from different
/// words, and the extreme words give finite values (|z| <= sqrt(-2 ln 2^-24) ~ 5.77).
#[test]
fn extreme_words_give_finite_normals() {
    for (b0, b1) in [(0, 0), (u32::MAX, u32::MAX), (0, u32::MAX), (u32::MAX, 0)] {
        let z = normal_from_bits(b0, b1);
        let z32 = normal_from_bits_f32(b0, b1);
        assert!(z.is_finite() && z.abs() <= 5.8, "{z}");
        assert!(
            (z32 as f64 - z).abs() <= 1e-6 * z.abs().max(1.0),
            "{z32} vs {z}"
        );
        let s = noise::sine_normal_from_bits(b0, b1);
        assert!(s.is_finite() && s.abs() <= 5.8, "{s}");
        assert!(s * s + z * z <= 5.8 * 5.8, "one radius for the pair");
    }
}

/// Elements 4m .. 4m + 3 come from one Philox call: lanes 0 and 1 are the cos and sin branches
/// of words (0, 1), lanes 2 and 3 of words (2, 3), and the f32 mirror follows each.
#[test]
fn four_lanes_share_one_philox_call() {
    use ddpm_wgpu::cpu::kernels::philox_bits::philox_bits;
    for j in [0u32, 4, 40, 1 << 20] {
        let b = philox_bits(3, stream::SAMPLE, 9, 2, j / 4);
        let want = [
            normal_from_bits(b[0], b[1]),
            noise::sine_normal_from_bits(b[0], b[1]),
            normal_from_bits(b[2], b[3]),
            noise::sine_normal_from_bits(b[2], b[3]),
        ];
        for (k, w) in want.iter().enumerate() {
            let j = j + k as u32;
            assert_eq!(normal(3, stream::SAMPLE, 9, 2, j), *w, "j = {j}");
            let f = noise::normal_f32(3, stream::SAMPLE, 9, 2, j) as f64;
            assert!(
                (f - w).abs() <= 1e-6 * w.abs().max(1.0),
                "j = {j}: {f} vs {w}"
            );
        }
    }
}

/// The draws are keyed by element, not by invocation: the noise kernel rebuilt with 64-wide
/// workgroups (so a 4x larger grid, and a different invocation for every element) writes the
/// same bits as the library's 256-wide one.
#[test]
fn workgroup_size_does_not_change_the_draws() {
    use ddpm_wgpu::gpu::runtime::params::NoiseParams;
    use ddpm_wgpu::gpu::runtime::shaders::Kernel;
    use wgpu::util::DeviceExt;
    let Some(ctx) = common::gpu() else { return };
    let (batch, len) = (3usize, 1001usize);
    let want = gpu_noise(&ctx, 5, stream::SAMPLE, 42, 0, &[batch, len]);
    let source = Kernel::Noise.source();
    let needle = "const WG_SIZE: u32 = 256u;";
    assert!(source.contains(needle));
    let source = source.replace(needle, "const WG_SIZE: u32 = 64u;");
    let device = &ctx.device;
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("noise, 64 wide"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("noise, 64 wide"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let params = NoiseParams::new(5, stream::SAMPLE, 42, 0, batch, len);
    let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: bytemuck::bytes_of(&params),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let out = device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (batch * len * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    });
    let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: uniform.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: out.as_entire_binding(),
            },
        ],
    });
    let mut enc = ctx.encoder();
    {
        let mut pass = enc.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(((batch * len) as u32).div_ceil(64), 1, 1);
    }
    ctx.submit(enc).unwrap();
    let bytes = gpu::runtime::tensor::read_buffer(&ctx, &out, (batch * len * 4) as u64).unwrap();
    let got: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes);
    assert_eq!(got, want);
}
