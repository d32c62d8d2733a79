//! GPU `training_losses` against its f64 twin for mse and kl and every mean and variance type.

mod common;
use common::*;
use ddpm_wgpu::ops::{self, Op, OpSettings};
use ddpm_wgpu::{Error, LossType, MeanType, ModelOptions, VarType};

fn options() -> Vec<(ModelOptions, LossType)> {
    let mut v = Vec::new();
    for &loss in LossType::ALL {
        for &mean_type in MeanType::ALL {
            for &var_type in VarType::ALL {
                if loss == LossType::Mse && var_type.is_learned() {
                    continue;
                }
                // The original's training_losses uses clip_denoised = false.
                let m = ModelOptions {
                    mean_type,
                    var_type,
                    clip_denoised: false,
                    clip_range: 1.0,
                };
                v.push((m, loss));
            }
        }
    }
    v
}

#[test]
fn matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    sweep(&ctx, Op::TrainingLosses, &linear(1000), &options());
    sweep(&ctx, Op::TrainingLosses, &cosine(1000), &options());
}

/// The original asserts mse is not used with a learned variance; we return a typed error.
#[test]
fn mse_with_learned_variance_is_an_error() {
    let model = ModelOptions {
        var_type: VarType::Learned,
        ..ModelOptions::default()
    };
    let c = case(
        Op::TrainingLosses,
        &linear(10),
        model,
        LossType::Mse,
        &[2, 3],
        1,
        1,
    );
    let s = OpSettings {
        step: Default::default(),
        ..c.settings.clone()
    };
    let err = ops::run(Op::TrainingLosses, &s, &c.inputs, ops::Backend::Cpu).unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
}
