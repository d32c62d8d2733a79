//! The Gaussian denoiser (shaders/gaussian_denoiser.wgsl) against its CPU twin, the twin against
//! the mixture denoiser with one point at the origin, and the sampling loop driven by it
//! recovering N(0, S^2) data. The fused step kernels: tests/fused_steps.rs.

mod common;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu::sampling::gaussian_denoiser::Gaussian;
use ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture;
use ddpm_wgpu::cpu::sampling::sample_loop::{self, CpuDenoiser};
use ddpm_wgpu::gpu::{self, DenoiserIo, GaussianDenoiser, GpuSteps, GpuTables, GpuTensor};
use ddpm_wgpu::tolerance::{Scale, Tolerance};
use ddpm_wgpu::{MeanType, ModelOptions, Tables, VarType};

fn every_option() -> Vec<ModelOptions> {
    let mut v = Vec::new();
    for &mean_type in MeanType::ALL {
        for &var_type in VarType::ALL {
            v.push(ModelOptions {
                mean_type,
                var_type,
                clip_denoised: true,
                clip_range: 1.0,
            });
        }
    }
    v
}

#[test]
fn cpu_twin_is_the_one_point_mixture_at_the_origin() {
    let tables = common::cosine(1000);
    let mut g = Gen::new(3);
    let x: Vec<f64> = g
        .vec(3 * 5, Gen::normal)
        .iter()
        .map(|&v| v as f64 * 2.0)
        .collect();
    let t = [0, 1, 999];
    for model in every_option() {
        for sigma in [0.0, 0.3, 1.0] {
            let gauss = Gaussian {
                tables: &tables,
                sample_len: 5,
                data_var: sigma * sigma,
                model,
            };
            let origin = [0.0f32; 5];
            let mix = Mixture {
                tables: &tables,
                points: &origin,
                sample_len: 5,
                data_var: sigma * sigma,
                model,
            };
            let (a, av) = gauss.denoise(&t, &x).unwrap();
            let (b, bv) = mix.denoise(&t, &x).unwrap();
            // Same formula in f64, different association: a few ulp of f64 apart.
            for (i, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!(
                    (p - q).abs() <= 1e-12 * (1.0 + q.abs()),
                    "{model:?} S={sigma} index {i}: {p} vs {q}"
                );
            }
            assert_eq!(av, bv, "{model:?}: model_var");
        }
    }
}

/// Run the kernel once on `x` at per-sample steps `t`; returns (model_output, model_var).
fn gpu_denoise(
    ctx: &gpu::Context,
    tables: &Tables,
    model: ModelOptions,
    sigma: f64,
    shape: &[usize],
    t: &[u32],
    x: &[f32],
) -> (Vec<f32>, Option<Vec<f32>>) {
    let gt = GpuTables::new(ctx, tables).unwrap();
    let steps = GpuSteps::new(ctx, &gt, t).unwrap();
    let x_t = GpuTensor::from_slice(ctx, shape, x).unwrap();
    let out = GpuTensor::zeros(ctx, shape).unwrap();
    let var = GpuTensor::zeros(ctx, shape).unwrap();
    let io = DenoiserIo {
        x_t: &x_t,
        timesteps: steps.buffer(),
        tables: &gt,
        model_output: &out,
        model_var: model.var_type.is_learned().then_some(&var),
        times: None,
    };
    let mut den = GaussianDenoiser::new(sigma, model).unwrap();
    let mut enc = ctx.encoder();
    den.record_once(ctx, &mut enc, &io).unwrap();
    ctx.submit(enc).unwrap();
    let var_out = model
        .var_type
        .is_learned()
        .then(|| var.to_vec(ctx).unwrap());
    (out.to_vec(ctx).unwrap(), var_out)
}

#[test]
fn gpu_matches_cpu_twin_on_every_option_shape_and_step() {
    let Some(ctx) = common::gpu() else { return };
    // Each output is at most two products of table values (rounded once from f64) and the
    // variance v = abar S^2 + (1 - abar), where abar is formed as sqrt_abar^2: about six f32
    // roundings, so 2e-6 of the sum of the terms' magnitudes; xprev adds the posterior mean's
    // two terms, which can cancel, hence the Terms scale.
    let tol = Tolerance {
        abs: 1e-30,
        rel: 2e-6,
        scale: Scale::Terms,
    };
    for (name, tables) in [
        ("linear", common::linear(1000)),
        ("cosine", common::cosine(1000)),
    ] {
        let big_t = tables.num_timesteps() as u32;
        for shape in common::SHAPES.iter().chain(&common::VEC4_SHAPES) {
            let batch = shape[0];
            let sample_len: usize = shape[1..].iter().product();
            // Every sample at t = 0, 1, T-1, then neighbours at different steps.
            let mixed = common::mixed_steps(&tables, batch);
            for t in [
                vec![0; batch],
                vec![1; batch],
                vec![big_t - 1; batch],
                mixed,
            ] {
                let mut g = Gen::new(u64::from(t[0]) + sample_len as u64);
                // Normals scaled to +-6 and beyond: the extremes x_t takes near t = T-1.
                let x = g.vec(batch * sample_len, |g| 3.0 * g.normal());
                let xd: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                for model in every_option() {
                    for sigma in [0.0, 0.5] {
                        let (out, var) = gpu_denoise(&ctx, &tables, model, sigma, shape, &t, &x);
                        let cpu = Gaussian {
                            tables: &tables,
                            sample_len,
                            data_var: sigma * sigma,
                            model,
                        };
                        let (want, want_var) = cpu.denoise(&t, &xd).unwrap();
                        let terms: Vec<f64> = want
                            .iter()
                            .zip(&xd)
                            .enumerate()
                            .map(|(i, (w, xv))| {
                                let s = t[i / sample_len] as usize;
                                w.abs() + tables.posterior_mean_coef2[s] * xv.abs() * 2.0
                            })
                            .collect();
                        let got: Vec<f64> = out.iter().map(|&v| v as f64).collect();
                        let cmp = tol.compare(&got, &want, sample_len, Some(&terms));
                        assert!(
                            cmp.pass,
                            "{name} {model:?} S={sigma} shape {shape:?} t={t:?}: worst {:?}",
                            cmp.worst
                        );
                        if let (Some(v), Some(w)) = (var, want_var) {
                            // Table values copied or a constant: exact up to the f32 rounding.
                            for (a, b) in v.iter().zip(&w) {
                                assert_eq!(*a, *b as f32, "{name} {model:?}: model_var");
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The exact variance of x_0 from the sampling loop with this denoiser and no clipping: every
/// step is linear, x_{t-1} = a_t x_t + sigma_t z with a_t = coef1 k_t + coef2 and
/// k_t = sqrt(abar) S^2 / v, so var_{t-1} = a_t^2 var_t + sigma_t^2 from var_T = 1. With a finite
/// T this is near S^2 but not equal to it (x_T ~ N(0, 1) is itself an approximation).
fn exact_final_variance(tables: &Tables, sigma: f64, var_type: VarType) -> f64 {
    let mut var = 1.0;
    for t in (0..tables.num_timesteps()).rev() {
        let v = tables.alphas_cumprod[t] * sigma * sigma + tables.one_minus_alphas_cumprod[t];
        let k = tables.sqrt_alphas_cumprod[t] * sigma * sigma / v;
        let a = tables.posterior_mean_coef1[t] * k + tables.posterior_mean_coef2[t];
        let noise_var = match (t, var_type) {
            (0, _) => 0.0,
            (_, VarType::FixedLarge) => tables.betas[t],
            _ => tables.posterior_variance[t],
        };
        var = a * a * var + noise_var;
    }
    var
}

#[test]
fn sampling_loop_recovers_gaussian_data_and_matches_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let tables = common::linear(200);
    let gt = GpuTables::new(&ctx, &tables).unwrap();
    let sigma = 0.4;
    let (batch, len) = (100, 300); // 30000 draws, sample_len not a multiple of 256
    for var_type in [VarType::FixedSmall, VarType::FixedLarge] {
        let model = ModelOptions {
            var_type,
            clip_denoised: false, // keeps every step linear, so the variance is known exactly
            ..ModelOptions::default()
        };
        let mut den = GaussianDenoiser::new(sigma, model).unwrap();
        let opts = gpu::SampleOptions {
            model,
            seed: 11,
            ..Default::default()
        };
        let got = gpu::p_sample_loop(&ctx, &gt, &mut den, &[batch, len], &opts, &mut |_, _| {})
            .unwrap()
            .x0;
        let n = got.len() as f64;
        let mean = got.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = got.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        let want = exact_final_variance(&tables, sigma, var_type);
        // 30000 independent draws: the sample mean's standard error is sqrt(want / n), about
        // 0.0023, and the sample variance's relative standard error sqrt(2 / n), about 0.8%.
        // Bounds at about 5 standard errors.
        assert!(
            mean.abs() < 5.0 * (want / n).sqrt(),
            "{var_type}: mean {mean}"
        );
        let ratio = var / want;
        assert!(
            (ratio - 1.0).abs() < 5.0 * (2.0 / n).sqrt(),
            "{var_type}: variance {var} but the exact recursion gives {want} (ratio {ratio})"
        );
        // And the chain lands near the data: within 5% of S in standard deviation at T = 200.
        assert!(
            (want.sqrt() / sigma - 1.0).abs() < 0.05,
            "{var_type}: {want}"
        );
        let cpu = Gaussian {
            tables: &tables,
            sample_len: len,
            data_var: sigma * sigma,
            model,
        };
        let reference = sample_loop::p_sample_loop(&tables, &model, &cpu, batch, len, 11).unwrap();
        let worst = got
            .iter()
            .zip(&reference)
            .map(|(&a, b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        // Same noise on both sides; 200 steps of f32 rounding (exp through WGSL: 64 ulp) of
        // values of order 1, contracting (each step scales x by about sqrt(alpha)). A wrong step
        // or a different draw moves samples by amounts of order S.
        assert!(
            worst < 1e-5,
            "{var_type}: GPU vs CPU loop differ by {worst}"
        );
    }
}

/// A batch of more samples than one grid dimension holds (the vec4 step and denoiser kernels'
/// grid spills into z): the GPU loop still matches the CPU loop draw for draw, so every sample
/// past 65535 gets its own timestep row and noise key.
#[test]
fn sampling_loop_with_more_samples_than_one_grid_row() {
    let Some(ctx) = common::gpu() else { return };
    let tables = common::linear(8);
    let gt = GpuTables::new(&ctx, &tables).unwrap();
    let (sigma, model) = (0.5, ModelOptions::default());
    let (batch, len) = (common::MANY_SAMPLES[0], common::MANY_SAMPLES[1]);
    let mut den = GaussianDenoiser::new(sigma, model).unwrap();
    let opts = gpu::SampleOptions {
        model,
        seed: 5,
        ..Default::default()
    };
    let got = gpu::p_sample_loop(&ctx, &gt, &mut den, &[batch, len], &opts, &mut |_, _| {})
        .unwrap()
        .x0;
    let cpu = Gaussian {
        tables: &tables,
        sample_len: len,
        data_var: sigma * sigma,
        model,
    };
    let reference = sample_loop::p_sample_loop(&tables, &model, &cpu, batch, len, 5).unwrap();
    let worst = got
        .iter()
        .zip(&reference)
        .map(|(&a, b)| (a as f64 - b).abs())
        .fold(0.0, f64::max);
    // As in the test above: 8 contracting steps of f32 rounding of values of order 1. A wrong
    // sample index draws other noise and moves samples by amounts of order S.
    assert!(worst < 1e-5, "GPU vs CPU loop differ by {worst}");
}

/// The step and denoiser kernels on every grid path (a device with 8 workgroups per dimension)
/// give the same bits as on the adapter's full grid: the grid changes which invocation does an
/// element, never its arithmetic or its noise draw.
#[test]
fn sampling_loop_is_the_same_on_every_grid_path() {
    let Some(ctx) = common::gpu() else { return };
    let Some(small) = common::small_grid_gpu() else {
        return;
    };
    let tables = common::linear(10);
    let model = ModelOptions::default();
    for &shape in &common::SMALL_GRID_SHAPES {
        let run = |ctx: &gpu::Context| {
            let gt = GpuTables::new(ctx, &tables).unwrap();
            let mut den = GaussianDenoiser::new(0.5, model).unwrap();
            let opts = gpu::SampleOptions {
                model,
                seed: 3,
                ..Default::default()
            };
            gpu::p_sample_loop(ctx, &gt, &mut den, shape, &opts, &mut |_, _| {})
                .unwrap()
                .x0
        };
        assert_eq!(run(&ctx), run(&small), "{shape:?}");
    }
}
