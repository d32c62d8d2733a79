//! GPU `p_sample` against its f64 twin, scalar and vec4 kernels (the latter bit for bit against
//! the former), and the no-noise rule at t = 0.

mod common;
use common::*;
use ddpm_wgpu::check::{self, Gen};
use ddpm_wgpu::ops::{self, Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions};
use std::collections::BTreeMap;

#[test]
fn matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    sweep(&ctx, Op::PSample, &linear(1000), &all_model_options());
    sweep(&ctx, Op::PSample, &cosine(1000), &all_model_options());
}

#[test]
fn vec4_kernel_matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    let all = all_model_options();
    sweep_shapes(&ctx, Op::PSample, &linear(1000), &all, &VEC4_SHAPES);
    sweep_shapes(&ctx, Op::PSample, &cosine(1000), &all, &VEC4_SHAPES);
}

#[test]
fn vec4_kernel_on_every_grid_path() {
    let Some(ctx) = small_grid_gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    sweep_shapes(&ctx, Op::PSample, &cosine(1000), &opts, &SMALL_GRID_SHAPES);
}

#[test]
fn vec4_kernel_with_more_samples_than_one_grid_row() {
    let Some(ctx) = gpu() else { return };
    let learned = ModelOptions {
        var_type: ddpm_wgpu::VarType::LearnedRange,
        ..ModelOptions::default()
    };
    let opts = [
        (ModelOptions::default(), LossType::Mse),
        (learned, LossType::Mse),
    ];
    sweep_shapes(&ctx, Op::PSample, &cosine(1000), &opts, &[MANY_SAMPLES]);
}

/// The same 1028 elements as one sample (vec4 kernel) and as 1028 samples of one (scalar
/// kernel) at one t, for every option: the same per-element arithmetic, so the same bits.
#[test]
fn vec4_and_scalar_kernels_agree_bit_for_bit() {
    let Some(ctx) = gpu() else { return };
    let n = 1028;
    let tables = cosine(1000);
    for (model, loss) in all_model_options() {
        let s = OpSettings {
            step: Default::default(),
            tables: tables.clone(),
            model,
            loss,
        };
        let mut g = Gen::new(5);
        let inputs = check::inputs(&mut g, Op::PSample, &model, &tables, &[1, n]);
        for step in [0, 1, 999] {
            let run = |shape: &[usize]| {
                let mut these = inputs.clone();
                for a in these.values_mut() {
                    a.shape = shape.to_vec();
                }
                these.insert("t".into(), t_array(&vec![step; shape[0]]));
                ops::run(Op::PSample, &s, &these, ops::Backend::Gpu(&ctx)).unwrap()
            };
            let (vec4, scalar) = (run(&[1, n]), run(&[n, 1]));
            for (a, b) in vec4.iter().zip(&scalar) {
                assert_eq!(a.data, b.data, "{model:?} t = {step}: output {}", a.name);
            }
        }
    }
}

/// At t = 0 the sample is the mean whatever the noise; at t > 0 the noise moves it.
#[test]
fn no_noise_at_t0() {
    let Some(ctx) = gpu() else { return };
    let s = OpSettings {
        step: Default::default(),
        tables: linear(1000),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    for backend in [ops::Backend::Gpu(&ctx), ops::Backend::Cpu] {
        let run = |noise: f32, t: u32| {
            let inputs = BTreeMap::from([
                ("x".into(), f32_array(&[1, 3], vec![0.2, -0.4, 0.9])),
                (
                    "model_output".into(),
                    f32_array(&[1, 3], vec![0.1, 0.0, -0.3]),
                ),
                ("noise".into(), f32_array(&[1, 3], vec![noise; 3])),
                ("t".into(), t_array(&[t])),
            ]);
            ops::run(Op::PSample, &s, &inputs, backend).unwrap()[0]
                .data
                .clone()
        };
        assert_eq!(run(6.0, 0), run(-6.0, 0));
        assert_ne!(run(6.0, 1), run(-6.0, 1));
    }
}

/// The f16-storage kernel against the f64 twin on the same f16-rounded inputs, every option,
/// sizes in and out of whole 8-value groups, t in {0, 1, T-1}. Linear schedule only: on the
/// cosine tail an unclipped pred_xstart reaches 1e5, past f16's largest finite value (65504):
/// the format's limit, not a kernel error.
#[test]
fn f16_storage_matches_reference_on_rounded_inputs() {
    let Some(ctx) = gpu() else { return };
    // [3, 4096]: whole 8-value groups in samples long enough for the per-sample grid.
    let shapes: [&[usize]; 5] = [&[1, 1], &[3, 257], &[3, 8, 16], &[2, 3, 17, 19], &[3, 4096]];
    check_f16_storage(&ctx, &shapes);
    // Every grid path of the f16 kernel, on a device limited to 8 workgroups per dimension.
    let Some(small) = small_grid_gpu() else {
        return;
    };
    check_f16_storage(&small, &SMALL_GRID_SHAPES);
}

fn check_f16_storage(ctx: &ddpm_wgpu::gpu::Context, shapes: &[&[usize]]) {
    use ddpm_wgpu::check::term_scales;
    use ddpm_wgpu::gpu::{self, GpuSteps, GpuTables, GpuTensorF16, PSampleF16};
    use ddpm_wgpu::npy::NpyData;
    use ddpm_wgpu::tolerance::{Scale, Tolerance};
    let tables = linear(1000);
    let gt = GpuTables::new(ctx, &tables).unwrap();
    let mut seed = 100;
    for (model, loss) in all_model_options() {
        for &shape in shapes {
            let mixed = mixed_steps(&tables, shape[0]);
            for t in [
                vec![0; shape[0]],
                vec![1; shape[0]],
                vec![999; shape[0]],
                mixed,
            ] {
                seed += 1;
                let mut case = case(Op::PSample, &tables, model, loss, shape, 0, seed);
                case.inputs.insert("t".into(), t_array(&t));
                for (name, a) in case.inputs.iter_mut() {
                    if let NpyData::F32(v) = &mut a.data {
                        for x in v.iter_mut() {
                            *x = half::f16::from_f32(*x).to_f32();
                        }
                    } else {
                        assert_eq!(name, "t");
                    }
                }
                let f32_of = |name: &str| match &case.inputs[name].data {
                    NpyData::F32(v) => v.clone(),
                    _ => unreachable!(),
                };
                let up = |name: &str| GpuTensorF16::from_slice(ctx, shape, &f32_of(name)).unwrap();
                let zeros = || GpuTensorF16::zeros(ctx, shape).unwrap();
                let (x, noise, out) = (up("x"), up("noise"), up("model_output"));
                let var = model.var_type.is_learned().then(|| up(ops::MODEL_VAR));
                let (sample, pred) = (zeros(), zeros());
                let steps = GpuSteps::new(ctx, &gt, &t).unwrap();
                let io = PSampleF16 {
                    model_output: &out,
                    model_var: var.as_ref(),
                    sample: &sample,
                    pred_xstart: &pred,
                };
                let mut enc = ctx.encoder();
                gpu::p_sample_f16(ctx, &mut enc, &gt, &model, &steps, &x, &noise, io).unwrap();
                ctx.submit(enc).unwrap();
                let want =
                    ops::run(Op::PSample, &case.settings, &case.inputs, ops::Backend::Cpu).unwrap();
                for (got, w) in [sample, pred].iter().zip(&want) {
                    let got: Vec<f64> =
                        got.to_vec(ctx).unwrap().iter().map(|&v| v as f64).collect();
                    // The f32 kernel's budget (check::tolerance, 1e-5 of the terms), plus one
                    // rounding of the result to f16 by pack2x16float: up to 2^-10 relative, the
                    // rounding direction being the implementation's.
                    let tol = Tolerance {
                        abs: 6e-8,
                        rel: 1e-5 + 1.0 / 1024.0,
                        scale: Scale::Terms,
                    };
                    // Values past f16's range (an unclipped pred_xstart of xprev at t = T-1
                    // reaches 6.6e4) are not representable: WGSL leaves pack2x16float's result
                    // for them indeterminate. Those elements are left out; the rest must pass.
                    let terms = term_scales(&case, w.name);
                    let keep: Vec<usize> = (0..got.len())
                        .filter(|&i| w.data[i].abs() < 65504.0)
                        .collect();
                    assert!(
                        keep.len() * 2 > got.len(),
                        "{model:?}: most values out of range"
                    );
                    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
                    let terms = terms.map(|t| pick(&t));
                    let cmp = tol.compare(&pick(&got), &pick(&w.data), 1, terms.as_deref());
                    assert!(
                        cmp.pass,
                        "{model:?} shape {shape:?} t={t:?} {}: worst {:?}",
                        w.name, cmp.worst
                    );
                }
            }
        }
    }
}

/// f16 calls with a wrong shape, a wrong batch or a missing model_var return typed errors.
#[test]
fn f16_bad_input_is_a_typed_error() {
    use ddpm_wgpu::gpu::{self, GpuSteps, GpuTables, GpuTensorF16, PSampleF16};
    use ddpm_wgpu::{Error, VarType};
    let Some(ctx) = gpu() else { return };
    let gt = GpuTables::new(&ctx, &linear(10)).unwrap();
    let t = GpuSteps::new(&ctx, &gt, &[3, 4]).unwrap();
    let f16 = |shape: &[usize]| GpuTensorF16::zeros(&ctx, shape).unwrap();
    let (x, odd, one) = (f16(&[2, 5]), f16(&[2, 6]), f16(&[1, 5]));
    let io = |out| PSampleF16 {
        model_output: out,
        model_var: None,
        sample: &x,
        pred_xstart: &x,
    };
    let fixed = ModelOptions::default();
    let learned = ModelOptions {
        var_type: VarType::Learned,
        ..fixed
    };
    let mut enc = ctx.encoder();
    let e = &mut enc;
    assert!(matches!(
        gpu::p_sample_f16(&ctx, e, &gt, &fixed, &t, &x, &x, io(&odd)),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        gpu::p_sample_f16(&ctx, e, &gt, &fixed, &t, &one, &one, io(&one)),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        gpu::p_sample_f16(&ctx, e, &gt, &learned, &t, &x, &x, io(&x)),
        Err(Error::MissingInput(_))
    ));
    assert!(matches!(
        gpu::q_sample_f16(&ctx, e, &gt, &t, &x, &x, &odd),
        Err(Error::ShapeMismatch(_))
    ));
    let (sample, pred) = (f16(&[2, 5]), f16(&[2, 5]));
    let good = PSampleF16 {
        model_output: &x,
        model_var: None,
        sample: &sample,
        pred_xstart: &pred,
    };
    gpu::p_sample_f16(&ctx, e, &gt, &fixed, &t, &x, &x, good).unwrap();
    ctx.submit(enc).unwrap();
}
