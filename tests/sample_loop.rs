//! The sampling loop: GPU against the f64 CPU loop with the same noise, determinism, and
//! statistical recovery of a known mixture through the whole reverse process.

mod common;
use ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture;
use ddpm_wgpu::cpu::sampling::sample_loop;
use ddpm_wgpu::gpu::{self, Context, GpuTables, MixtureDenoiser, SampleOptions};
use ddpm_wgpu::{MeanType, ModelOptions, ScheduleKind, Tables, VarType};

/// Three points in 2-D: samples of 2 elements take the scalar step kernel.
const POINTS: [f32; 6] = [-0.6, -0.6, 0.6, -0.4, 0.0, 0.7];

/// Three points in 4-D: samples of 4 elements take the vec4 step kernel.
const POINTS4: [f32; 12] = [
    -0.6, -0.6, 0.2, 0.5, 0.6, -0.4, -0.3, 0.0, 0.0, 0.7, 0.4, -0.5,
];

/// (points, elements per point) of both kernels' paths.
const DATA: [(&[f32], usize); 2] = [(&POINTS, 2), (&POINTS4, 4)];

#[allow(clippy::too_many_arguments)] // the loop's settings, spelled out per test
fn gpu_run_on(
    ctx: &Context,
    (points, d): (&[f32], usize),
    tables: &Tables,
    model: ModelOptions,
    sigma: f64,
    batch: usize,
    seed: u64,
    keep_every: Option<usize>,
) -> gpu::Samples {
    let gt = GpuTables::new(ctx, tables).unwrap();
    let mut den = MixtureDenoiser::new(ctx, points, &[points.len() / d, d], sigma, model).unwrap();
    let opts = SampleOptions {
        model,
        seed,
        steps_per_submit: 250,
        keep_every,
        max_chunk_samples: None,
    };
    gpu::p_sample_loop(ctx, &gt, &mut den, &[batch, d], &opts, &mut |_, _| {}).unwrap()
}

fn gpu_run(
    ctx: &Context,
    tables: &Tables,
    model: ModelOptions,
    sigma: f64,
    batch: usize,
    seed: u64,
    keep_every: Option<usize>,
) -> gpu::Samples {
    gpu_run_on(ctx, DATA[0], tables, model, sigma, batch, seed, keep_every)
}

fn gpu_samples(
    ctx: &Context,
    tables: &Tables,
    model: ModelOptions,
    sigma: f64,
    batch: usize,
    seed: u64,
) -> Vec<f32> {
    gpu_run(ctx, tables, model, sigma, batch, seed, None).x0
}

/// max |GPU loop - f64 CPU loop| for the mixture of `points` (each `d` long), same seed.
fn max_gpu_cpu_difference(
    ctx: &Context,
    tables: &Tables,
    points: &[f32],
    d: usize,
    batch: usize,
    sigma: f64,
    seed: u64,
) -> f64 {
    let model = ModelOptions::default();
    let gt = GpuTables::new(ctx, tables).unwrap();
    let mut den = MixtureDenoiser::new(ctx, points, &[points.len() / d, d], sigma, model).unwrap();
    let opts = SampleOptions {
        model,
        seed,
        ..Default::default()
    };
    let got = gpu::p_sample_loop(ctx, &gt, &mut den, &[batch, d], &opts, &mut |_, _| {})
        .unwrap()
        .x0;
    let mix = Mixture {
        tables,
        points,
        sample_len: d,
        data_var: sigma * sigma,
        model,
    };
    let want = sample_loop::p_sample_loop(tables, &model, &mix, batch, d, seed).unwrap();
    got.iter()
        .zip(&want)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max)
}

/// Same seed, same noise: the GPU loop in f32 tracks the f64 loop over all T = 1000 steps. The
/// reverse chain contracts towards the data, so per-step rounding does not compound: measured
/// 2.5e-7 (D = 2, scalar step) and 4.5e-7 (D = 4, vec4 step) at worst on lavapipe, all mean and
/// variance types; bounded at 2e-6.
#[test]
fn gpu_loop_matches_cpu_loop_at_t1000() {
    let Some(ctx) = common::gpu() else { return };
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    for &mean_type in MeanType::ALL {
        for var_type in [
            VarType::FixedSmall,
            VarType::FixedLarge,
            VarType::Learned,
            VarType::LearnedRange,
        ] {
            let model = ModelOptions {
                mean_type,
                var_type,
                clip_denoised: true,
                clip_range: 1.0,
            };
            for (points, d) in DATA {
                let g = gpu_run_on(&ctx, (points, d), &tables, model, 0.05, 16, 5, None).x0;
                let mix = Mixture {
                    tables: &tables,
                    points,
                    sample_len: d,
                    data_var: 0.05 * 0.05,
                    model,
                };
                let c = sample_loop::p_sample_loop(&tables, &model, &mix, 16, d, 5).unwrap();
                let worst = g
                    .iter()
                    .zip(&c)
                    .map(|(a, b)| (*a as f64 - b).abs())
                    .fold(0.0, f64::max);
                eprintln!("{mean_type} {var_type} D={d}: max |gpu - cpu| = {worst:e}");
                assert!(worst < 2e-6, "{mean_type} {var_type} D={d}: {worst}");
            }
        }
    }
}

#[test]
fn same_seed_same_bits() {
    let Some(ctx) = common::gpu() else { return };
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 100).unwrap();
    let m = ModelOptions::default();
    assert_eq!(
        gpu_samples(&ctx, &tables, m, 0.1, 8, 3),
        gpu_samples(&ctx, &tables, m, 0.1, 8, 3)
    );
    assert_ne!(
        gpu_samples(&ctx, &tables, m, 0.1, 8, 3),
        gpu_samples(&ctx, &tables, m, 0.1, 8, 4)
    );
}

/// Progressive mode keeps x_t and pred_xstart every k steps; at t = 0 the step returns the
/// mean, which is pred_xstart itself (coef1 = 1, coef2 = 0), so both equal x_0 exactly.
#[test]
fn progressive_mode_keeps_every_kth_step() {
    let Some(ctx) = common::gpu() else { return };
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 100).unwrap();
    let s = gpu_run(&ctx, &tables, ModelOptions::default(), 0.05, 4, 9, Some(25));
    let steps: Vec<usize> = s.kept.iter().map(|k| k.0).collect();
    assert_eq!(steps, vec![75, 50, 25, 0]);
    let (_, x_last, pred_last) = &s.kept[3];
    assert_eq!(x_last, &s.x0);
    assert_eq!(pred_last, &s.x0);
    // Earlier snapshots are noisier: further from the nearest data point on average.
    let spread = |x: &[f32]| x.iter().map(|v| v.abs() as f64).sum::<f64>() / x.len() as f64;
    assert!(spread(&s.kept[0].1) > spread(&s.x0));
    assert_eq!(
        gpu_samples(&ctx, &tables, ModelOptions::default(), 0.05, 4, 9),
        s.x0
    );
}

/// Samples of 300 elements (two partial distances per pair, the second over 44 elements) and 70
/// points (the softmax's workgroup path: more than 64 terms); the loop still tracks the f64
/// loop.
#[test]
fn long_samples_and_many_points_match_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let (m, d, batch) = (70usize, 300usize, 5usize);
    let mut g = ddpm_wgpu::check::Gen::new(21);
    let points = g.vec(m * d, |g| g.range(-1.0, 1.0));
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 50).unwrap();
    let worst = max_gpu_cpu_difference(&ctx, &tables, &points, d, batch, 0.1, 4);
    eprintln!("D = 300, M = 70: max |gpu - cpu| = {worst:e}");
    assert!(worst < 4e-6, "{worst}"); // measured 3.8e-7 on lavapipe
}

/// A batch split into chunks (7 samples as 3 + 3 + 1) gives the same bits as the whole batch,
/// progressive snapshots included: the noise is keyed by global sample, not by chunk.
#[test]
fn chunked_batch_gives_identical_samples() {
    let Some(ctx) = common::gpu() else { return };
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 60).unwrap();
    let model = ModelOptions::default();
    for (points, d) in DATA {
        let run = |max_chunk_samples| {
            let gt = GpuTables::new(&ctx, &tables).unwrap();
            let mut den = MixtureDenoiser::new(&ctx, points, &[3, d], 0.1, model).unwrap();
            let opts = SampleOptions {
                model,
                seed: 11,
                steps_per_submit: 30,
                keep_every: Some(20),
                max_chunk_samples,
            };
            let mut calls = Vec::new();
            let s = gpu::p_sample_loop(&ctx, &gt, &mut den, &[7, d], &opts, &mut |done, total| {
                calls.push((done, total))
            })
            .unwrap();
            (s, calls)
        };
        let (whole, whole_calls) = run(None);
        let (split, split_calls) = run(Some(3));
        assert_eq!(whole.x0, split.x0);
        assert_eq!(whole.kept.len(), split.kept.len());
        for (a, b) in whole.kept.iter().zip(&split.kept) {
            assert_eq!(a, b);
        }
        assert_eq!(whole_calls.last(), Some(&(60, 60)));
        assert_eq!(split_calls.last(), Some(&(180, 180))); // three chunks of 60 steps
    }
}

/// More sample-point pairs than the kernels' u32 indices address is a typed error that says
/// how many, raised before the denoiser allocates anything for them (2^16 samples x 2^15 points
/// of one element: a few hundred KiB of inputs).
#[test]
fn too_many_mixture_pairs_is_a_typed_error() {
    let Some(ctx) = common::gpu() else { return };
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 10).unwrap();
    let gt = GpuTables::new(&ctx, &tables).unwrap();
    let model = ModelOptions::default();
    let points = vec![0.5f32; 1 << 15];
    let mut den = MixtureDenoiser::new(&ctx, &points, &[1 << 15, 1], 0.1, model).unwrap();
    let opts = SampleOptions {
        model,
        ..Default::default()
    };
    let err =
        gpu::p_sample_loop(&ctx, &gt, &mut den, &[1 << 16, 1], &opts, &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(
            err,
            ddpm_wgpu::Error::TooManyItems {
                what: "sample-point pairs",
                count: 2147483648,
                limit: 2147483648
            }
        ),
        "{err}"
    );
}

/// The mixture denoiser at the sizes the issue names, each extreme on its own (the points must
/// fit one storage binding: M * D * 4 bytes <= 128 MiB on lavapipe): 4000 points of 16
/// elements, and 2 points of 3 x 256 x 256. A few steps, GPU against CPU.
#[test]
fn mixture_scales_to_thousands_of_points_and_large_images() {
    let Some(ctx) = common::gpu() else { return };
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let short = Tables::new(tables.betas[..3].to_vec()).unwrap();
    for (m, d, batch) in [(4000usize, 16usize, 3usize), (2, 3 * 256 * 256, 1)] {
        let mut g = ddpm_wgpu::check::Gen::new(m as u64);
        let points = g.vec(m * d, |g| g.range(-1.0, 1.0));
        let worst = max_gpu_cpu_difference(&ctx, &short, &points, d, batch, 0.05, 8);
        eprintln!("M = {m}, D = {d}: max |gpu - cpu| = {worst:e}");
        assert!(worst < 1e-5, "M = {m}, D = {d}: {worst}");
    }
}

/// The mixture's kernels on every grid path (the vec4 output kernel per group of four samples,
/// with groups spilling into z, and on flat rows, with and without a last group padded; the
/// partial-distance and softmax grids in rows) on a device with 8 workgroups per dimension: the
/// loop still tracks the f64 loop. Beyond the shared shapes: [33, 1024] has 9 groups of four
/// samples of 256 vec4s (per-group grid, y = 8, z = 2, the last group one sample), [7, 8] short
/// samples on the flat grid with a padded group.
#[test]
fn mixture_on_every_grid_path_matches_cpu() {
    let Some(small) = common::small_grid_gpu() else {
        return;
    };
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let short = Tables::new(tables.betas[..3].to_vec()).unwrap();
    let grouped: [&[usize]; 2] = [&[33, 1024], &[7, 8]];
    for &shape in common::SMALL_GRID_SHAPES.iter().chain(&grouped) {
        let &[batch, d] = shape else {
            panic!("{shape:?}")
        };
        let mut g = ddpm_wgpu::check::Gen::new(d as u64);
        let points = g.vec(3 * d, |g| g.range(-1.0, 1.0));
        let worst = max_gpu_cpu_difference(&small, &short, &points, d, batch, 0.1, 6);
        eprintln!("{shape:?}: max |gpu - cpu| = {worst:e}");
        // Measured 3.5e-7, 3.2e-7 and 1.0e-6 (the worst of 5000 samples) on lavapipe and
        // llvmpipe GL; f32 rounding of values near 1 over three steps.
        assert!(worst < 2e-6, "{shape:?}: {worst}");
    }
}
