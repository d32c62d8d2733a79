//! The check's sweeps of the stepping ops: DDIM forward and inverse over their options, and the
//! respaced chains (first, a middle and the last kept step).

use super::inputs::inputs;
use super::{Case, Gen};
use crate::error::Result;
use crate::npy::{NpyArray, NpyData};
use crate::ops::{Op, OpSettings, StepSettings};
use crate::options::{LossType, MeanType, ModelOptions};
use crate::sampler::{DdimOptions, Threshold};
use crate::schedule::Tables;
use crate::spacing::{timesteps, Spacing};

const DDIM_MEANS: [MeanType; 3] = [MeanType::Eps, MeanType::Xstart, MeanType::V];

fn case(
    g: &mut Gen,
    op: Op,
    tables: &Tables,
    model: ModelOptions,
    step: StepSettings,
    shape: &[usize],
    label: String,
) -> Case {
    let mut inputs = inputs(g, op, &model, tables, shape);
    if op == Op::DdimStep && step.ddim.eta > 0.0 {
        let n = shape.iter().product();
        inputs.insert(
            "noise".into(),
            NpyArray {
                shape: shape.to_vec(),
                data: NpyData::F32(g.vec(n, Gen::normal)),
            },
        );
    }
    if let Some(kept) = &step.respace {
        // The first, last and a middle kept step, then others: t must be kept.
        let fixed = [kept[kept.len() - 1], kept[0], kept[kept.len() / 2]];
        let t: Vec<i64> = (0..shape[0])
            .map(|b| fixed.get(b).copied().unwrap_or(kept[b % kept.len()]) as i64)
            .collect();
        inputs.insert(
            "t".into(),
            NpyArray {
                shape: vec![t.len()],
                data: NpyData::I64(t),
            },
        );
    }
    Case {
        op,
        inputs,
        settings: OpSettings {
            step,
            ..OpSettings::new(tables.clone(), model, LossType::Mse)
        },
        label,
    }
}

/// ddim-step over mean types, clipping, eta 0 / 0.5 / 1, clipped eps and both final abars;
/// ddim-reverse-step over mean types and clipping.
pub(super) fn ddim_cases(
    g: &mut Gen,
    sched: &str,
    tables: &Tables,
    shape: &[usize],
) -> Result<Vec<Case>> {
    let mut out = Vec::new();
    let variants = [
        (0.0, false, true),
        (1.0, false, true),
        (0.5, true, true),
        (0.0, false, false),
    ];
    for mean_type in DDIM_MEANS {
        for clip_denoised in [true, false] {
            let model = ModelOptions {
                mean_type,
                clip_denoised,
                ..ModelOptions::default()
            };
            for (eta, clipped, one) in variants {
                let ddim = DdimOptions {
                    eta,
                    use_clipped_model_output: clipped,
                    set_alpha_to_one: one,
                };
                let step = StepSettings {
                    ddim,
                    ..StepSettings::default()
                };
                let label = format!(
                    "{sched} {mean_type} clip={clip_denoised} eta={eta} clipped_eps={clipped} \
                     alpha_one={one}"
                );
                out.push(case(g, Op::DdimStep, tables, model, step, shape, label));
            }
            for clipped in [false, true] {
                let label =
                    format!("{sched} {mean_type} clip={clip_denoised} clipped_eps={clipped}");
                let step = StepSettings {
                    ddim: DdimOptions {
                        use_clipped_model_output: clipped,
                        ..DdimOptions::default()
                    },
                    ..StepSettings::default()
                };
                out.push(case(
                    g,
                    Op::DdimReverseStep,
                    tables,
                    model,
                    step,
                    shape,
                    label,
                ));
            }
        }
    }
    Ok(out)
}

/// p-mean-variance, p-sample and the DDIM steps on chains respaced by every spacing.
pub(super) fn respaced_cases(g: &mut Gen, tables: &Tables, shape: &[usize]) -> Result<Vec<Case>> {
    let big_t = tables.num_timesteps();
    let spacings = [
        ("leading:10+1", 10, Spacing::Leading { steps_offset: 1 }),
        ("linspace:7", 7, Spacing::Linspace),
        ("trailing:13", 13, Spacing::Trailing),
        ("improved:10,5", 0, Spacing::Improved("10,5".into())),
    ];
    let mut out = Vec::new();
    for (name, n, spacing) in spacings {
        let mut kept = timesteps(big_t, n, &spacing)?;
        kept.reverse();
        for op in [
            Op::PMeanVariance,
            Op::PSample,
            Op::DdimStep,
            Op::DdimReverseStep,
        ] {
            let model = ModelOptions {
                clip_denoised: true,
                ..ModelOptions::default()
            };
            let step = StepSettings {
                respace: Some(kept.clone()),
                ddim: DdimOptions {
                    eta: if op == Op::DdimStep { 1.0 } else { 0.0 },
                    ..DdimOptions::default()
                },
                ..StepSettings::default()
            };
            let label = format!("linear respace {name}");
            out.push(case(g, op, tables, model, step, shape, label));
        }
    }
    Ok(out)
}

/// p-sample and ddim-step with dynamic thresholding: diffusers' ratio with a max above 1 (so
/// that the quantile, not the floor of 1, sets s), and a lower ratio, for the mean types that
/// predict x_0.
pub(super) fn threshold_cases(g: &mut Gen, tables: &Tables, shape: &[usize]) -> Result<Vec<Case>> {
    let mut out = Vec::new();
    for (ratio, max) in [(0.995, 1.5), (0.9, 3.0)] {
        for mean_type in DDIM_MEANS {
            let model = ModelOptions {
                mean_type,
                ..ModelOptions::default()
            };
            for op in [Op::PSample, Op::DdimStep] {
                let step = StepSettings {
                    threshold: Some(Threshold { ratio, max }),
                    ..StepSettings::default()
                };
                let label = format!("linear {mean_type} threshold {ratio} max {max}");
                out.push(case(g, op, tables, model, step, shape, label));
            }
        }
    }
    Ok(out)
}
