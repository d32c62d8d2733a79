//! GPU `q_mean_variance` against its f64 twin.

mod common;
use common::*;
use ddpm_wgpu::ops::Op;
use ddpm_wgpu::{LossType, ModelOptions, ScheduleKind, Tables};

#[test]
fn matches_reference_across_sizes_timesteps_and_schedules() {
    let Some(ctx) = gpu() else { return };
    let opts = [(ModelOptions::default(), LossType::Mse)];
    for kind in ScheduleKind::ALL {
        // jsd's last beta is 1: abar_{T-1} = 0, still finite for these outputs.
        let tables = Tables::from_schedule(*kind, 1e-4, 0.02, 1000).unwrap();
        sweep(&ctx, Op::QMeanVariance, &tables, &opts);
    }
}
