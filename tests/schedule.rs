//! Beta schedules and derived tables against values computed by hand from the original's
//! formulas, plus validation. Needs no GPU.

use ddpm_wgpu::schedule::{beta_schedule, linspace, COSINE_MAX_BETA};
use ddpm_wgpu::{Error, ScheduleKind, Tables};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-15 * b.abs().max(1e-300)
}

/// For values formed as 1 - (1 - beta): f64's cancellation leaves ~1e-13 relative.
fn close_1m(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs()
}

#[test]
fn linspace_matches_numpy_endpoints_and_steps() {
    assert_eq!(linspace(1e-4, 0.02, 1), vec![1e-4]);
    assert!(linspace(0.0, 1.0, 0).is_empty());
    let v = linspace(1e-4, 0.02, 1000);
    assert_eq!(v[0], 1e-4);
    assert_eq!(v[999], 0.02);
    // numpy: start + i * step with step = (stop - start) / (n - 1)
    assert_eq!(v[500], 1e-4 + 500.0 * ((0.02 - 1e-4) / 999.0));
}

#[test]
fn named_schedules() {
    let b = |k| beta_schedule(k, 1e-4, 0.02, 10).unwrap();
    assert!(close(b(ScheduleKind::Quad)[9], 0.02));
    assert!(close(b(ScheduleKind::Quad)[0], 1e-4));
    let mid = (1e-4f64.sqrt() + 5.0 * (0.02f64.sqrt() - 1e-4f64.sqrt()) / 9.0).powi(2);
    assert!(close(b(ScheduleKind::Quad)[5], mid));
    assert_eq!(b(ScheduleKind::Const), vec![0.02; 10]);
    let jsd = b(ScheduleKind::Jsd);
    assert!(close(jsd[0], 0.1) && close(jsd[9], 1.0) && close(jsd[8], 0.5));
    // warmup10 over T = 10: floor(1.0) = 1 warm-up step, linspace(b0, b1, 1) = [b0].
    assert_eq!(b(ScheduleKind::Warmup10)[0], 1e-4);
    assert_eq!(b(ScheduleKind::Warmup10)[1..], [0.02; 9]);
    let w50 = b(ScheduleKind::Warmup50);
    assert_eq!(w50[0], 1e-4);
    assert_eq!(w50[4], 0.02); // last warm-up point is beta_end itself
    assert_eq!(w50[5..], [0.02; 5]);
}

/// The cosine schedule divides s = i / T in floating point: a known port's integer division
/// gives beta = 0 everywhere but the last step.
#[test]
fn cosine_is_nonzero_and_capped() {
    let b = beta_schedule(ScheduleKind::Cosine, 0.0, 0.0, 1000).unwrap();
    assert!(b.iter().all(|&x| x > 0.0 && x <= COSINE_MAX_BETA));
    assert_eq!(b[999], COSINE_MAX_BETA);
    let abar = |s: f64| {
        ((s + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    assert!(close(b[0], 1.0 - abar(0.001) / abar(0.0)));
    assert!(b[0] > 1e-5 && b[0] < 1e-4, "cosine beta_0 = {}", b[0]);
}

#[test]
fn derived_tables_follow_gaussian_diffusion2() {
    let tb = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let t = 500;
    let abar: f64 = tb.betas[..=t].iter().map(|b| 1.0 - b).product();
    let abar_prev: f64 = tb.betas[..t].iter().map(|b| 1.0 - b).product();
    assert!((tb.alphas_cumprod[t] - abar).abs() < 1e-14);
    assert_eq!(tb.alphas_cumprod_prev[0], 1.0);
    assert!((tb.alphas_cumprod_prev[t] - abar_prev).abs() < 1e-14);
    assert!(close(
        tb.sqrt_one_minus_alphas_cumprod[t],
        (1.0 - tb.alphas_cumprod[t]).sqrt()
    ));
    assert!(close(
        tb.log_one_minus_alphas_cumprod[t],
        (1.0 - tb.alphas_cumprod[t]).ln()
    ));
    assert!(close(
        tb.sqrt_recipm1_alphas_cumprod[t],
        (1.0 / tb.alphas_cumprod[t] - 1.0).sqrt()
    ));
    let pv = tb.betas[t] * (1.0 - abar_prev) / (1.0 - abar);
    assert!((tb.posterior_variance[t] - pv).abs() < 1e-15);
    assert_eq!(tb.posterior_variance[0], 0.0);
    assert_eq!(
        tb.posterior_log_variance_clipped[0],
        tb.posterior_variance[1].ln()
    );
    assert_eq!(tb.fixedlarge_log_variance[0], tb.posterior_variance[1].ln());
    assert_eq!(tb.fixedlarge_log_variance[t], tb.betas[t].ln());
    assert!(close(
        tb.posterior_mean_coef1[t],
        tb.betas[t] * tb.alphas_cumprod_prev[t].sqrt() / (1.0 - tb.alphas_cumprod[t])
    ));
    assert!(close(
        tb.posterior_mean_coef2[t],
        (1.0 - tb.alphas_cumprod_prev[t]) * tb.alphas[t].sqrt() / (1.0 - tb.alphas_cumprod[t])
    ));
    // At t = 0 the posterior mean is x_0 itself: coef1 = 1, coef2 = 0.
    assert!(close_1m(tb.posterior_mean_coef1[0], 1.0));
    assert_eq!(tb.posterior_mean_coef2[0], 0.0);
}

/// 1 - abar at t = 0 is beta_0 = 1e-4; computing it in f32 from abar would keep only ~3
/// digits. The f64 table keeps all of them.
#[test]
fn one_minus_abar_is_kept_in_f64() {
    let tb = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    assert!(close_1m(tb.one_minus_alphas_cumprod[0], 1e-4));
    let f32_way = 1.0f32 - tb.alphas_cumprod[0] as f32;
    assert!(
        ((f32_way as f64) - 1e-4).abs() > 1e-10,
        "the f32 route really does lose digits"
    );
}

#[test]
fn invalid_schedules_are_errors() {
    assert!(matches!(
        beta_schedule(ScheduleKind::Linear, 1e-4, 0.02, 0),
        Err(Error::InvalidSchedule(_))
    ));
    for bad in [
        vec![],
        vec![0.0],
        vec![-0.1],
        vec![1.5],
        vec![f64::NAN],
        vec![0.1, f64::INFINITY],
    ] {
        assert!(
            matches!(Tables::new(bad.clone()), Err(Error::InvalidSchedule(_))),
            "{bad:?} should be rejected"
        );
    }
    assert!(Tables::from_schedule(ScheduleKind::Linear, 0.0, 0.02, 10).is_err());
    assert!(Tables::from_schedule(ScheduleKind::Const, 1e-4, 1.0, 10).is_ok());
    assert!(matches!(
        "nope".parse::<ScheduleKind>(),
        Err(Error::UnknownName { .. })
    ));
}

#[test]
fn single_step_schedule_is_usable() {
    let tb = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1).unwrap();
    assert_eq!(tb.num_timesteps(), 1);
    assert_eq!(tb.posterior_log_variance_clipped[0], 1e-4f64.ln());
}

#[test]
fn sigmoid_schedule_follows_diffusers_formula() {
    let b = beta_schedule(ScheduleKind::Sigmoid, 1e-4, 0.02, 5).unwrap();
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    for (i, x) in [-6.0, -3.0, 0.0, 3.0, 6.0].into_iter().enumerate() {
        assert!(
            close(b[i], s(x) * (0.02 - 1e-4) + 1e-4),
            "beta[{i}] = {}",
            b[i]
        );
    }
    // Symmetric about the middle: sigmoid(-x) = 1 - sigmoid(x).
    assert!(close(b[2], 1e-4 + 0.5 * (0.02 - 1e-4)));
    assert!((b[0] + b[4] - (0.02 + 1e-4)).abs() < 1e-15);
}

#[test]
fn zero_terminal_snr_rescale_keeps_the_first_step_and_ends_at_pure_noise() {
    use ddpm_wgpu::schedule::rescale_zero_terminal_snr;
    for kind in [
        ScheduleKind::Linear,
        ScheduleKind::Cosine,
        ScheduleKind::Sigmoid,
    ] {
        let betas = beta_schedule(kind, 1e-4, 0.02, 1000).unwrap();
        let old = Tables::new(betas.clone()).unwrap();
        let new = Tables::new(rescale_zero_terminal_snr(&betas).unwrap()).unwrap();
        assert_eq!(new.alphas_cumprod[999], 0.0, "{kind}");
        assert_eq!(new.betas[999], 1.0, "{kind}");
        assert!(
            close_1m(new.alphas_cumprod[0], old.alphas_cumprod[0]),
            "{kind}"
        );
        // sqrt(abar) is an affine map of the old one: (s - s_last) s_0 / (s_0 - s_last).
        let (s0, sl) = (old.sqrt_alphas_cumprod[0], old.sqrt_alphas_cumprod[999]);
        for t in [1, 500, 998] {
            let want = (old.sqrt_alphas_cumprod[t] - sl) * s0 / (s0 - sl);
            assert!(
                (new.sqrt_alphas_cumprod[t] - want).abs() <= 1e-12 * want,
                "{kind} t={t}: {} vs {want}",
                new.sqrt_alphas_cumprod[t]
            );
        }
        assert!(new.alphas_cumprod.windows(2).all(|w| w[1] < w[0]));
        // eps has no x_0 at the last step; v and xstart do, and every earlier step is fine.
        assert!(new
            .check_eps_defined(ddpm_wgpu::MeanType::Eps, 999)
            .is_err());
        assert!(new.check_eps_defined(ddpm_wgpu::MeanType::Eps, 998).is_ok());
        assert!(new.check_eps_defined(ddpm_wgpu::MeanType::V, 999).is_ok());
        assert!(old.check_eps_defined(ddpm_wgpu::MeanType::Eps, 999).is_ok());
    }
    // A schedule whose abar does not fall cannot be rescaled (it would divide by zero).
    assert!(matches!(
        rescale_zero_terminal_snr(&[]),
        Err(Error::InvalidSchedule(_))
    ));
}
