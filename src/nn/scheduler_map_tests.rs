//! The tests of src/nn/scheduler_map.rs: every key maps, unknown values are named.

use super::*;
use crate::sampler::SigmaSchedule;

#[test]
fn diffusers_defaults_are_the_papers_settings() {
    let s = SchedulerConfig::default().sampling().unwrap();
    assert_eq!(
        s.tables,
        Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
    );
    assert_eq!(s.model.mean_type, MeanType::Eps);
    assert_eq!(s.model.var_type, VarType::FixedSmall);
    assert!(s.model.clip_denoised);
    assert_eq!(s.spacing, Spacing::Leading { steps_offset: 0 });
    assert_eq!(s.sampler, SamplerKind::Ddpm);
    assert!(s.threshold.is_none());
}

#[test]
fn every_key_maps_and_unknown_values_are_named() {
    let cfg = SchedulerConfig {
        class_name: Some("DDIMScheduler".into()),
        beta_schedule: "squaredcos_cap_v2".into(),
        prediction_type: "v_prediction".into(),
        variance_type: "learned_range".into(),
        timestep_spacing: "trailing".into(),
        thresholding: true,
        rescale_betas_zero_snr: true,
        clip_sample_range: 2.0,
        set_alpha_to_one: false,
        ..SchedulerConfig::default()
    };
    let s = cfg.sampling().unwrap();
    assert_eq!(s.sampler, SamplerKind::Ddim);
    assert_eq!(s.model.mean_type, MeanType::V);
    assert_eq!(s.model.var_type, VarType::LearnedRange);
    assert_eq!(s.model.clip_range, 2.0);
    assert_eq!(s.spacing, Spacing::Trailing);
    assert_eq!(s.tables.alphas_cumprod[999], 0.0);
    assert!(!s.ddim.set_alpha_to_one);
    assert_eq!(s.threshold, Some(Threshold::DEFAULT));
    for (key, bad) in [
        (
            "beta_schedule",
            SchedulerConfig {
                beta_schedule: "laplace".into(),
                ..Default::default()
            },
        ),
        (
            "variance_type",
            SchedulerConfig {
                variance_type: "fixed_large_log".into(),
                ..Default::default()
            },
        ),
        (
            "prediction_type",
            SchedulerConfig {
                prediction_type: "flow".into(),
                ..Default::default()
            },
        ),
        (
            "timestep_spacing",
            SchedulerConfig {
                timestep_spacing: "karras".into(),
                ..Default::default()
            },
        ),
        (
            "steps_offset",
            SchedulerConfig {
                steps_offset: -1,
                ..Default::default()
            },
        ),
    ] {
        let e = bad.sampling().unwrap_err().to_string();
        assert!(e.contains(key), "{key}: {e}");
    }
}

#[test]
fn a_dpm_solver_config_gives_its_options_and_refuses_what_is_not_built() {
    use crate::sampler::{DpmAlgorithm, DpmSolverOptions, SolverType};
    let dpm = |keys: crate::nn::scheduler_dpm::DpmKeys| SchedulerConfig {
        class_name: Some("DPMSolverMultistepScheduler".into()),
        dpm: keys,
        ..SchedulerConfig::default()
    };
    let mut keys = crate::nn::scheduler_dpm::DpmKeys {
        algorithm_type: "sde-dpmsolver++".into(),
        solver_type: "heun".into(),
        ..Default::default()
    };
    let s = dpm(keys.clone()).sampling().unwrap();
    assert_eq!(
        s.sampler,
        SamplerKind::DpmSolver(DpmSolverOptions {
            algorithm: DpmAlgorithm::SdeDpmSolverPlusPlus,
            solver_type: SolverType::Heun,
            ..DpmSolverOptions::default()
        })
    );
    // DPM-Solver has no clip_sample.
    assert!(!s.model.clip_denoised);
    // A sigma schedule key selects it; two at once, or flow sigmas, are refused by name.
    keys.other_sigmas[0].1 = true;
    let s = dpm(keys.clone()).sampling().unwrap();
    assert!(matches!(s.sampler, SamplerKind::DpmSolver(o) if o.sigmas == SigmaSchedule::Karras));
    keys.other_sigmas[2].1 = true;
    let e = dpm(keys.clone()).sampling().unwrap_err().to_string();
    assert!(e.contains("use_karras_sigmas and use_beta_sigmas"), "{e}");
    keys.other_sigmas = vec![("use_flow_sigmas", true)];
    let e = dpm(keys).sampling().unwrap_err().to_string();
    assert!(e.contains("use_flow_sigmas"), "{e}");
    for (key, keys) in [
        (
            "solver_order",
            crate::nn::scheduler_dpm::DpmKeys {
                solver_order: 4,
                ..Default::default()
            },
        ),
        (
            "algorithm_type",
            crate::nn::scheduler_dpm::DpmKeys {
                algorithm_type: "dpmsolver+++".into(),
                ..Default::default()
            },
        ),
        (
            "flow_shift",
            crate::nn::scheduler_dpm::DpmKeys {
                unbuilt: Some(("flow_shift".into(), "3.0".into())),
                ..Default::default()
            },
        ),
        (
            "lambda_min_clipped",
            crate::nn::scheduler_dpm::DpmKeys {
                lambda_min_clipped: f64::NAN,
                ..Default::default()
            },
        ),
    ] {
        let e = dpm(keys).sampling().unwrap_err().to_string();
        assert!(e.contains(key), "{key}: {e}");
    }
    let other = SchedulerConfig {
        class_name: Some("KDPM2DiscreteScheduler".into()),
        ..SchedulerConfig::default()
    };
    assert_eq!(
        other.sampling().unwrap().sampler,
        SamplerKind::Unsupported("KDPM2DiscreteScheduler".into())
    );
}

#[test]
fn a_unipc_config_gives_its_options_and_refuses_what_is_not_built() {
    use crate::sampler::{FinalSigma, UniPcOptions, UniPcVariant};
    let text = r#"{"_class_name": "UniPCMultistepScheduler", "solver_order": 3,
        "solver_type": "bh1", "predict_x0": false, "disable_corrector": [0, 2],
        "final_sigmas_type": "sigma_min", "solver_p": null, "flow_shift": 1,
        "use_karras_sigmas": false, "sigma_min": null, "lower_order_final": false}"#;
    let s = SchedulerConfig::from_json(text, "s.json")
        .unwrap()
        .sampling()
        .unwrap();
    assert_eq!(
        s.sampler,
        SamplerKind::UniPc(UniPcOptions {
            order: 3,
            variant: UniPcVariant::Bh1,
            predict_x0: false,
            lower_order_final: false,
            disable_corrector: vec![0, 2],
            final_sigma: FinalSigma::SigmaMin,
            sigmas: SigmaSchedule::Timesteps,
            bounds: Default::default(),
        })
    );
    assert!(!s.model.clip_denoised);
    // sigma_min / sigma_max bound the other schedules.
    let text = r#"{"_class_name": "UniPCMultistepScheduler", "use_karras_sigmas": true,
        "sigma_min": 0.05, "sigma_max": 80.0}"#;
    let s = SchedulerConfig::from_json(text, "s.json")
        .unwrap()
        .sampling();
    let want = crate::sampler::SigmaBounds {
        min: Some(0.05),
        max: Some(80.0),
    };
    assert!(matches!(s.unwrap().sampler, SamplerKind::UniPc(o) if o.bounds == want));
    let text = r#"{"_class_name": "UniPCMultistepScheduler", "use_beta_sigmas": true}"#;
    let s = SchedulerConfig::from_json(text, "s.json")
        .unwrap()
        .sampling();
    assert!(matches!(s.unwrap().sampler, SamplerKind::UniPc(o) if o.sigmas == SigmaSchedule::Beta));
    for (bad, key) in [
        (r#""solver_p": {"a": 1}"#, "solver_p"),
        (r#""use_flow_sigmas": true"#, "use_flow_sigmas"),
        (
            r#""use_beta_sigmas": true, "use_karras_sigmas": true"#,
            "only one sigma schedule",
        ),
        (r#""sigma_max": -1.0"#, "sigma_max"),
        (r#""sigma_min": 2.0, "sigma_max": 1.0"#, "sigma_min"),
        (r#""solver_order": 4"#, "solver_order"),
        (r#""solver_type": "bh3""#, "solver_type"),
        (r#""disable_corrector": [-1]"#, "disable_corrector"),
    ] {
        let text = format!(r#"{{"_class_name": "UniPCMultistepScheduler", {bad}}}"#);
        let e = SchedulerConfig::from_json(&text, "s.json")
            .unwrap()
            .sampling()
            .unwrap_err()
            .to_string();
        assert!(e.contains(key), "{key}: {e}");
    }
}
