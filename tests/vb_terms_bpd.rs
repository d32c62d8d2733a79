//! GPU `vb_terms_bpd` (+ the per-sample mean) against its f64 twin: every option, the decoder
//! term at t = 0, and t = T-1 where the KL is tiny.

mod common;
use common::*;
use ddpm_wgpu::ops::Op;

#[test]
fn matches_reference_for_every_option() {
    let Some(ctx) = gpu() else { return };
    sweep(&ctx, Op::VbTermsBpd, &linear(1000), &all_model_options());
    sweep(&ctx, Op::VbTermsBpd, &cosine(1000), &all_model_options());
}
