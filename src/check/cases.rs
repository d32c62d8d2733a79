//! The check's cases: seeded inputs for every op and the option sweeps.

use super::inputs::inputs;
use super::{Case, Gen};
use crate::error::Result;
use crate::ops::{Op, OpSettings};
use crate::options::{LossType, MeanType, ModelOptions, VarType};
use crate::schedule::{ScheduleKind, Tables};

/// Every op and option combination the check covers.
pub fn cases(seed: u64) -> Result<Vec<Case>> {
    let mut g = Gen::new(seed);
    let linear = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
    let cosine = Tables::from_schedule(ScheduleKind::Cosine, 1e-4, 0.02, 1000)?;
    let schedules = [("linear", &linear), ("cosine", &cosine)];
    // 6 samples of 105 elements: 630 in all, not a multiple of the 256-wide workgroup.
    let shape = [6usize, 3, 5, 7];
    let mut out = Vec::new();
    let mut push = |g: &mut Gen,
                    op: Op,
                    tables: &Tables,
                    sched: &str,
                    model: ModelOptions,
                    loss: LossType,
                    label: String| {
        out.push(Case {
            op,
            inputs: inputs(g, op, &model, tables, &shape),
            settings: OpSettings::new(tables.clone(), model, loss),
            label: format!("{sched} {label}").trim().to_string(),
        });
    };
    for (sched, tb) in schedules {
        for op in Op::ALL.iter().copied() {
            let base = ModelOptions {
                clip_denoised: op.default_clip_denoised(),
                clip_range: 1.0,
                ..ModelOptions::default()
            };
            match op {
                Op::PMeanVariance | Op::PSample | Op::VbTermsBpd => {
                    for &mean_type in MeanType::ALL {
                        for &var_type in VarType::ALL {
                            for clip_denoised in [true, false] {
                                let model = ModelOptions {
                                    mean_type,
                                    var_type,
                                    clip_denoised,
                                    clip_range: 1.0,
                                };
                                let label = format!("{mean_type} {var_type} clip={clip_denoised}");
                                push(&mut g, op, tb, sched, model, LossType::Mse, label);
                            }
                        }
                    }
                }
                Op::TrainingLosses => {
                    for &loss in LossType::ALL {
                        for &mean_type in MeanType::ALL {
                            for &var_type in VarType::ALL {
                                if loss == LossType::Mse && var_type.is_learned() {
                                    continue; // the original asserts this away
                                }
                                let model = ModelOptions {
                                    mean_type,
                                    var_type,
                                    ..base
                                };
                                let label = format!("{loss} {mean_type} {var_type}");
                                push(&mut g, op, tb, sched, model, loss, label);
                            }
                        }
                    }
                }
                Op::NormalKl | Op::DiscretizedGaussianLogLikelihood if sched != "linear" => {}
                // The DDIM steps get their own sweep below.
                Op::DdimStep | Op::DdimReverseStep => {}
                _ => push(&mut g, op, tb, sched, base, LossType::Mse, String::new()),
            }
        }
    }
    for (sched, tb) in schedules {
        out.extend(super::step_cases::ddim_cases(&mut g, sched, tb, &shape)?);
    }
    out.extend(super::step_cases::respaced_cases(&mut g, &linear, &shape)?);
    out.extend(super::step_cases::threshold_cases(&mut g, &linear, &shape)?);
    Ok(out)
}
