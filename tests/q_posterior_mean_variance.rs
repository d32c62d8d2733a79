//! GPU `q_posterior_mean_variance` against its f64 twin.

mod common;
use common::*;
use ddpm_wgpu::ops::Op;
use ddpm_wgpu::{LossType, ModelOptions, ScheduleKind, Tables};

#[test]
fn matches_reference_across_sizes_timesteps_and_schedules() {
    let Some(ctx) = gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    for kind in ScheduleKind::ALL {
        let tables = Tables::from_schedule(*kind, 1e-4, 0.02, 1000).unwrap();
        sweep(&ctx, Op::QPosteriorMeanVariance, &tables, &opts);
    }
    // T = 1: the clipped log-variance falls back to log(beta_0).
    sweep(&ctx, Op::QPosteriorMeanVariance, &linear(1), &opts);
}
