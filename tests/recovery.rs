//! Statistical recovery through the whole reverse process: samples of the exact mixture
//! denoiser must reproduce the mixture (1/M) sum_m N(d_m, S^2 I): uniform nearest-centre
//! frequencies (chi-square), per-component means at d_m and spread at S. The same checks are
//! shown to fail for known sampler mistakes, run on the CPU loop with the mistake put in.

mod common;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu::kernels::common::p_mean_variance;
use ddpm_wgpu::cpu::kernels::noise::{self, stream};
use ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture;
use ddpm_wgpu::cpu::sampling::sample_loop::{self, CpuDenoiser};
use ddpm_wgpu::gpu::sample_loop::LoopOptions;
use ddpm_wgpu::gpu::{self, GpuTables, MixtureDenoiser, SampleOptions};
use ddpm_wgpu::sampler::{Ddim, DdimOptions, Ddpm, Sampler};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables, VarType};

const N: usize = 600;

struct Setup {
    points: Vec<f32>,
    dim: usize,
    sigma: f64,
    tables: Tables,
    model: ModelOptions,
}

impl Setup {
    fn new(dim: usize, sigma: f64, big_t: usize, var_type: VarType) -> Self {
        let mut g = Gen::new(dim as u64);
        let m = if dim == 2 { 3 } else { 4 };
        // Points well apart in [-0.7, 0.7]^dim (2-D: fixed; 16-D: random corners).
        let points = if dim == 2 {
            vec![-0.6, -0.6, 0.6, -0.4, 0.0, 0.7]
        } else {
            g.vec(m * dim, |g| if g.uniform() < 0.5 { -0.6 } else { 0.6 })
        };
        Setup {
            points,
            dim,
            sigma,
            tables: Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, big_t).unwrap(),
            model: ModelOptions {
                var_type,
                ..ModelOptions::default()
            },
        }
    }

    fn mixture(&self) -> Mixture<'_> {
        Mixture {
            tables: &self.tables,
            points: &self.points,
            sample_len: self.dim,
            data_var: self.sigma * self.sigma,
            model: self.model,
        }
    }
}

/// (chi-square of nearest-centre counts, worst per-component mean z-score, spread / S).
fn stats(s: &Setup, x: &[f64]) -> (f64, f64, f64) {
    let m = s.points.len() / s.dim;
    let centre = |k: usize| &s.points[k * s.dim..(k + 1) * s.dim];
    let mut counts = vec![0usize; m];
    let mut sums = vec![vec![0.0; s.dim]; m];
    let mut sq = 0.0;
    for xs in x.chunks(s.dim) {
        let d2 = |k: usize| {
            xs.iter()
                .zip(centre(k))
                .map(|(a, &b)| (a - b as f64).powi(2))
                .sum::<f64>()
        };
        let k = (0..m).min_by(|&a, &b| d2(a).total_cmp(&d2(b))).unwrap();
        counts[k] += 1;
        for (acc, v) in sums[k].iter_mut().zip(xs) {
            *acc += v;
        }
        sq += d2(k);
    }
    let expect = x.len() as f64 / s.dim as f64 / m as f64;
    let chi2 = counts
        .iter()
        .map(|&c| (c as f64 - expect).powi(2) / expect)
        .sum();
    let spread = (sq / x.len() as f64).sqrt();
    let mut z = 0.0f64;
    for (k, (sum, &count)) in sums.iter().zip(&counts).enumerate() {
        let n = count.max(1) as f64;
        for (acc, &c) in sum.iter().zip(centre(k)) {
            z = z.max((acc / n - c as f64).abs() / (s.sigma / n.sqrt()));
        }
    }
    (chi2, z, spread / s.sigma)
}

fn cpu_samples(s: &Setup, seed: u64) -> Vec<f64> {
    sample_loop::p_sample_loop(&s.tables, &s.model, &s.mixture(), N, s.dim, seed).unwrap()
}

/// The configurations of the issue: 2-D and 16-D, S in {0.05, 0.2}, T in {100, 1000}, both
/// fixed variance types.
fn configs() -> Vec<Setup> {
    let mut v = Vec::new();
    for dim in [2, 16] {
        for sigma in [0.05, 0.2] {
            for big_t in [100, 1000] {
                for var in [VarType::FixedSmall, VarType::FixedLarge] {
                    v.push(Setup::new(dim, sigma, big_t, var));
                }
            }
        }
    }
    v
}

/// Pass/fail of the three checks. `calibrated` is spread / S of the f64 reference loop with
/// another seed: DDPM at finite T does not give exactly S (measured 0.85 to 1.08 here,
/// depending on T and the variance type), so the spread is checked against the reference.
/// Bounds: chi-square below its 0.001 critical value (df M - 1); mean z-scores below 5; spread
/// within 5 standard errors of its estimate (1 / sqrt(2 N dim) relative: 10% in 2-D, 3.5% in
/// 16-D).
fn verdict(s: &Setup, x: &[f64], calibrated: f64) -> Result<(), String> {
    let (chi2, z, spread) = stats(s, x);
    let m = s.points.len() / s.dim;
    let chi2_crit = if m == 3 { 13.82 } else { 16.27 };
    let spread_tol = 5.0 / (2.0 * N as f64 * s.dim as f64).sqrt();
    let mut problems = Vec::new();
    if chi2 > chi2_crit {
        problems.push(format!("chi2 {chi2:.2} > {chi2_crit}"));
    }
    if z > 5.0 {
        problems.push(format!("mean z {z:.2} > 5"));
    }
    if (spread / calibrated - 1.0).abs() > spread_tol {
        problems.push(format!(
            "spread/S {spread:.4} vs reference {calibrated:.4} (tolerance {spread_tol:.3})"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn calibration(s: &Setup) -> f64 {
    stats(s, &cpu_samples(s, 1)).2
}

fn gpu_samples(ctx: &gpu::Context, s: &Setup, seed: u64) -> Vec<f64> {
    let gt = GpuTables::new(ctx, &s.tables).unwrap();
    let m = s.points.len() / s.dim;
    let mut den = MixtureDenoiser::new(ctx, &s.points, &[m, s.dim], s.sigma, s.model).unwrap();
    let opts = SampleOptions {
        model: s.model,
        seed,
        steps_per_submit: 1000,
        keep_every: None,
        max_chunk_samples: None,
    };
    let out = gpu::p_sample_loop(ctx, &gt, &mut den, &[N, s.dim], &opts, &mut |_, _| {}).unwrap();
    out.x0.into_iter().map(f64::from).collect()
}

#[test]
fn cpu_loop_recovers_the_mixture() {
    for s in configs() {
        let label = format!(
            "dim {} S {} T {} {}",
            s.dim,
            s.sigma,
            s.tables.num_timesteps(),
            s.model.var_type
        );
        verdict(&s, &cpu_samples(&s, 2), calibration(&s))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

#[test]
fn gpu_loop_recovers_the_mixture() {
    let Some(ctx) = common::gpu() else { return };
    for s in configs() {
        let label = format!(
            "dim {} S {} T {} {}",
            s.dim,
            s.sigma,
            s.tables.num_timesteps(),
            s.model.var_type
        );
        verdict(&s, &gpu_samples(&ctx, &s, 2), calibration(&s))
            .unwrap_or_else(|e| panic!("{label}: {e}"));
    }
}

/// Sampler mistakes, put into a copy of the CPU loop.
#[derive(Clone, Copy, Debug)]
enum Mistake {
    NoiseAtZero,
    VarianceSwapped,
    CoefsSwapped,
    OffByOneT,
}

fn faulty_samples(s: &Setup, mistake: Mistake, seed: u64) -> Vec<f64> {
    let mut tb = s.tables.clone();
    let mut model = s.model;
    match mistake {
        Mistake::CoefsSwapped => {
            std::mem::swap(&mut tb.posterior_mean_coef1, &mut tb.posterior_mean_coef2)
        }
        Mistake::VarianceSwapped => {
            model.var_type = match model.var_type {
                VarType::FixedSmall => VarType::FixedLarge,
                _ => VarType::FixedSmall,
            }
        }
        _ => {}
    }
    let big_t = tb.num_timesteps();
    let mix = s.mixture();
    let mut x = noise::noise(seed, stream::INIT, big_t as u32, 0, N, s.dim);
    for t in (0..big_t).rev() {
        let model_t = match mistake {
            Mistake::OffByOneT => (t + 1).min(big_t - 1),
            _ => t,
        };
        let (out, _) = mix.denoise(&vec![model_t as u32; N], &x).unwrap();
        for (i, xi) in x.iter_mut().enumerate() {
            let m = p_mean_variance(&tb, &model, t, *xi, out[i], 0.0);
            let noisy = t != 0 || matches!(mistake, Mistake::NoiseAtZero);
            let z = if noisy {
                noise::normal(
                    seed,
                    stream::SAMPLE,
                    t as u32,
                    (i / s.dim) as u32,
                    (i % s.dim) as u32,
                )
            } else {
                0.0
            };
            *xi = m.mean + (0.5 * m.log_variance).exp() * z;
        }
    }
    x
}

/// Each mistake fails the checks in a configuration where its effect exceeds the statistical
/// resolution, while the correct loop passes there: noise at t = 0 adds sqrt(beta tilde_1) ~
/// 0.009, visible against S = 0.01; swapped variances and an off-by-one t change the spread by
/// 20% and 5% at T = 100, S = 0.05 in 16-D; swapped posterior coefficients wreck everything.
#[test]
fn the_checks_catch_known_mistakes() {
    for (mistake, dim, sigma, big_t) in [
        (Mistake::NoiseAtZero, 16, 0.01, 100),
        (Mistake::VarianceSwapped, 16, 0.05, 100),
        (Mistake::OffByOneT, 16, 0.05, 100),
        (Mistake::CoefsSwapped, 2, 0.05, 1000),
    ] {
        let s = Setup::new(dim, sigma, big_t, VarType::FixedSmall);
        let reference = calibration(&s);
        verdict(&s, &cpu_samples(&s, 2), reference)
            .unwrap_or_else(|e| panic!("correct loop failed: {e}"));
        let err = verdict(&s, &faulty_samples(&s, mistake, 2), reference);
        assert!(err.is_err(), "{mistake:?} was not caught");
        eprintln!("{mistake:?} caught: {}", err.unwrap_err());
    }
}

/// The samplers users run: DDIM in 50 steps (eta 0 and 1) and DDPM respaced to 50 and 100
/// steps, over T = 1000.
fn samplers(s: &Setup) -> Vec<(String, Box<dyn Sampler>)> {
    let chain = |n: usize, spacing: Spacing| {
        Chain::respaced(&s.tables, &timesteps(1000, n, &spacing).unwrap()).unwrap()
    };
    let ddim = |eta: f64| DdimOptions {
        eta,
        ..DdimOptions::default()
    };
    let lead = Spacing::Leading { steps_offset: 1 };
    vec![
        (
            "ddim50 eta 0".into(),
            Box::new(Ddim::new(chain(50, lead.clone()), s.model, None, ddim(0.0)).unwrap()),
        ),
        (
            "ddim50 eta 1".into(),
            Box::new(Ddim::new(chain(50, lead), s.model, None, ddim(1.0)).unwrap()),
        ),
        (
            "ddpm respaced 50".into(),
            Box::new(Ddpm::new(chain(0, Spacing::Improved("50".into())), s.model, None).unwrap()),
        ),
        (
            "ddpm respaced 100".into(),
            Box::new(Ddpm::new(chain(100, Spacing::Trailing), s.model, None).unwrap()),
        ),
    ]
}

fn sampler_cpu_samples(s: &Setup, sampler: &dyn Sampler, seed: u64) -> Vec<f64> {
    let by_t = sampler.chain().by_timestep();
    let mix = Mixture {
        tables: &by_t,
        ..s.mixture()
    };
    let opts = LoopOptions {
        seed,
        ..LoopOptions::default()
    };
    sample_loop::sample_loop(sampler, &mix, N, s.dim, &opts).unwrap()
}

/// Each sampler recovers the mixture on the GPU in 2-D and 16-D, S in {0.05, 0.2}, fixed small
/// variance, with the checks and bounds of the DDPM loop: nearest-centre frequencies and
/// component means as there; the spread against the f64 loop of the same sampler with another
/// seed, since few steps under-disperse (spread / S at S = 0.05 in 2-D, linspace chains, f64:
/// DDIM eta 0 0.72 / 0.89 / 0.95 and DDPM 0.56 / 0.80 / 0.93 at 50 / 200 / 1000 steps,
/// approaching the full loop's as the steps shrink).
#[test]
fn gpu_samplers_recover_the_mixture() {
    let Some(ctx) = common::gpu() else { return };
    for dim in [2, 16] {
        for sigma in [0.05, 0.2] {
            let s = Setup::new(dim, sigma, 1000, VarType::FixedSmall);
            for (name, sampler) in samplers(&s) {
                let m = s.points.len() / s.dim;
                let mut den =
                    MixtureDenoiser::new(&ctx, &s.points, &[m, s.dim], s.sigma, s.model).unwrap();
                let opts = LoopOptions {
                    seed: 2,
                    ..LoopOptions::default()
                };
                let x: Vec<f64> = gpu::sample_loop::sample_loop(
                    &ctx,
                    sampler.as_ref(),
                    &mut den,
                    &[N, s.dim],
                    &opts,
                    &mut |_, _| {},
                )
                .unwrap()
                .x0
                .into_iter()
                .map(f64::from)
                .collect();
                let calibrated = stats(&s, &sampler_cpu_samples(&s, sampler.as_ref(), 1)).2;
                eprintln!("dim {dim} S {sigma} {name}: spread/S reference {calibrated:.3}");
                verdict(&s, &x, calibrated)
                    .unwrap_or_else(|e| panic!("dim {dim} S {sigma} {name}: {e}"));
            }
        }
    }
}
