//! Euler, Euler ancestral (`sampler::Euler`) and LMS (`sampler::Lms`): whole loops against
//! diffusers' EulerDiscreteScheduler, EulerAncestralDiscreteScheduler and LMSDiscreteScheduler
//! (tests/fixtures/euler/, written
//! by tests/reference/euler_fixtures.py from diffusers' own pipeline loop on the UNet
//! fixtures: x = z init_noise_sigma, scale_model_input, step), on the GPU and in the f64 twin,
//! and the refusals.

mod common;

use common::dpm::{
    assert_case_sigmas, case_mean_type, case_sigma_times, case_spacing, case_times, case_timesteps,
    cases_of, read_f32_of,
};
use common::unet::model;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::nn::UNetCpu;
use ddpm_wgpu::cpu::sampling::sample_loop as cpu_loop;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::UNetDenoiser;
use ddpm_wgpu::sampler::{Euler, EulerOptions, FinalSigma, Lms, LmsOptions, Sampler, SigmaTimes};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, ScheduleKind, Tables};
use serde_json::Value;

const DIR: &str = "euler";

fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

/// A fixture case's sampler on the fixture folders' DDPMScheduler config (linear, T = 1000,
/// leading) with the case's options; its timesteps checked against diffusers'.
fn case_sampler(case: &Value) -> Box<dyn Sampler> {
    let o = &case["options"];
    let n = case["steps"].as_u64().unwrap() as usize;
    let spacing = case_spacing(case);
    // diffusers starts from sigma_max z with trailing and linspace spacing (init_noise_sigma).
    let linspace = spacing == Spacing::Linspace;
    let init_sigma_max = spacing == Spacing::Trailing || linspace;
    let model = ModelOptions {
        mean_type: case_mean_type(case),
        clip_denoised: false,
        ..ModelOptions::default()
    };
    // linspace or a sigma schedule: float32 timesteps between integers, the model called
    // there; else the chain's integer timesteps.
    let (st, on_times) = case_sigma_times(case, &tables());
    assert_case_sigmas(case, &st.sigmas);
    let chain = if on_times {
        Chain::full(&tables())
    } else {
        let kept = timesteps(1000, n, &spacing).unwrap();
        if o["timestep_type"] != "continuous" {
            assert_eq!(kept, case_timesteps(case), "{}: timesteps", case["case"]);
        }
        Chain::respaced(&tables(), &kept).unwrap()
    };
    if case["class"] == "lms" {
        let opts = LmsOptions {
            init_sigma_max,
            ..LmsOptions::default()
        };
        let lms = match on_times {
            true => Lms::on_times(&tables(), &st, model, opts),
            false => Lms::new(chain, model, opts),
        };
        return Box::new(lms.unwrap());
    }
    let opts = EulerOptions {
        ancestral: case["class"] == "euler-a",
        final_sigma: match o["final_sigmas_type"].as_str() {
            Some("sigma_min") => FinalSigma::SigmaMin,
            _ => FinalSigma::Zero,
        },
        init_sigma_max,
        // The model at 0.25 ln sigma: a v-prediction model's continuous timesteps.
        continuous: o["timestep_type"] == "continuous",
    };
    let euler = match on_times {
        true => Euler::on_times(&tables(), &st, model, opts),
        false => Euler::new(chain, model, opts),
    };
    Box::new(euler.unwrap())
}

/// Each case's loop from diffusers' z (Euler ancestral: the same torch generator, z then one
/// draw per step), on the GPU and in the f64 twin, against diffusers' result.
///
/// Tolerance: diffusers steps s = x sqrt(1 + sigma^2) in float32 (sigma up to 157 here, so s
/// carries x's rounding times 157 and is divided back by scale_model_input each step) and
/// runs the UNet in float32; we step x with f64 coefficients. With sample predictions the
/// result (|x| ~ 1.6) is 100 times smaller than s at the first step, so diffusers' rounding
/// there shows at 5e-5 of it (bounded at 1e-4, as for the other samplers); the others within
/// 1.1e-6 (bounded at 1e-5). Measured worst |ours - diffusers| / max |diffusers|: the printed
/// lines.
#[test]
fn loops_match_diffusers_on_gpu_and_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let all = cases_of(DIR);
    let list = all["cases"].as_array().unwrap();
    assert_eq!(list.len(), 21);
    for case in list {
        let name = case["case"].as_str().unwrap();
        let sampler = case_sampler(case);
        // Non-integer timesteps reach the model as times, the loop's indices by visit.
        let times = case_times(case);
        let integral = times.iter().all(|t| t.fract() == 0.0);
        assert_eq!(sampler.model_times().is_none(), integral, "{name}");
        if case["options"]["timestep_type"] == "continuous" {
            // diffusers' float32 0.25 ln sigma, within 1e-6: a sigma an f32 ulp apart (see
            // common::dpm::assert_case_sigmas) moves its log by up to 1.2e-7 (measured 7.5e-8).
            let got = sampler.model_times().unwrap();
            assert!(
                got.iter().zip(&times).all(|(g, w)| (g - w).abs() < 1e-6),
                "{name}"
            );
        }
        let (shape, z) = read_f32_of(DIR, &format!("{name}_x_t.npy"));
        let (_, want) = read_f32_of(DIR, &format!("{name}_out.npy"));
        let ancestral = case["class"] == "euler-a";
        let opts = LoopOptions {
            seed: case["seed"].as_u64().unwrap(),
            noise: if ancestral {
                NoiseSource::Torch
            } else {
                NoiseSource::Philox
            },
            x_t: (!ancestral).then(|| z.clone()),
            steps_per_submit: 3,
            ..LoopOptions::default()
        };
        let (unet, _) = model(case["unet"].as_str().unwrap());
        let mut den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
        let gpu = sample_loop(
            &ctx,
            sampler.as_ref(),
            &mut den,
            &shape,
            &opts,
            &mut |_, _| {},
        )
        .unwrap()
        .x0;
        let twin = UNetCpu::new(&unet, shape[2], shape[3]).unwrap();
        let len = shape[1..].iter().product();
        let cpu = cpu_loop::sample_loop(sampler.as_ref(), &twin, shape[0], len, &opts).unwrap();
        let scale = want.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
        let rel = |got: &mut dyn Iterator<Item = f64>| {
            got.zip(&want)
                .map(|(g, &w)| (g - f64::from(w)).abs())
                .fold(0.0, f64::max)
                / scale
        };
        let (g, c) = (
            rel(&mut gpu.iter().map(|&v| f64::from(v))),
            rel(&mut cpu.iter().copied()),
        );
        println!("{name}: max |x| {scale:.1}, gpu {g:.2e}, cpu twin {c:.2e} of it");
        // 1e-5 where the model does not predict the sample: tight enough that a missing x_T
        // scale with trailing spacing (2e-5 here) fails.
        let bound = if case["options"]["prediction_type"] == "sample" {
            1e-4
        } else {
            1e-5
        };
        assert!(g < bound && c < bound, "{name}: gpu {g:.3e}, cpu {c:.3e}");
        assert_eq!(sampler.name(), case["class"].as_str().unwrap());
    }
}

#[test]
fn what_diffusers_does_not_run_is_refused_by_name() {
    let chain = || Chain::respaced(&tables(), &[0, 500, 999]).unwrap();
    let model = |mean_type, clip_denoised| ModelOptions {
        mean_type,
        clip_denoised,
        ..ModelOptions::default()
    };
    let ancestral = EulerOptions {
        ancestral: true,
        ..EulerOptions::default()
    };
    for (m, o, needle) in [
        (
            model(MeanType::Xprev, false),
            EulerOptions::default(),
            "xprev",
        ),
        (
            model(MeanType::Xstart, false),
            ancestral,
            "sample prediction",
        ),
        (model(MeanType::Eps, true), EulerOptions::default(), "clip"),
        (
            model(MeanType::Eps, false),
            EulerOptions {
                final_sigma: FinalSigma::SigmaMin,
                ..ancestral
            },
            "sigma zero only",
        ),
    ] {
        let e = Euler::new(chain(), m, o).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
    for (m, order, needle) in [
        (model(MeanType::Xprev, false), 4, "xprev"),
        (model(MeanType::Eps, true), 4, "clip"),
        (model(MeanType::Eps, false), 5, "order 5"),
        (model(MeanType::Eps, false), 0, "order 0"),
    ] {
        let o = LmsOptions {
            order,
            ..LmsOptions::default()
        };
        let e = Lms::new(chain(), m, o).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
}

/// LMS's coefficients are exact integrals: over one step they sum to its length (the basis
/// polynomials sum to 1), and a first-order LMS step is Euler's.
#[test]
fn lms_coefficients_integrate_the_lagrange_basis_exactly() {
    let chain = Chain::respaced(&tables(), &[0, 250, 500, 750, 999]).unwrap();
    let model = ModelOptions {
        clip_denoised: false,
        ..ModelOptions::default()
    };
    let lms = Lms::new(chain.clone(), model, LmsOptions::default()).unwrap();
    // diffusers' table: float32 arithmetic on the float32 abar.
    let sigma = |t: usize| {
        let a = tables().alphas_cumprod[t] as f32;
        f64::from(((1.0 - a) / a).sqrt())
    };
    let order = [999, 750, 500, 250, 0];
    for (i, &t) in order.iter().enumerate() {
        let row = lms.row(t).unwrap();
        let next = order.get(i + 1).map_or(0.0, |&u| sigma(u));
        let scale = 1.0 / (1.0 + next * next).sqrt();
        let sum: f64 = row.update[1..5].iter().sum::<f64>() / scale;
        assert!(
            (sum - (next - sigma(t))).abs() < 1e-9 * sigma(t),
            "t = {t}: {sum}"
        );
    }
    let one = LmsOptions {
        order: 1,
        ..LmsOptions::default()
    };
    let lms1 = Lms::new(chain.clone(), model, one).unwrap();
    let euler = Euler::new(chain, model, EulerOptions::default()).unwrap();
    let (a, b) = (lms1.row(500).unwrap(), euler.row(500).unwrap());
    // Euler's x' = bx x + b0 x_0, LMS's bx x + b1 eps; with eps = (x - sqrt(abar) x_0) /
    // sqrt(1 - abar) the two agree.
    let ab = a.abar;
    let (sa, s1a) = (ab.sqrt(), (1.0 - ab).sqrt());
    assert!((a.update[0] + a.update[1] / s1a - b.update[0]).abs() < 1e-12);
    assert!((-a.update[1] * sa / s1a - b.update[1]).abs() < 1e-12);
}

/// Non-integer timesteps reach only a denoiser that takes them (the UNet): the loops refuse
/// the Gaussian denoiser (it reads schedule tables by integer timestep) on the GPU and the
/// CPU instead of calling it at the visit indices.
#[test]
fn non_integer_timesteps_need_a_denoiser_that_takes_them() {
    let st = SigmaTimes::linspace(&tables().alphas_cumprod, 7).unwrap();
    assert!(!st.integral());
    let model = ModelOptions {
        clip_denoised: false,
        ..ModelOptions::default()
    };
    let euler = Euler::on_times(&tables(), &st, model, EulerOptions::default()).unwrap();
    assert_eq!(euler.order(), (0..7).collect::<Vec<_>>());
    let tb = tables();
    let cpu = ddpm_wgpu::cpu::sampling::gaussian_denoiser::Gaussian {
        tables: &tb,
        sample_len: 4,
        data_var: 0.5,
        model,
    };
    let e = cpu_loop::sample_loop(&euler, &cpu, 2, 4, &LoopOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("integer timesteps"), "{e}");
    let Some(ctx) = common::gpu() else { return };
    let mut den = ddpm_wgpu::gpu::GaussianDenoiser::new(0.5, model).unwrap();
    let e = sample_loop(
        &ctx,
        &euler,
        &mut den,
        &[2, 4],
        &LoopOptions::default(),
        &mut |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("non-integer timesteps"), "{e}");
}
