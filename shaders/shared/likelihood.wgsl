// KL, the discretized decoder likelihood and the vb term, per element. Part of the shared prefix
// of every kernel (`COMMON_WGSL` in src/gpu/runtime/shaders/mod.rs). CPU twin: src/cpu/kernels/common.rs.

// e^d - 1 - d without cancellation: where the direct form would lose digits (|d| < 2) the series
// d^2/2 (1 + d/3 (1 + d/4 (... (1 + d/16)))), whose truncation is below 1e-8 relative there.
fn expm1_minus_x(d: f32) -> f32 {
    if abs(d) < 2.0 {
        var s = 1.0;
        for (var k = 16u; k >= 3u; k = k - 1u) {
            s = 1.0 + d * s / f32(k);
        }
        return 0.5 * d * d * s;
    }
    return exp(d) - 1.0 - d;
}

// e^d - 1, accurate for small d (WGSL has no expm1).
fn expm1(d: f32) -> f32 {
    return d + expm1_minus_x(d);
}

// KL(N(m1, e^lv1) || N(m2, e^lv2)) in nats, given dm = m1 - m2. The original's
// -1 + lv2 - lv1 + e^(lv1 - lv2) is e^d - 1 - d with d = lv1 - lv2: both summands are >= 0, so
// nothing cancels.
fn normal_kl_dm(dm: f32, logvar1: f32, logvar2: f32) -> f32 {
    return 0.5 * (expm1_minus_x(logvar1 - logvar2) + dm * dm * exp(-logvar2));
}

fn normal_kl_elem(mean1: f32, logvar1: f32, mean2: f32, logvar2: f32) -> f32 {
    return normal_kl_dm(mean1 - mean2, logvar1, logvar2);
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// The tanh argument of the original's approx_standard_normal_cdf.
fn cdf_arg(y: f32) -> f32 {
    return SQRT_2_OVER_PI * (y + 0.044715 * y * y * y);
}

// 0.5 (1 + tanh(a)) is sigmoid(2a). We never call WGSL tanh (it returns NaN for large arguments
// on some implementations); the clamp keeps exp finite, and sigmoid(+-80) is already 0 / 1 to
// well below the 1e-12 floor the log-likelihood applies.
fn sigmoid(z: f32) -> f32 {
    return 1.0 / (1.0 + exp(-clamp(z, -80.0, 80.0)));
}

// log P(x's 8-bit bin) under N(mean, e^(2 log_scale)), with open edge bins below -0.999 and above
// 0.999, floored at 1e-12 as in the original. The bin mass cdf(a+) - cdf(a-) is formed without
// cancellation: for a bin narrow against the scale (2 (a+ - a-) < 1) as
// sigmoid(2a-) sigmoid(-2a+) expm1(2 (a+ - a-)), an identity; otherwise from the tails on the
// side away from the mean, where the smaller one is at most e^-1 of the larger.
fn discretized_gaussian_log_likelihood_elem(
    p: ElementParams, x: f32, mean: f32, log_scale: f32
) -> f32 {
    let inv_stdv = exp(-log_scale);
    let centered = x - mean;
    // (centered +- hi) is exact where it is small (Sterbenz), so adding lo then keeps the digits.
    let y_plus = inv_stdv * ((centered + p.bin_half_width_hi) + p.bin_half_width_lo);
    let y_min = inv_stdv * ((centered - p.bin_half_width_hi) - p.bin_half_width_lo);
    let a_plus = cdf_arg(y_plus);
    let a_min = cdf_arg(y_min);
    if x < -0.999 {
        return log(max(sigmoid(2.0 * a_plus), 1e-12));
    }
    if x > 0.999 {
        return log(max(sigmoid(-2.0 * a_min), 1e-12)); // 1 - cdf(a-)
    }
    // a+ - a- from y+ - y- = 2 inv_stdv / 255 exactly, not from the two rounded y's.
    let dy = inv_stdv * (2.0 * p.bin_half_width_hi);
    let da = SQRT_2_OVER_PI * (dy + 0.044715 * dy * (y_plus * y_plus + y_plus * y_min + y_min * y_min));
    var mass: f32;
    if 2.0 * da < 1.0 {
        mass = sigmoid(2.0 * a_min) * sigmoid(-2.0 * a_plus) * expm1(2.0 * da);
    } else if a_min >= 0.0 {
        mass = sigmoid(-2.0 * a_min) - sigmoid(-2.0 * a_plus);
    } else if a_plus <= 0.0 {
        mass = sigmoid(2.0 * a_plus) - sigmoid(2.0 * a_min);
    } else {
        mass = 1.0 - sigmoid(-2.0 * a_plus) - sigmoid(2.0 * a_min);
    }
    return log(max(mass, 1e-12));
}

// One element of _vb_terms_bpd before the mean, in nats: the decoder NLL at t = 0, else
// KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)). `m` is p_mean_variance at this element.
fn vb_term_elem(p: ElementParams, step: u32, c: StepCoefs, x_start: f32, x_t: f32, m: MeanVar) -> f32 {
    if step == 0u {
        return -discretized_gaussian_log_likelihood_elem(p, x_start, m.mean, 0.5 * m.log_variance);
    }
    // For eps / xstart both means are coef1 x0 + coef2 x_t, so their difference is
    // coef1 (x_0 - pred_xstart) exactly; subtracting the two rounded means instead loses all
    // digits where coef1 is small (t near T: coef1 ~ 1e-4 against coef2 ~ 1).
    var dm: f32;
    if p.mean_type == MEAN_XPREV {
        dm = posterior_mean(c, x_start, x_t) - m.mean;
    } else {
        dm = c.posterior_mean_coef1 * (x_start - m.pred_xstart);
    }
    return normal_kl_dm(dm, c.posterior_log_variance_clipped, m.log_variance);
}
