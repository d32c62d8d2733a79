//! UniPC (`sampler::UniPc`): whole loops against diffusers' UniPCMultistepScheduler
//! (tests/fixtures/unipc/, written by tests/reference/unipc_fixtures.py from diffusers' own loop
//! on the UNet fixtures) on the GPU and in the f64 twin; its timesteps; the GPU loop against the
//! f64 CPU loop on both step-kernel paths; and the settings where diffusers returns NaN,
//! refused.

mod common;

use common::dpm::{cases_of, read_f32_of};
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::gpu::sample_loop::{LoopOptions, NoiseSource};
use ddpm_wgpu::sampler::{
    unipc_rows, FinalSigma, Sampler, SigmaBounds, SigmaSchedule, Threshold, UniPc, UniPcOptions,
    UniPcVariant,
};
use ddpm_wgpu::spacing::{multistep_timesteps, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, ScheduleKind, Tables};
use serde_json::Value;

const DIR: &str = "unipc";

fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

/// A fixture case's sampler: the fixture folder's DDPMScheduler config (linear, T = 1000, eps,
/// leading, no clipping for this solver) with the case's options over it.
fn case_sampler(case: &Value) -> UniPc {
    let o = &case["options"];
    let s = |k: &str| o[k].as_str();
    let train = common::dpm::case_tables(case);
    let (sigmas, kept) = common::dpm::case_steps(case, &train.alphas_cumprod);
    let mean_type = match s("prediction_type").unwrap_or("epsilon") {
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
    let threshold = (o["thresholding"] == Value::Bool(true)).then(|| Threshold {
        ratio: o["dynamic_thresholding_ratio"].as_f64().unwrap_or(0.995),
        max: o["sample_max_value"].as_f64().unwrap_or(1.0),
    });
    let opts = UniPcOptions {
        order: o["solver_order"].as_u64().unwrap_or(2) as usize,
        variant: match s("solver_type") {
            Some("bh1") => UniPcVariant::Bh1,
            _ => UniPcVariant::Bh2,
        },
        predict_x0: o["predict_x0"] != Value::Bool(false),
        lower_order_final: o["lower_order_final"] != Value::Bool(false),
        disable_corrector: o["disable_corrector"]
            .as_array()
            .map(|v| v.iter().map(|i| i.as_u64().unwrap() as usize).collect())
            .unwrap_or_default(),
        final_sigma: match s("final_sigmas_type") {
            Some("sigma_min") => FinalSigma::SigmaMin,
            _ => FinalSigma::Zero,
        },
        sigmas,
        bounds: SigmaBounds {
            min: o["sigma_min"].as_f64(),
            max: o["sigma_max"].as_f64(),
        },
    };
    // A sigma schedule's steps come from N (they may visit a timestep twice: the rows are
    // then by visit); the training table's from the chain.
    let sampler = if sigmas == SigmaSchedule::Timesteps {
        UniPc::new(
            Chain::respaced(&train, &kept).unwrap(),
            model,
            threshold,
            opts,
        )
    } else {
        UniPc::on_sigmas(&train, kept.len(), (model, threshold), opts)
    }
    .unwrap();
    assert_eq!(sampler.order(), kept, "{}", case["case"]);
    sampler
}

/// UniPC's timesteps are DPM-Solver's (`multistep_timesteps`): diffusers' lists.
#[test]
fn timesteps_match_diffusers() {
    let all = cases_of(DIR);
    let lists = all["timestep_lists"].as_array().unwrap();
    let mut equal = 0;
    for l in lists {
        let spacing = Spacing::parse(
            l["spacing"].as_str().unwrap(),
            l["offset"].as_u64().unwrap() as usize,
        )
        .unwrap();
        let (big_t, n) = (l["T"].as_u64().unwrap(), l["N"].as_u64().unwrap());
        let got = multistep_timesteps(big_t as usize, n as usize, &spacing);
        let Some(want) = l["timesteps"].as_array() else {
            assert!(got.is_err(), "{l}");
            continue;
        };
        let want: Vec<u64> = want.iter().map(|t| t.as_u64().unwrap()).collect();
        // As for DPM-Solver: a list reaching T or repeating a timestep is refused.
        if want.iter().any(|&t| t >= big_t) || want.windows(2).any(|p| p[1] >= p[0]) {
            assert!(got.is_err(), "{l}");
            continue;
        }
        let got: Vec<u64> = got.unwrap().iter().map(|&t| t as u64).collect();
        assert_eq!(got, want, "{l}");
        equal += 1;
    }
    assert!(equal >= 70, "{equal} equal");
}

/// Each case's loop from diffusers' x_T, on the GPU and in the f64 twin, against diffusers'
/// result.
///
/// Tolerance: as for DPM-Solver (tests/dpm_solver.rs): diffusers runs the UNet and the step in
/// f32 with coefficients from f32 sigmas, and solves for rho in f32 (`torch.linalg.solve`);
/// the noise-prediction history (predict_x0 false) forms eps from x_0 near sigma_min, scaling
/// its rounding by up to 1 / sigma_min = 100. Measured worst |ours - diffusers| /
/// max |diffusers|: the printed lines; bounded at 1e-4 of the largest value.
#[test]
fn loops_match_diffusers_on_gpu_and_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let all = cases_of(DIR);
    let list = all["cases"].as_array().unwrap();
    assert_eq!(list.len(), 20);
    for case in list {
        let name = case["case"].as_str().unwrap();
        let sampler = case_sampler(case);
        let (shape, x_t) = read_f32_of(DIR, &format!("{name}_x_t.npy"));
        let (_, want) = read_f32_of(DIR, &format!("{name}_out.npy"));
        let opts = LoopOptions {
            x_t: Some(x_t),
            steps_per_submit: 4,
            ..LoopOptions::default()
        };
        let unet = case["unet"].as_str().unwrap();
        let (g, c) =
            common::dpm::unet_loop_errors(&ctx, &sampler, (name, unet), &shape, &want, &opts);
        assert!(g < 1e-4 && c < 1e-4, "{name}: gpu {g:.3e}, cpu {c:.3e}");
    }
}

const POINTS: [f32; 6] = [-0.6, -0.6, 0.6, -0.4, 0.0, 0.7];
const POINTS4: [f32; 12] = [
    -0.6, -0.6, 0.2, 0.5, 0.6, -0.4, -0.3, 0.0, 0.0, 0.7, 0.4, -0.5,
];

/// Every order and variant on both kernel paths (scalar: samples of 2; vec4: of 4), the f32
/// loop against the f64 loop over the exact mixture. As for DPM-Solver, the mixture's own
/// conditioning near t = 0 amplifies an x error up to ~100x into x_0; bounded at 1e-4.
#[test]
fn gpu_loop_matches_the_cpu_loop_on_every_path() {
    let Some(ctx) = common::gpu() else { return };
    let kept = multistep_timesteps(1000, 11, &Spacing::Linspace).unwrap();
    let chain = Chain::respaced(&tables(), &kept).unwrap();
    for (order, variant, predict_x0, final_sigma, mean_type) in [
        (1, UniPcVariant::Bh2, true, FinalSigma::Zero, MeanType::Eps),
        (
            2,
            UniPcVariant::Bh1,
            true,
            FinalSigma::SigmaMin,
            MeanType::V,
        ),
        (
            3,
            UniPcVariant::Bh2,
            true,
            FinalSigma::Zero,
            MeanType::Xstart,
        ),
        (
            3,
            UniPcVariant::Bh1,
            false,
            FinalSigma::SigmaMin,
            MeanType::Eps,
        ),
    ] {
        let model = ModelOptions {
            mean_type,
            clip_denoised: false,
            ..ModelOptions::default()
        };
        let opts = UniPcOptions {
            order,
            variant,
            predict_x0,
            final_sigma,
            disable_corrector: vec![2],
            ..UniPcOptions::default()
        };
        let s = UniPc::new(chain.clone(), model, None, opts.clone()).unwrap();
        for data in [(&POINTS[..], 2), (&POINTS4[..], 4)] {
            let lo = LoopOptions {
                seed: 5,
                noise: NoiseSource::Philox,
                steps_per_submit: 3,
                ..LoopOptions::default()
            };
            let (gpu, cpu) = common::mixture_loops(&ctx, &s, data, 0.05, 5, &lo);
            let w = gpu
                .iter()
                .zip(&cpu)
                .map(|(&a, b)| (f64::from(a) - b).abs())
                .fold(0.0, f64::max);
            assert!(w < 1e-4, "{opts:?} {mean_type} d={}: {w:.3e}", data.1);
        }
    }
}

/// The row structure diffusers' `step` gives: no corrector at the first step or after a
/// disabled one, the order ramping up and (lower_order_final) down, the ring and `last` used.
#[test]
fn rows_follow_diffusers_step_structure() {
    let kept = multistep_timesteps(1000, 6, &Spacing::Linspace).unwrap();
    let chain = Chain::respaced(&tables(), &kept).unwrap();
    let opts = UniPcOptions {
        order: 3,
        disable_corrector: vec![1],
        ..UniPcOptions::default()
    };
    let rows = unipc_rows(&chain, &opts).unwrap();
    let visited: Vec<_> = kept.iter().map(|&t| rows[t]).collect();
    // Predictor orders 1, 2, 3, 3, 2, 1: m_k read up to k = order - 1.
    for (i, want) in [1, 2, 3, 3, 2, 1].into_iter().enumerate() {
        let r = &visited[i];
        let got = 1 + (1..4).filter(|&j| r.update[1 + j] != 0.0).count();
        assert_eq!(got, want, "step {i}: {r:?}");
        assert_eq!((r.ring, r.slots[0]), (4, i % 4));
    }
    // Corrector: identity (x kept as last) at step 0 and at step 2 (after disabled step 1).
    for i in [0, 2] {
        assert_eq!(visited[i].correct, Some([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    }
    for i in [1, 3, 4, 5] {
        let a = visited[i].correct.unwrap();
        assert!(a[0] == 0.0 && a[1] != 0.0 && a[2] != 0.0, "step {i}: {a:?}");
    }
    let s = UniPc::new(chain, ModelOptions::default(), None, opts).unwrap();
    assert_eq!(s.state_slots(), 5);
}

#[test]
fn settings_where_diffusers_returns_nan_are_refused_by_name() {
    let kept = multistep_timesteps(1000, 8, &Spacing::Linspace).unwrap();
    let chain = Chain::respaced(&tables(), &kept).unwrap();
    let model = ModelOptions {
        clip_denoised: false,
        ..ModelOptions::default()
    };
    for (opts, key) in [
        (
            UniPcOptions {
                variant: UniPcVariant::Bh1,
                ..UniPcOptions::default()
            },
            "bh1",
        ),
        (
            UniPcOptions {
                predict_x0: false,
                ..UniPcOptions::default()
            },
            "predict_x0",
        ),
        (
            UniPcOptions {
                lower_order_final: false,
                ..UniPcOptions::default()
            },
            "lower_order_final",
        ),
        (
            UniPcOptions {
                order: 4,
                ..UniPcOptions::default()
            },
            "solver_order",
        ),
    ] {
        let e = UniPc::new(chain.clone(), model, None, opts).unwrap_err();
        assert!(e.to_string().contains(key), "{key}: {e}");
    }
    // The same settings into sigma_min are fine.
    let ok = UniPcOptions {
        variant: UniPcVariant::Bh1,
        predict_x0: false,
        lower_order_final: false,
        final_sigma: FinalSigma::SigmaMin,
        ..UniPcOptions::default()
    };
    assert!(UniPc::new(chain, model, None, ok).is_ok());
}

/// A stateful sampler cannot run one step at a time (the ops' per-sample step).
#[test]
fn single_steps_are_refused() {
    let kept = multistep_timesteps(1000, 4, &Spacing::Linspace).unwrap();
    let chain = Chain::respaced(&tables(), &kept).unwrap();
    let s = UniPc::new(
        chain,
        ModelOptions::default(),
        None,
        UniPcOptions::default(),
    )
    .unwrap();
    let mut x = vec![0.0; 4];
    let e = ddpm_wgpu::sampler::cpu_step_per_sample(
        &s,
        &[kept[0] as u32],
        ddpm_wgpu::sampler::CpuStep {
            sample_len: 4,
            x: &mut x,
            output: &[0.0; 4],
            var: None,
            noise: None,
            scales: None,
            state: None,
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("unipc"), "{e}");
}
