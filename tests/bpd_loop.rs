//! calc_bpd_loop: GPU against the f64 CPU loop with the same noise, on the embedded digits
//! under their own mixture, and the total equal to the terms plus the prior.

mod common;
use ddpm_wgpu::cpu::sampling::bpd_loop;
use ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture;
use ddpm_wgpu::dataset::default_digits;
use ddpm_wgpu::gpu::{self, GpuTables, GpuTensor, MixtureDenoiser};
use ddpm_wgpu::tolerance::{Scale, Tolerance};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables, VarType};

#[test]
fn gpu_matches_cpu_and_terms_sum_to_total() {
    let Some(ctx) = common::gpu() else { return };
    let data = default_digits();
    let d = data.point_len();
    let eval: Vec<f32> = data.points[..4 * d].to_vec(); // four of the points
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 100).unwrap();
    for var_type in [VarType::FixedLarge, VarType::FixedSmall] {
        let model = ModelOptions {
            var_type,
            ..ModelOptions::default()
        };
        let gt = GpuTables::new(&ctx, &tables).unwrap();
        let mut den =
            MixtureDenoiser::new(&ctx, &data.points, &[data.len(), d], 0.05, model).unwrap();
        let x0 = GpuTensor::from_slice(&ctx, &[4, 16, 16, 1], &eval).unwrap();
        let g = gpu::calc_bpd_loop(&ctx, &gt, &mut den, &model, &x0, 3, &mut |_, _| {}).unwrap();
        let mix = Mixture {
            tables: &tables,
            points: &data.points,
            sample_len: d,
            data_var: 0.0025,
            model,
        };
        let c = bpd_loop::calc_bpd_loop(&tables, &model, &mix, &eval, 4, 3).unwrap();
        // Per-sample means of non-negative terms: the vb terms' budget (src/check.rs) plus the
        // f32 rounding of x_t, which the denoiser amplifies near t = 0.
        let tol = Tolerance {
            abs: 1e-6,
            rel: 1e-3,
            scale: Scale::Element,
        };
        for (name, a, b) in [
            ("terms_bpd", &g.terms_bpd, &c.terms_bpd),
            ("prior_bpd", &g.prior_bpd, &c.prior_bpd),
            ("total_bpd", &g.total_bpd, &c.total_bpd),
            ("xstart_mse", &g.xstart_mse, &c.xstart_mse),
            ("eps_mse", &g.eps_mse, &c.eps_mse),
        ] {
            let cmp = tol.compare(a, b, 1, None);
            eprintln!(
                "{var_type} {name}: max rel {:e}, max abs {:e}",
                cmp.max_rel, cmp.max_abs
            );
            assert!(cmp.pass, "{var_type} {name}: {:?}", cmp.worst);
        }
        for b in 0..4 {
            let sum: f64 = g.terms_bpd[b * 100..(b + 1) * 100].iter().sum::<f64>() + g.prior_bpd[b];
            assert!((sum - g.total_bpd[b]).abs() <= 1e-12 * sum.abs());
            assert!(g.terms_bpd[b * 100..(b + 1) * 100]
                .iter()
                .all(|v| *v >= 0.0 && v.is_finite()));
        }
        eprintln!("{var_type}: total bpd {:?}", g.total_bpd);
    }
}
