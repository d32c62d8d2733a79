//! The DDIM step kernels (shaders/ddim_step.wgsl, ddim_step_vec4.wgsl) through the `ddim-step`
//! and `ddim-reverse-step` ops against their f64 twin: every mean type DDIM reads and clipping,
//! on sizes that are not multiples of the workgroup, both kernels (the vec4 one bit for bit
//! against the scalar one), every grid path, t = 0, 1, T-1; zero terminal SNR; bad input. The
//! eta, clipped-eps and final-abar options and respaced chains: tests/check.rs (`ddpm check`).

mod common;
use common::*;
use ddpm_wgpu::check::{self, Gen};
use ddpm_wgpu::ops::{self, Op, OpSettings, StepSettings};
use ddpm_wgpu::sampler::DdimOptions;
use ddpm_wgpu::{LossType, MeanType, ModelOptions, ScheduleKind, Tables};

fn ddim_options() -> Vec<(ModelOptions, LossType)> {
    let mut v = Vec::new();
    for mean_type in [MeanType::Eps, MeanType::Xstart, MeanType::V] {
        for clip_denoised in [true, false] {
            let m = ModelOptions {
                mean_type,
                clip_denoised,
                ..ModelOptions::default()
            };
            v.push((m, LossType::Mse));
        }
    }
    v
}

#[test]
fn matches_reference_on_every_shape_and_step() {
    let Some(ctx) = gpu() else { return };
    for op in [Op::DdimStep, Op::DdimReverseStep] {
        sweep(&ctx, op, &linear(1000), &ddim_options());
        sweep_shapes(&ctx, op, &cosine(1000), &ddim_options(), &VEC4_SHAPES);
    }
}

#[test]
fn vec4_kernel_on_every_grid_path() {
    let Some(ctx) = small_grid_gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    sweep_shapes(&ctx, Op::DdimStep, &cosine(1000), &opts, &SMALL_GRID_SHAPES);
}

#[test]
fn vec4_kernel_with_more_samples_than_one_grid_row() {
    let Some(ctx) = gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    sweep_shapes(&ctx, Op::DdimStep, &cosine(1000), &opts, &[MANY_SAMPLES]);
}

/// The same 1028 elements as one sample (vec4 kernel) and as 1028 samples (scalar kernel), with
/// eta 1 and noise: the same per-element arithmetic and noise, so the same bits.
#[test]
fn vec4_and_scalar_kernels_agree_bit_for_bit() {
    let Some(ctx) = gpu() else { return };
    let n = 1028;
    let tables = cosine(1000);
    for (model, loss) in ddim_options() {
        let s = OpSettings {
            step: StepSettings {
                ddim: DdimOptions {
                    eta: 1.0,
                    ..DdimOptions::default()
                },
                ..StepSettings::default()
            },
            ..OpSettings::new(tables.clone(), model, loss)
        };
        let mut g = Gen::new(9);
        let mut inputs = check::inputs(&mut g, Op::DdimStep, &model, &tables, &[1, n]);
        inputs.insert("noise".into(), f32_array(&[1, n], g.vec(n, Gen::normal)));
        for step in [0, 1, 500, 999] {
            let run = |shape: &[usize]| {
                let mut these = inputs.clone();
                for a in these.values_mut() {
                    a.shape = shape.to_vec();
                }
                these.insert("t".into(), t_array(&vec![step; shape[0]]));
                ops::run(Op::DdimStep, &s, &these, ops::Backend::Gpu(&ctx)).unwrap()
            };
            let (vec4, scalar) = (run(&[1, n]), run(&[n, 1]));
            for (a, b) in vec4.iter().zip(&scalar) {
                assert_eq!(a.data, b.data, "{model:?} t = {step}: output {}", a.name);
            }
        }
    }
}

/// With abar_{T-1} = 0 (zero terminal SNR) v and xstart step from t = T-1, on both backends
/// alike; eps there is a clear error naming the reason.
#[test]
fn zero_terminal_snr_works_for_v_and_refuses_eps() {
    let Some(ctx) = gpu() else { return };
    let betas = ddpm_wgpu::schedule::beta_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let tables =
        Tables::new(ddpm_wgpu::schedule::rescale_zero_terminal_snr(&betas).unwrap()).unwrap();
    for mean_type in [MeanType::V, MeanType::Xstart] {
        let model = ModelOptions {
            mean_type,
            ..ModelOptions::default()
        };
        let c = case(
            Op::DdimStep,
            &tables,
            model,
            LossType::Mse,
            &[3, 257],
            999,
            4,
        );
        assert_case(&ctx, &c);
    }
    let eps = case(
        Op::DdimStep,
        &tables,
        ModelOptions::default(),
        LossType::Mse,
        &[2, 8],
        999,
        5,
    );
    let err = ops::run(Op::DdimStep, &eps.settings, &eps.inputs, ops::Backend::Cpu).unwrap_err();
    assert!(err.to_string().contains("abar_t = 0"), "{err}");
}

/// eta > 0 without noise, xprev outputs, eta on the inverse step, and a t that a respaced chain
/// does not keep: each a typed error before any work.
#[test]
fn bad_input_is_a_typed_error() {
    let tables = linear(1000);
    let base = case(
        Op::DdimStep,
        &tables,
        ModelOptions::default(),
        LossType::Mse,
        &[2, 4],
        10,
        1,
    );
    let with = |op: Op, model: ModelOptions, step: StepSettings| {
        let s = OpSettings {
            step,
            ..OpSettings::new(tables.clone(), model, LossType::Mse)
        };
        ops::run(op, &s, &base.inputs, ops::Backend::Cpu)
            .unwrap_err()
            .to_string()
    };
    let eta = |eta| StepSettings {
        ddim: DdimOptions {
            eta,
            ..DdimOptions::default()
        },
        ..StepSettings::default()
    };
    let m = ModelOptions::default();
    assert!(with(Op::DdimStep, m, eta(1.0)).contains("noise"));
    let xprev = ModelOptions {
        mean_type: MeanType::Xprev,
        ..m
    };
    assert!(with(Op::DdimStep, xprev, eta(0.0)).contains("xprev"));
    assert!(with(Op::DdimReverseStep, m, eta(0.5)).contains("eta"));
    let respaced = StepSettings {
        respace: Some(vec![0, 500, 999]),
        ..StepSettings::default()
    };
    assert!(with(Op::DdimStep, m, respaced).contains("not a kept timestep"));
}
