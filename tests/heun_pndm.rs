//! Heun (`sampler::Heun`) and PNDM (`sampler::Pndm`), the samplers that call the model twice at
//! one timestep: whole loops against diffusers' HeunDiscreteScheduler and PNDMScheduler
//! (tests/fixtures/heun_pndm/, written by tests/reference/heun_pndm_fixtures.py from
//! diffusers' own pipeline loop on the UNet fixtures), on the GPU and in the f64 twin, with
//! progressive snapshots by visit; and the refusals.

mod common;

use common::dpm::{
    case_mean_type, case_sigma_times, case_spacing, case_times, case_timesteps, cases_of,
    read_f32_of, unet_loop_errors,
};
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::gpu::sample_loop::LoopOptions;
use ddpm_wgpu::sampler::{Heun, HeunOptions, Pndm, PndmOptions, Sampler};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, ScheduleKind, Tables};
use serde_json::Value;

const DIR: &str = "heun_pndm";

fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

/// A fixture case's sampler on the fixture folders' DDPMScheduler config (linear, T = 1000)
/// with the case's options; the timesteps it visits checked against diffusers'.
fn case_sampler(case: &Value) -> Box<dyn Sampler> {
    let o = &case["options"];
    let n = case["steps"].as_u64().unwrap() as usize;
    let spacing = case_spacing(case);
    let model = ModelOptions {
        mean_type: case_mean_type(case),
        // Heun's clip_sample as diffusers had it (the folder's config sets it).
        clip_denoised: case["clip_sample"] == Value::Bool(true),
        ..ModelOptions::default()
    };
    let sampler: Box<dyn Sampler> = if case["class"] == "heun" {
        let opts = HeunOptions {
            // diffusers' init_noise_sigma is sigma_max with trailing and linspace spacing.
            init_sigma_max: !matches!(spacing, Spacing::Leading { .. }),
        };
        let (st, on_times) = case_sigma_times(case, &tables());
        if on_times {
            // Float32 timesteps between integers (linspace, a sigma schedule): the model is
            // called at them.
            let heun = Heun::on_times(&tables(), &st, model, opts).unwrap();
            let times = heun.model_times().unwrap();
            let want = case_times(case);
            assert!(times.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 5e-3));
            assert_eq!((times.len(), heun.steps()), (want.len(), n));
            return Box::new(heun);
        }
        let chain = Chain::respaced(&tables(), &timesteps(1000, n, &spacing).unwrap()).unwrap();
        Box::new(Heun::new(chain, model, opts).unwrap())
    } else {
        let chain = Chain::respaced(&tables(), &timesteps(1000, n, &spacing).unwrap()).unwrap();
        let on = |k: &str| o[k] == Value::Bool(true);
        let opts = PndmOptions {
            skip_prk_steps: on("skip_prk_steps"),
            set_alpha_to_one: on("set_alpha_to_one"),
        };
        Box::new(Pndm::new(chain, model, opts).unwrap())
    };
    assert_eq!(
        sampler.order(),
        case_timesteps(case),
        "{}: visits",
        case["case"]
    );
    assert_eq!(sampler.name(), case["class"].as_str().unwrap());
    sampler
}

/// Each case's loop from diffusers' z, on the GPU and in the f64 twin, against diffusers'
/// result.
///
/// Tolerance: as tests/euler.rs says for its sigma-space steps (diffusers' float32 s =
/// x sqrt(1 + sigma^2) for Heun, its float32 model and steps against our f64 coefficients):
/// 1e-5 of max |x| (1e-4 with sample predictions or clipped x_0, whose result is 100 times
/// smaller than the first steps' s). Heun's last corrector, into sigma(0) = 0.01, weighs x and
/// its x_0 by about -28.7 and +28.7 (h / 2 sigma'), so the kernel's f32 sums carry 28 times
/// x's rounding there: 5.9e-6 of max |x| on the GPU for heun_linspace_5 against 2e-6 for the
/// f64 twin. PNDM steps in the model's own scale like DDIM. Measured
/// worst errors: the printed lines.
#[test]
fn loops_match_diffusers_on_gpu_and_cpu() {
    let Some(ctx) = common::gpu() else { return };
    let all = cases_of(DIR);
    let list = all["cases"].as_array().unwrap();
    assert_eq!(list.len(), 14);
    for case in list {
        let name = case["case"].as_str().unwrap();
        let sampler = case_sampler(case);
        let (shape, z) = read_f32_of(DIR, &format!("{name}_x_t.npy"));
        let (_, want) = read_f32_of(DIR, &format!("{name}_out.npy"));
        let opts = LoopOptions {
            x_t: Some(z),
            steps_per_submit: 3,
            ..LoopOptions::default()
        };
        let unet = case["unet"].as_str().unwrap();
        let (g, c) = unet_loop_errors(&ctx, sampler.as_ref(), (name, unet), &shape, &want, &opts);
        // With x_0 clipped (Heun's clip_sample) the result is the clipped x_0's scale, as with
        // sample predictions: 9.2e-6 measured for heun_eps_6.
        let clipped = case["clip_sample"] == Value::Bool(true);
        let bound = if case["options"]["prediction_type"] == "sample" || clipped {
            1e-4
        } else {
            1e-5
        };
        assert!(g < bound && c < bound, "{name}: gpu {g:.3e}, cpu {c:.3e}");
    }
}

/// Progressive snapshots are kept by visit: Heun's predictor and corrector at one timestep
/// are two snapshots, and the last is the result.
#[test]
fn snapshots_follow_visits() {
    let Some(ctx) = common::gpu() else { return };
    let chain = Chain::respaced(&tables(), &[0, 250, 500, 750]).unwrap();
    let heun = Heun::new(chain, ModelOptions::default(), HeunOptions::default()).unwrap();
    let mut den = ddpm_wgpu::gpu::GaussianDenoiser::new(0.5, ModelOptions::default()).unwrap();
    let opts = LoopOptions {
        keep_every: Some(1),
        seed: 3,
        ..LoopOptions::default()
    };
    let shape = [2, 3, 5, 5];
    let s = ddpm_wgpu::gpu::sample_loop::sample_loop(
        &ctx,
        &heun,
        &mut den,
        &shape,
        &opts,
        &mut |_, _| {},
    )
    .unwrap();
    let ts: Vec<usize> = s.kept.iter().map(|k| k.0).collect();
    assert_eq!(ts, vec![750, 500, 500, 250, 250, 0, 0]);
    assert_ne!(s.kept[1].1, s.kept[2].1, "predictor and corrector x differ");
    assert_eq!(s.kept.last().unwrap().1, s.x0);
}

#[test]
fn what_diffusers_does_not_run_is_refused_by_name() {
    let chain = |steps: &[usize]| Chain::respaced(&tables(), steps).unwrap();
    let model = |mean_type, clip_denoised| ModelOptions {
        mean_type,
        clip_denoised,
        ..ModelOptions::default()
    };
    let e = Heun::new(
        chain(&[0, 500]),
        model(MeanType::Xprev, false),
        HeunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Heun") && e.contains("xprev"), "{e}");
    let plms = PndmOptions {
        skip_prk_steps: true,
        ..PndmOptions::default()
    };
    for (m, o, steps, needle) in [
        (
            model(MeanType::Xstart, false),
            plms,
            &[0, 500][..],
            "xstart",
        ),
        (model(MeanType::Eps, true), plms, &[0, 500][..], "clip"),
        (
            model(MeanType::Eps, false),
            PndmOptions::default(),
            &[0, 333, 666][..],
            "4 timesteps or more",
        ),
    ] {
        let e = Pndm::new(chain(steps), m, o).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
    // A sampler whose rows are by visit runs in a loop, not one step at a time.
    let heun = Heun::new(
        chain(&[0, 500]),
        ModelOptions::default(),
        HeunOptions::default(),
    )
    .unwrap();
    let (mut x, out) = (vec![0.1; 4], vec![0.2; 4]);
    let step = ddpm_wgpu::sampler::CpuStep {
        sample_len: 4,
        x: &mut x,
        output: &out,
        var: None,
        noise: None,
        scales: None,
        state: None,
    };
    let e = ddpm_wgpu::sampler::cpu_step_per_sample(&heun, &[500], step)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sampling loop"), "{e}");
}
