//! The predict_xstart kernel (shaders/predict_xstart.wgsl: the raw x_0 dynamic thresholding
//! takes its quantile of) against its f64 twin, every mean type, at t = 0, 1, T-1 and mixed
//! steps in one batch, on sizes that are not multiples of the workgroup.

mod common;
use common::*;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::gpu::{
    kernels::predict_xstart::predict_xstart_into, DenoiserIo, GpuSteps, GpuTables, GpuTensor,
};
use ddpm_wgpu::tolerance::{Scale, Tolerance};
use ddpm_wgpu::{MeanType, ModelOptions};

/// Two products of coefficients rounded once from f64 and f32 inputs, one sum: a few half-ulps
/// of the terms' larger magnitude, which for eps at t = T-1 (sqrt(1 / abar) ~ 156 on linear,
/// ~2e4 on cosine) exceeds the result; hence the per-sample scale.
const TOL: Tolerance = Tolerance {
    abs: 1e-30,
    rel: 1e-6,
    scale: Scale::Sample,
};

#[test]
fn gpu_matches_cpu_twin_for_every_mean_type() {
    let Some(ctx) = gpu() else { return };
    for tables in [linear(1000), cosine(1000)] {
        let gt = GpuTables::new(&ctx, &tables).unwrap();
        for &mean_type in MeanType::ALL {
            let model = ModelOptions {
                mean_type,
                ..ModelOptions::default()
            };
            for &shape in SHAPES.iter().chain(VEC4_SHAPES.iter()) {
                let n: usize = shape.iter().product();
                let batch = shape[0];
                let mut g = Gen::new(n as u64);
                let x = g.vec(n, |g| 1.5 * g.normal());
                let out = g.vec(n, Gen::normal);
                let t = mixed_steps(&tables, batch);
                let steps = GpuSteps::new(&ctx, &gt, &t).unwrap();
                let (xg, og) = (
                    GpuTensor::from_slice(&ctx, shape, &x).unwrap(),
                    GpuTensor::from_slice(&ctx, shape, &out).unwrap(),
                );
                let pred = GpuTensor::zeros(&ctx, shape).unwrap();
                let io = DenoiserIo {
                    x_t: &xg,
                    timesteps: steps.buffer(),
                    tables: &gt,
                    model_output: &og,
                    model_var: None,
                    times: None,
                };
                let mut enc = ctx.encoder();
                predict_xstart_into(&ctx, &mut enc, &model, &io, &pred).unwrap();
                ctx.submit(enc).unwrap();
                let got: Vec<f64> = pred
                    .to_vec(&ctx)
                    .unwrap()
                    .into_iter()
                    .map(f64::from)
                    .collect();
                let want = ddpm_wgpu::cpu::kernels::predict_xstart::predict_xstart(
                    &tables,
                    &model,
                    &t,
                    n / batch,
                    &x,
                    &out,
                )
                .unwrap();
                let c = TOL.compare(&got, &want, n / batch, None);
                assert!(c.pass, "{mean_type} {shape:?}: {:?}", c.worst);
            }
        }
    }
}
