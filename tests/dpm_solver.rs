//! DPM-Solver and DPM-Solver++ (`sampler::DpmSolver`, orders 1 to 3, ODE and SDE): its
//! timesteps and whole loops against diffusers' DPMSolverMultistepScheduler (tests/fixtures/dpm_solver/, written by
//! tests/reference/dpm_solver_fixtures.py from diffusers' own loop on the UNet fixtures); the GPU
//! loop against the f64 CPU loop on both step-kernel paths (scalar: samples of 2; vec4: of 4)
//! with either noise source; and its first-order step against DDIM's.

mod common;

use common::dpm::{cases, read_f32};
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::gpu::sample_loop::{LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::sampler::{
    dpm_rows, Ddim, DdimOptions, DpmAlgorithm, DpmSolver, DpmSolverOptions, FinalSigma, Sampler,
    SigmaSchedule, SolverType, Threshold,
};
use ddpm_wgpu::spacing::{multistep_timesteps, Spacing};
use ddpm_wgpu::{Error, MeanType, ModelOptions, ScheduleKind, Tables};
use serde_json::Value;

fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

/// A fixture case's sampler: the fixture folder's DDPMScheduler config (linear 1e-4 .. 0.02,
/// T = 1000, eps, leading, no clipping for this solver) with the case's options over it.
fn case_sampler(case: &Value) -> DpmSolver {
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
    let opts = DpmSolverOptions {
        algorithm: match s("algorithm_type") {
            Some("sde-dpmsolver++") => DpmAlgorithm::SdeDpmSolverPlusPlus,
            Some("dpmsolver") => DpmAlgorithm::DpmSolver,
            Some("sde-dpmsolver") => DpmAlgorithm::SdeDpmSolver,
            _ => DpmAlgorithm::DpmSolverPlusPlus,
        },
        order: o["solver_order"].as_u64().unwrap_or(2) as usize,
        solver_type: match s("solver_type") {
            Some("heun") => SolverType::Heun,
            _ => SolverType::Midpoint,
        },
        euler_at_final: o["euler_at_final"] == Value::Bool(true),
        final_sigma: match s("final_sigmas_type") {
            Some("sigma_min") => FinalSigma::SigmaMin,
            _ => FinalSigma::Zero,
        },
        sigmas,
        ..DpmSolverOptions::default()
    };
    // A sigma schedule's steps come from N (they may visit a timestep twice: the rows are
    // then by visit); the training table's from the chain.
    let sampler = if sigmas == SigmaSchedule::Timesteps {
        DpmSolver::new(
            Chain::respaced(&train, &kept).unwrap(),
            model,
            threshold,
            opts,
        )
    } else {
        DpmSolver::on_sigmas(&train, kept.len(), (model, threshold), opts)
    }
    .unwrap();
    assert_eq!(sampler.order(), kept, "{}", case["case"]);
    sampler
}

#[test]
fn multistep_timesteps_match_diffusers() {
    let all = cases();
    let lists = all["timestep_lists"].as_array().unwrap();
    assert!(lists.len() >= 60, "{} lists", lists.len());
    let (mut equal, mut refused) = (0, 0);
    for l in lists {
        let spacing = Spacing::parse(
            l["spacing"].as_str().unwrap(),
            l["offset"].as_u64().unwrap() as usize,
        )
        .unwrap();
        let (big_t, n) = (l["T"].as_u64().unwrap(), l["N"].as_u64().unwrap());
        let got = multistep_timesteps(big_t as usize, n as usize, &spacing);
        let want: Option<Vec<u64>> = l["timesteps"]
            .as_array()
            .map(|w| w.iter().map(|t| t.as_u64().unwrap()).collect());
        match want {
            // Leading with an offset can reach t = T, which diffusers keeps (np.interp clamps
            // its sigma to the last one's) and hands the model; leading with N + 1 > T / 2
            // repeats timesteps (all 0 at N = T), steps of length 0 whose h divides. We refuse
            // both, as for DDIM.
            Some(w) if w.iter().any(|&t| t >= big_t) || w.windows(2).any(|p| p[1] >= p[0]) => {
                let e = got.unwrap_err().to_string();
                assert!(
                    e.contains("outside [0,") || e.contains("repeats"),
                    "{l}: {e}"
                );
                refused += 1;
            }
            Some(w) => {
                let w: Vec<usize> = w.iter().map(|&t| t as usize).collect();
                assert_eq!(got.unwrap(), w, "{l}");
                equal += 1;
            }
            None => assert!(got.is_err(), "{l}: diffusers refuses, we gave {got:?}"),
        }
    }
    assert!(
        equal >= 70 && refused >= 1,
        "{equal} equal, {refused} refused"
    );
}

/// Each case's loop, from diffusers' x_T (and, for the SDE, the same torch generator: x_T
/// then one draw per step), on the GPU and in the f64 twin, against diffusers' result.
///
/// Tolerance: diffusers runs the UNet and the step in float32 and forms the coefficients from
/// float32 sigmas (relative rounding ~6e-8 each, and e^-h - 1 as a plain subtraction where we
/// take expm1), and x_0 from eps divides by alpha_t, down to 0.2 at the first step of these
/// chains; x reaches |x| ~ 300 where the random models' eps outputs are scaled up that way.
/// The noise-prediction forms (dpmsolver, sde-dpmsolver) with xstart or v outputs form
/// eps = (x - alpha x_0) / sigma, which near sigma_min (0.01 at t = 0) scales diffusers' f32
/// rounding by up to 100. Measured worst |ours - diffusers| / max |diffusers|: see the printed
/// lines (GPU and twin within 2.2e-6 of it on lavapipe for the data-prediction forms, 1.9e-5
/// for dpmsolver order 3 on sample predictions); bounded at 1e-4 of the largest value.
#[test]
fn loops_match_diffusers_on_gpu_and_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let all = cases();
    let list = all["cases"].as_array().unwrap();
    assert_eq!(list.len(), 29);
    for case in list {
        let name = case["case"].as_str().unwrap();
        let sampler = case_sampler(case);
        let (shape, x_t) = read_f32(&format!("{name}_x_t.npy"));
        let (_, want) = read_f32(&format!("{name}_out.npy"));
        let sde = sampler.options().algorithm.is_sde();
        let opts = LoopOptions {
            seed: case["seed"].as_u64().unwrap(),
            noise: if sde {
                NoiseSource::Torch
            } else {
                NoiseSource::Philox
            },
            // The SDE draws x_T from the generator too, as the pipeline does.
            x_t: (!sde).then(|| x_t.clone()),
            steps_per_submit: 3,
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

/// The largest |GPU - CPU| of `sampler`'s loops over the exact mixture of `points` ([M, d]).
fn mixture_loops(
    ctx: &Context,
    sampler: &dyn Sampler,
    data: (&[f32], usize),
    opts: &LoopOptions,
) -> f64 {
    let (gpu, cpu) = common::mixture_loops(ctx, sampler, data, 0.05, 5, opts);
    gpu.iter()
        .zip(&cpu)
        .map(|(&a, b)| (f64::from(a) - b).abs())
        .fold(0.0, f64::max)
}

/// Every option on both kernel paths and both noise sources, the f32 loop against the f64
/// loop over the exact mixture. As for DDIM (tests/samplers.rs), the mixture's own
/// conditioning near t = 0 amplifies an x error up to ~100x into x_0; measured at most 3e-6
/// here on lavapipe; bounded at 1e-4.
#[test]
fn gpu_loop_matches_the_cpu_loop_on_every_path() {
    let Some(ctx) = common::gpu() else { return };
    let kept = multistep_timesteps(1000, 12, &Spacing::Linspace).unwrap();
    let chain = Chain::respaced(&tables(), &kept).unwrap();
    for algorithm in [
        DpmAlgorithm::DpmSolverPlusPlus,
        DpmAlgorithm::SdeDpmSolverPlusPlus,
    ] {
        for (solver_type, final_sigma, mean_type) in [
            (SolverType::Midpoint, FinalSigma::Zero, MeanType::Eps),
            (SolverType::Heun, FinalSigma::SigmaMin, MeanType::V),
            (SolverType::Midpoint, FinalSigma::SigmaMin, MeanType::Xstart),
        ] {
            let model = ModelOptions {
                mean_type,
                clip_denoised: false,
                ..ModelOptions::default()
            };
            let opts = DpmSolverOptions {
                algorithm,
                solver_type,
                final_sigma,
                ..DpmSolverOptions::default()
            };
            let s = DpmSolver::new(chain.clone(), model, None, opts).unwrap();
            for data in [(&POINTS[..], 2), (&POINTS4[..], 4)] {
                for noise in [NoiseSource::Philox, NoiseSource::Torch] {
                    let lo = LoopOptions {
                        seed: 11,
                        noise,
                        steps_per_submit: 5,
                        ..LoopOptions::default()
                    };
                    let w = mixture_loops(&ctx, &s, data, &lo);
                    let what = format!("{} {opts:?} {mean_type} d={} {noise:?}", s.name(), data.1);
                    assert!(w < 1e-4, "{what}: {w:.3e}");
                }
            }
        }
    }
}

/// At first order the ODE solver is DDIM with eta 0 (diffusers' docs say so; here from the two
/// row formulas): the same map from (x, x_0) on every step to the last.
#[test]
fn first_order_is_ddim_eta_zero() {
    let kept = multistep_timesteps(1000, 9, &Spacing::Trailing).unwrap();
    let chain = Chain::respaced(&tables(), &kept).unwrap();
    let opts = DpmSolverOptions {
        order: 1,
        final_sigma: FinalSigma::SigmaMin,
        ..DpmSolverOptions::default()
    };
    let rows = dpm_rows(&chain, &opts).unwrap();
    let ddim = Ddim::new(
        chain.clone(),
        ModelOptions::default(),
        None,
        DdimOptions {
            set_alpha_to_one: false,
            ..DdimOptions::default()
        },
    )
    .unwrap();
    for &t in &kept {
        let (r, d) = (&rows[t], ddim.row(t).unwrap());
        // DDIM: sqrt(abar_prev) x_0 + sqrt(1 - abar_prev) eps, eps = (x - sqrt(abar) x_0) /
        // sqrt(1 - abar): cx = sqrt(1 - abar_prev) / sqrt(1 - abar), c0 the rest.
        let cx = d.direction / (1.0 - d.abar).sqrt();
        let c0 = d.abar_target.sqrt() - cx * d.abar.sqrt();
        let u = r.update;
        assert!(
            (u[0] - cx).abs() < 1e-14 && (u[1] - c0).abs() < 1e-12,
            "t={t}: {r:?} {d:?}"
        );
        assert_eq!((u[2], u[3], u[4], u[5], r.ring), (0.0, 0.0, 0.0, 0.0, 0));
    }
}

#[test]
fn bad_options_are_refused_by_name() {
    let kept = multistep_timesteps(1000, 10, &Spacing::Leading { steps_offset: 0 }).unwrap();
    let chain = Chain::respaced(&tables(), &kept).unwrap();
    let model = ModelOptions::default();
    for order in [0, 4] {
        let o = DpmSolverOptions {
            order,
            ..DpmSolverOptions::default()
        };
        let e = DpmSolver::new(chain.clone(), model, None, o).unwrap_err();
        assert!(e.to_string().contains("solver_order"), "{e}");
    }
    let xprev = ModelOptions {
        mean_type: MeanType::Xprev,
        ..model
    };
    let e = DpmSolver::new(chain, xprev, None, DpmSolverOptions::default()).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)) && e.to_string().contains("xprev"));
    // A chain through t = 0 cannot end at sigma(0).
    let kept = multistep_timesteps(1000, 4, &Spacing::Trailing).unwrap();
    let through_zero = Chain::respaced(&tables(), &[999, 500, 0]).unwrap();
    let o = DpmSolverOptions {
        final_sigma: FinalSigma::SigmaMin,
        ..DpmSolverOptions::default()
    };
    assert!(DpmSolver::new(through_zero, model, None, o).is_err());
    assert_eq!(kept.len(), 4);
    assert!(multistep_timesteps(1000, 0, &Spacing::Linspace).is_err());
    assert!(multistep_timesteps(1000, 5, &Spacing::Improved("ddim5".into())).is_err());
    // Exponential sigmas at 30 steps visit t = 0 twice: the ODE runs (rows by visit), the SDE,
    // whose noise is keyed by timestep, is refused by name; so is the chain that cannot hold
    // the repeat, and on_sigmas without a sigma schedule.
    let exp = |algorithm| DpmSolverOptions {
        algorithm,
        sigmas: SigmaSchedule::Exponential,
        ..DpmSolverOptions::default()
    };
    let ode = DpmSolver::on_sigmas(
        &tables(),
        30,
        (model, None),
        exp(DpmAlgorithm::DpmSolverPlusPlus),
    );
    let ode = ode.unwrap();
    assert!(ode.rows_by_visit() && ode.order().ends_with(&[2, 0, 0]));
    assert_eq!(ode.chain().steps.len(), 29);
    let sde = exp(DpmAlgorithm::SdeDpmSolverPlusPlus);
    let e = DpmSolver::on_sigmas(&tables(), 30, (model, None), sde).unwrap_err();
    assert!(
        e.to_string().contains("sde-dpmsolver++") && e.to_string().contains("twice"),
        "{e}"
    );
    let e = DpmSolver::new(
        ode.chain().clone(),
        model,
        None,
        exp(DpmAlgorithm::DpmSolverPlusPlus),
    );
    assert!(e.unwrap_err().to_string().contains("on_sigmas"));
    let plain = DpmSolverOptions::default();
    assert!(DpmSolver::on_sigmas(&tables(), 10, (model, None), plain).is_err());
    // lu at 40 steps ends 1, 1, 0 at sigma_min; a third-order last step into sigma_min
    // goes from sigma_min to itself, where diffusers computes NaN: refused, naming the step.
    let lu3 = DpmSolverOptions {
        order: 3,
        sigmas: SigmaSchedule::Lu,
        final_sigma: FinalSigma::SigmaMin,
        ..DpmSolverOptions::default()
    };
    let e = DpmSolver::on_sigmas(&tables(), 40, (model, None), lu3).unwrap_err();
    assert!(
        e.to_string().contains("step 40 of 40 (at timestep 0)"),
        "{e}"
    );
    // Without a repeat, on_sigmas is new on the chain of the schedule's timesteps.
    let karras = DpmSolverOptions {
        sigmas: SigmaSchedule::Karras,
        ..DpmSolverOptions::default()
    };
    let a = DpmSolver::on_sigmas(&tables(), 12, (model, None), karras).unwrap();
    let b = DpmSolver::new(a.chain().clone(), model, None, karras).unwrap();
    assert!(!a.rows_by_visit() && a.gpu_rows() == b.gpu_rows() && a.order() == b.order());
}
