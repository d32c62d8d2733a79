//! diffusers' own scheduler tests, reproduced with the toolkit: the variance checks and the
//! full-loop sums and means of huggingface/diffusers tests/schedulers/test_scheduler_ddpm.py and
//! test_scheduler_ddim.py, with their dummy model (x t / (t + 1)), their deterministic sample
//! (arange(768) / 768 laid out as [3, 8, 8, 4], permuted to [4, 3, 8, 8]) and noise (the same,
//! reversed), their `torch.manual_seed(0)` noise stream (`NoiseSource::Torch`), their scheduler
//! settings, their constants and their tolerances (1e-2 on the sum, 1e-3 on the mean of |x|;
//! 1e-5 on the variances). The loops are our f64 CPU loop (`cpu::sample_loop`).
//!
//! Every DDPM and DDIM case of those files is reproduced: their DDIM loops use leading spacing
//! with N dividing T, where DDIMScheduler's step to t - T // N is our step to the previous kept
//! step. One constant (DDPM with noise) holds diffusers' float32 table error beyond its own
//! tolerance: there we meet the same test run with float64 tables (see `ddpm_loop_with_noise`). test_scheduler_ddim_inverse.py's loops cannot match by design: DDIMInverseScheduler
//! evaluates the model at the step it moves to, from x at the previous one (and starts from
//! abar = 1 before t = 0), where our inverse reads the model where x is. Its step formula is
//! checked against ours step by step, and the same loop run with our semantics through
//! diffusers and through `ddpm op ddim-reverse-step`, in tests/reference/sampler_conformance.py.

use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::kernels::ddim_step::forward_row;
use ddpm_wgpu::cpu::sampling::sample_loop::{sample_loop, CpuDenoiser};
use ddpm_wgpu::gpu::sample_loop::{LoopOptions, NoiseSource};
use ddpm_wgpu::sampler::{Ddim, DdimOptions, Ddpm, Sampler};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{cpu, MeanType, ModelOptions, ScheduleKind, Tables, VarType};

const BATCH: usize = 4;
const SAMPLE_LEN: usize = 3 * 8 * 8;
const N: usize = BATCH * SAMPLE_LEN;

/// `dummy_sample_deter` (`reversed`: `dummy_noise_deter`, the arange flipped), as float32.
fn deterministic(reversed: bool) -> Vec<f32> {
    let mut out = vec![0.0f32; N];
    for (j, v) in out.iter_mut().enumerate() {
        // Element (b, c, h, w) of the permuted tensor is flat index ((c * 8 + h) * 8 + w) * 4 + b
        // of the arange.
        let (b, c, h, w) = (j / SAMPLE_LEN, j / 64 % 3, j / 8 % 8, j % 8);
        let flat = ((c * 8 + h) * 8 + w) * BATCH + b;
        let k = if reversed { N - 1 - flat } else { flat };
        *v = k as f32 / N as f32;
    }
    out
}

/// The dummy model: `sample * t / (t + 1)`.
struct Dummy;

impl CpuDenoiser for Dummy {
    fn denoise(&self, t: &[u32], x: &[f64]) -> ddpm_wgpu::Result<(Vec<f64>, Option<Vec<f64>>)> {
        let out = x
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let t = f64::from(t[i / SAMPLE_LEN]);
                v * t / (t + 1.0)
            })
            .collect();
        Ok((out, None))
    }
}

fn tables(beta_start: f64) -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, beta_start, 0.02, 1000).unwrap()
}

fn model(mean_type: MeanType) -> ModelOptions {
    // fixed_small, clip_sample = True, clip_sample_range 1 (their configs).
    ModelOptions {
        mean_type,
        var_type: VarType::FixedSmall,
        clip_denoised: true,
        clip_range: 1.0,
    }
}

/// (sum |x|, mean |x|) after the loop from x_t with torch.manual_seed(0) noise.
fn run(sampler: &dyn Sampler, x_t: Vec<f32>) -> (f64, f64) {
    let opts = LoopOptions {
        seed: 0,
        noise: NoiseSource::Torch,
        x_t: Some(x_t),
        steps_per_submit: 1,
        ..LoopOptions::default()
    };
    let x = sample_loop(sampler, &Dummy, BATCH, SAMPLE_LEN, &opts).unwrap();
    let sum: f64 = x.iter().map(|v| v.abs()).sum();
    (sum, sum / N as f64)
}

/// Their assertions: |sum - want| < 1e-2 and |mean - want| < 1e-3.
fn assert_result(what: &str, (sum, mean): (f64, f64), want_sum: f64, want_mean: f64) {
    eprintln!("{what}: sum {sum:.4} (diffusers {want_sum}), mean {mean:.6} ({want_mean})");
    assert!(
        (sum - want_sum).abs() < 1e-2,
        "{what}: sum {sum} != {want_sum}"
    );
    assert!(
        (mean - want_mean).abs() < 1e-3,
        "{what}: mean {mean} != {want_mean}"
    );
}

/// x at t from `dummy_sample_deter` with `dummy_noise_deter` (their `add_noise`), as float32.
fn noised(tb: &Tables, t: u32) -> Vec<f32> {
    let x0 = deterministic(false);
    let noise = deterministic(true);
    let x = cpu::q_sample(tb, &[t; BATCH], SAMPLE_LEN, &x0, &noise).unwrap();
    x.into_iter().map(|v| v as f32).collect()
}

/// test_scheduler_ddpm.py test_variance: `_get_variance` (fixed_small) at 0, 487 and 999.
#[test]
fn ddpm_variance() {
    let tb = tables(1e-4);
    for (t, want) in [(0, 0.0), (487, 0.00979), (999, 0.02)] {
        let got = tb.posterior_variance[t];
        assert!((got - want).abs() < 1e-5, "t = {t}: {got} != {want}");
    }
}

/// test_full_loop_no_noise and test_full_loop_with_v_prediction (which do draw noise: their
/// step takes the seeded generator) over all 1000 steps.
#[test]
fn ddpm_full_loops() {
    let tb = tables(1e-4);
    for (mean_type, sum, mean) in [
        (MeanType::Eps, 258.9606, 0.3372),
        (MeanType::V, 202.0296, 0.2631),
    ] {
        let sampler = Ddpm::new(Chain::full(&tb), model(mean_type), None).unwrap();
        let got = run(&sampler, deterministic(false));
        assert_result(&format!("DDPM full loop {mean_type}"), got, sum, mean);
    }
}

/// test_full_loop_with_noise: add_noise to t = 1 (timesteps[998:] = [1, 0]), then two steps.
///
/// Their constant (387.9466) cannot be met to their 1e-2, for a documented reason: it comes
/// from float32 tables, and at t = 1 the 1 - abar = 2.2e-4 that x_0 = (x - sqrt(1 - abar) eps)
/// / sqrt(abar) and the posterior's coefficients use carries float32 abar's rounding (3e-8) as
/// 1.4e-4 of itself; the result moves by 0.0207. The same test with diffusers' tables rebuilt
/// in float64 (tests/reference/sampler_conformance.py runs it and prints this value) gives
/// 387.96725098, which we meet to 1e-6 (f64 loops, the same torch noise; measured 1.5e-7).
#[test]
fn ddpm_loop_with_noise() {
    let tb = tables(1e-4);
    let sampler = Ddpm::new(
        Chain::respaced(&tb, &[0, 1]).unwrap(),
        model(MeanType::Eps),
        None,
    );
    let (sum, mean) = run(&sampler.unwrap(), noised(&tb, 1));
    let f64_tables = 387.96725098;
    eprintln!(
        "DDPM loop with noise: sum {sum:.8}; diffusers 387.9466 (float32), {f64_tables} (float64)"
    );
    assert!((sum - f64_tables).abs() < 1e-6, "{sum} != {f64_tables}");
    assert!((mean - 0.5051).abs() < 1e-3, "mean {mean}");
    assert!(
        (sum - 387.9466).abs() > 1e-2,
        "now within their tolerance: update this test"
    );
}

/// test_scheduler_ddim.py test_variance: `_get_variance(t, prev)` is sigma^2 at eta = 1.
#[test]
fn ddim_variance() {
    let tb = tables(1e-4);
    let cases = [
        ((0, 0), 0.0),
        ((420, 400), 0.14771),
        ((980, 960), 0.32460),
        ((487, 486), 0.00979),
        ((999, 998), 0.02),
    ];
    let abar = &tb.alphas_cumprod;
    for ((t, prev), want) in cases {
        let sigma = forward_row(abar[t], abar[prev], 1.0, prev).sigma;
        let got = sigma * sigma;
        assert!((got - want).abs() < 1e-5, "({t}, {prev}): {got} != {want}");
    }
}

/// `full_loop`: 10 steps of leading spacing (900, 800, ..., 0), eta 0.
fn ddim_loop(tb: &Tables, mean_type: MeanType, set_alpha_to_one: bool) -> (f64, f64) {
    let kept = timesteps(1000, 10, &Spacing::Leading { steps_offset: 0 }).unwrap();
    let chain = Chain::respaced(tb, &kept).unwrap();
    let opts = DdimOptions {
        set_alpha_to_one,
        ..DdimOptions::default()
    };
    let sampler = Ddim::new(chain, model(mean_type), None, opts).unwrap();
    run(&sampler, deterministic(false))
}

/// test_full_loop_no_noise, _with_v_prediction, _with_set_alpha_to_one and
/// _with_no_set_alpha_to_one (those two with beta_start 0.01).
#[test]
fn ddim_full_loops() {
    let cases = [
        ("eps", 1e-4, MeanType::Eps, true, 172.0067, 0.223967),
        ("v", 1e-4, MeanType::V, true, 52.5302, 0.0684),
        (
            "set_alpha_to_one",
            0.01,
            MeanType::Eps,
            true,
            149.8295,
            0.1951,
        ),
        (
            "no set_alpha_to_one",
            0.01,
            MeanType::Eps,
            false,
            149.0784,
            0.1941,
        ),
    ];
    for (what, beta_start, mean_type, one, sum, mean) in cases {
        let got = ddim_loop(&tables(beta_start), mean_type, one);
        assert_result(&format!("DDIM full loop {what}"), got, sum, mean);
    }
}

/// test_full_loop_with_noise: add_noise to t = 100 (timesteps[8:] = [100, 0]), two steps.
#[test]
fn ddim_loop_with_noise() {
    let tb = tables(1e-4);
    let chain = Chain::respaced(&tb, &[0, 100]).unwrap();
    let sampler = Ddim::new(chain, model(MeanType::Eps), None, DdimOptions::default()).unwrap();
    let got = run(&sampler, noised(&tb, 100));
    assert_result("DDIM loop with noise", got, 354.5418, 0.4616);
}
