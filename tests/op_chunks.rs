//! `ddpm op` on inputs larger than one storage binding: on a device whose bindings hold 64 KiB,
//! every op runs in chunks of whole samples and gives the bits of one run on the full device;
//! a single sample larger than a binding is a typed error naming it.

mod common;
use ddpm_wgpu::check::{self, Gen};
use ddpm_wgpu::ops::{self, Backend, Op, OpSettings, StepSettings};
use ddpm_wgpu::sampler::{DdimOptions, Threshold};
use ddpm_wgpu::{Error, LossType, ModelOptions};

const BINDING: u64 = 64 << 10;

/// 5 samples of 4000 elements (80 KB each input): chunks of 4 samples and 1 on the small device.
const SHAPE: [usize; 2] = [5, 4000];

fn settings(op: Op) -> Vec<(String, OpSettings)> {
    let tables = common::linear(1000);
    let plain = OpSettings::new(tables.clone(), ModelOptions::default(), LossType::Mse);
    let mut v = vec![("defaults".to_string(), plain.clone())];
    match op {
        Op::TrainingLosses => v.push((
            "kl".into(),
            OpSettings {
                loss: LossType::Kl,
                ..plain.clone()
            },
        )),
        Op::PSample | Op::DdimStep => v.push((
            "thresholded, eta 1".into(),
            OpSettings {
                step: StepSettings {
                    threshold: Some(Threshold {
                        ratio: 0.9,
                        max: 3.0,
                    }),
                    ddim: DdimOptions {
                        eta: 1.0,
                        ..DdimOptions::default()
                    },
                    respace: None,
                },
                ..plain.clone()
            },
        )),
        _ => {}
    }
    v
}

#[test]
fn every_op_chunks_with_the_bits_of_one_run() {
    let Some(full) = common::gpu() else { return };
    let Some(small) = common::gpu_with_limits("64 KiB bindings", |l| wgpu::Limits {
        max_storage_buffer_binding_size: BINDING,
        ..l
    }) else {
        return;
    };
    for &op in Op::ALL {
        for (label, s) in settings(op) {
            let mut g = Gen::new(op as u64);
            let mut inputs = check::inputs(&mut g, op, &s.model, &s.tables, &SHAPE);
            if op == Op::DdimStep {
                let n = SHAPE.iter().product();
                inputs.insert(
                    "noise".into(),
                    common::f32_array(&SHAPE, g.vec(n, Gen::normal)),
                );
            }
            let one = ops::run(op, &s, &inputs, Backend::Gpu(&full)).unwrap();
            let chunked = ops::run(op, &s, &inputs, Backend::Gpu(&small))
                .unwrap_or_else(|e| panic!("{} {label}: {e}", op.name()));
            for (a, b) in one.iter().zip(&chunked) {
                assert_eq!(a.shape, b.shape, "{} {label} {}", op.name(), a.name);
                assert!(
                    a.data
                        .iter()
                        .zip(&b.data)
                        .all(|(p, q)| p.to_bits() == q.to_bits()),
                    "{} {label}: output {} differs when chunked",
                    op.name(),
                    a.name
                );
            }
        }
    }
}

#[test]
fn one_sample_past_a_binding_is_a_typed_error() {
    let Some(small) = common::gpu_with_limits("64 KiB bindings", |l| wgpu::Limits {
        max_storage_buffer_binding_size: BINDING,
        ..l
    }) else {
        return;
    };
    let s = OpSettings::new(common::linear(1000), ModelOptions::default(), LossType::Mse);
    let shape = [2, (BINDING / 4) as usize + 1];
    let mut g = Gen::new(1);
    let inputs = check::inputs(&mut g, Op::QSample, &s.model, &s.tables, &shape);
    match ops::run(Op::QSample, &s, &inputs, Backend::Gpu(&small)) {
        Err(Error::BufferTooLarge { what, .. }) => assert!(what.contains("one sample"), "{what}"),
        other => panic!("{other:?}"),
    }
}
