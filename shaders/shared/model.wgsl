// The model's output -> x_0, eps, mean and variance of a reverse step, per element. Part of the
// shared prefix of every kernel (`COMMON_WGSL` in src/gpu/kernels.rs). CPU twin: src/cpu/common.rs.

fn posterior_mean(c: StepCoefs, x_start: f32, x_t: f32) -> f32 {
    return c.posterior_mean_coef1 * x_start + c.posterior_mean_coef2 * x_t;
}

struct MeanVar {
    mean: f32,
    variance: f32,
    log_variance: f32,
    pred_xstart: f32,
}

// p_mean_variance for one element. `model_var` is read only by the learned variance types.
fn p_mean_variance_elem(
    p: ElementParams, c: StepCoefs, x: f32, model_output: f32, model_var: f32
) -> MeanVar {
    var r: MeanVar;
    switch p.var_type {
        case VAR_FIXEDSMALL: {
            r.variance = c.posterior_variance;
            r.log_variance = c.posterior_log_variance_clipped;
        }
        case VAR_FIXEDLARGE: {
            r.variance = c.beta;
            r.log_variance = c.fixedlarge_log_variance;
        }
        case VAR_LEARNED: {
            r.log_variance = model_var;
            r.variance = exp(model_var);
        }
        default: { // VAR_LEARNED_RANGE
            let frac = (model_var + 1.0) * 0.5;
            r.log_variance = frac * c.log_beta + (1.0 - frac) * c.posterior_log_variance_clipped;
            r.variance = exp(r.log_variance);
        }
    }
    var x0: f32;
    switch p.mean_type {
        case MEAN_XPREV: {
            x0 = c.recip_coef1 * model_output - c.coef2_over_coef1 * x;
        }
        case MEAN_XSTART: {
            x0 = model_output;
        }
        case MEAN_V: {
            x0 = c.sqrt_abar * x - c.sqrt_one_minus_abar * model_output;
        }
        default: { // MEAN_EPS
            x0 = c.sqrt_recip_abar * x - c.sqrt_recipm1_abar * model_output;
        }
    }
    if p.clip_denoised != 0u {
        x0 = clamp(x0, -p.clip_range, p.clip_range);
    }
    r.pred_xstart = x0;
    if p.mean_type == MEAN_XPREV {
        r.mean = model_output;
    } else {
        r.mean = posterior_mean(c, x0, x);
    }
    return r;
}

// One reverse step of four elements of one sample at row c: x_{t-1} = mean + exp(0.5 logvar) z
// per element, z already zero where no noise is added (t == 0), and pred_xstart. Shared by the
// vec4 kernels of p_sample and the sampling loop, which differ only in where z comes from.
struct Step4 {
    sample: vec4<f32>,
    pred_xstart: vec4<f32>,
}

fn p_sample4(
    p: ElementParams, c: StepCoefs, x: vec4<f32>, model_output: vec4<f32>, model_var: vec4<f32>,
    z: vec4<f32>
) -> Step4 {
    var r: Step4;
    for (var e = 0u; e < 4u; e++) {
        let m = p_mean_variance_elem(p, c, x[e], model_output[e], model_var[e]);
        r.sample[e] = m.mean + exp(0.5 * m.log_variance) * z[e];
        r.pred_xstart[e] = m.pred_xstart;
    }
    return r;
}
