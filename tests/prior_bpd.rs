//! GPU `prior_bpd` (+ the per-sample mean) against its f64 twin.

mod common;
use common::*;
use ddpm_wgpu::ops::{Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions, ScheduleKind, Tables};
use std::collections::BTreeMap;

#[test]
fn matches_reference_for_every_schedule_and_size() {
    let Some(ctx) = gpu() else { return };
    for kind in ScheduleKind::ALL {
        for big_t in [1, 10, 1000] {
            let tables = Tables::from_schedule(*kind, 1e-4, 0.02, big_t).unwrap();
            for shape in SHAPES {
                let c = case(
                    Op::PriorBpd,
                    &tables,
                    ModelOptions::default(),
                    LossType::Mse,
                    shape,
                    0,
                    9,
                );
                assert_case(&ctx, &c);
            }
        }
    }
}

/// x0 = +-1 exactly: the largest prior term for pixel data.
#[test]
fn extreme_pixels() {
    let Some(ctx) = gpu() else { return };
    let inputs = BTreeMap::from([(
        "x_start".into(),
        f32_array(&[2, 3], vec![1.0, -1.0, 1.0, -1.0, -1.0, -1.0]),
    )]);
    let s = OpSettings {
        step: Default::default(),
        tables: linear(1000),
        model: ModelOptions::default(),
        loss: LossType::Mse,
    };
    let (g, c) = run_both(&ctx, Op::PriorBpd, &s, &inputs);
    assert_outputs(Op::PriorBpd, &g, &c, None);
}
