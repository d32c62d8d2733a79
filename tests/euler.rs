//! Euler and Euler ancestral (`sampler::Euler`): whole loops against diffusers'
//! EulerDiscreteScheduler and EulerAncestralDiscreteScheduler (tests/fixtures/euler/, written
//! by tests/reference/euler_fixtures.py from diffusers' own pipeline loop on the UNet
//! fixtures: x = z init_noise_sigma, scale_model_input, step), on the GPU and in the f64 twin,
//! and the refusals.

mod common;

use common::dpm::{cases_of, read_f32_of};
use common::unet::model;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::nn::UNetCpu;
use ddpm_wgpu::cpu::sampling::sample_loop as cpu_loop;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::UNetDenoiser;
use ddpm_wgpu::sampler::{Euler, EulerOptions, FinalSigma, Sampler};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, ScheduleKind, Tables};
use serde_json::Value;

const DIR: &str = "euler";

fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

/// A fixture case's sampler on the fixture folders' DDPMScheduler config (linear, T = 1000,
/// leading) with the case's options; its timesteps checked against diffusers'.
fn case_sampler(case: &Value) -> Euler {
    let o = &case["options"];
    let n = case["steps"].as_u64().unwrap() as usize;
    let steps_offset = o["steps_offset"].as_u64().unwrap_or(0) as usize;
    let kept = timesteps(1000, n, &Spacing::Leading { steps_offset }).unwrap();
    let want: Vec<usize> = case["timesteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap() as usize)
        .collect();
    assert_eq!(kept, want, "{}: timesteps", case["case"]);
    let mean_type = match o["prediction_type"].as_str().unwrap_or("epsilon") {
        "epsilon" => MeanType::Eps,
        "v_prediction" => MeanType::V,
        "sample" => MeanType::Xstart,
        other => panic!("{other}"),
    };
    let model = ModelOptions {
        mean_type,
        clip_denoised: false,
        ..ModelOptions::default()
    };
    let opts = EulerOptions {
        ancestral: case["class"] == "euler-a",
        final_sigma: match o["final_sigmas_type"].as_str() {
            Some("sigma_min") => FinalSigma::SigmaMin,
            _ => FinalSigma::Zero,
        },
    };
    Euler::new(Chain::respaced(&tables(), &kept).unwrap(), model, opts).unwrap()
}

/// Each case's loop from diffusers' z (Euler ancestral: the same torch generator, z then one
/// draw per step), on the GPU and in the f64 twin, against diffusers' result.
///
/// Tolerance: diffusers steps s = x sqrt(1 + sigma^2) in float32 (sigma up to 157 here, so s
/// carries x's rounding times 157 and is divided back by scale_model_input each step) and
/// runs the UNet in float32; we step x with f64 coefficients. With sample predictions the
/// result (|x| ~ 1.6) is 100 times smaller than s at the first step, so diffusers' rounding
/// there shows at 5e-5 of it; the others within 1e-6. Measured worst |ours -
/// diffusers| / max |diffusers|: the printed lines; bounded at 1e-4 of the largest value, as
/// for the other samplers.
#[test]
fn loops_match_diffusers_on_gpu_and_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let all = cases_of(DIR);
    let list = all["cases"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    for case in list {
        let name = case["case"].as_str().unwrap();
        let sampler = case_sampler(case);
        let (shape, z) = read_f32_of(DIR, &format!("{name}_x_t.npy"));
        let (_, want) = read_f32_of(DIR, &format!("{name}_out.npy"));
        let ancestral = sampler.options().ancestral;
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
        let gpu = sample_loop(&ctx, &sampler, &mut den, &shape, &opts, &mut |_, _| {})
            .unwrap()
            .x0;
        let twin = UNetCpu::new(&unet, shape[2], shape[3]).unwrap();
        let len = shape[1..].iter().product();
        let cpu = cpu_loop::sample_loop(&sampler, &twin, shape[0], len, &opts).unwrap();
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
        assert!(g < 1e-4 && c < 1e-4, "{name}: gpu {g:.3e}, cpu {c:.3e}");
        assert_eq!(sampler.name(), if ancestral { "euler-a" } else { "euler" });
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
}
