//! `ddpm check`'s full matrix (every op and option on linear and cosine) passes on this adapter.

mod common;
use common::gpu;

#[test]
fn every_kernel_and_option_within_tolerance() {
    let Some(ctx) = gpu() else { return };
    let report = ddpm_wgpu::check::run_all(&ctx, 0).unwrap();
    assert!(
        report.rows.len() > 400,
        "the matrix shrank: {} rows",
        report.rows.len()
    );
    assert!(report.all_pass(), "{}", report.table());
}

#[test]
fn every_kernel_and_option_within_tolerance_other_seed() {
    let Some(ctx) = gpu() else { return };
    let report = ddpm_wgpu::check::run_all(&ctx, 12345).unwrap();
    assert!(report.all_pass(), "{}", report.table());
}
