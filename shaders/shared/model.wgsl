// The model's output -> x_0, eps, mean and variance of a reverse step, per element. Part of the
// shared prefix of every kernel (`COMMON_WGSL` in src/gpu/runtime/shaders/mod.rs). CPU twin: src/cpu/kernels/common.rs.

fn posterior_mean(c: StepCoefs, x_start: f32, x_t: f32) -> f32 {
    return c.posterior_mean_coef1 * x_start + c.posterior_mean_coef2 * x_t;
}

struct MeanVar {
    mean: f32,
    variance: f32,
    log_variance: f32,
    pred_xstart: f32,
}

// x_0 as the model's output predicts it at row c, before any clipping.
fn predict_xstart(p: ElementParams, c: StepCoefs, x: f32, model_output: f32) -> f32 {
    switch p.mean_type {
        case MEAN_XPREV: {
            return c.recip_coef1 * model_output - c.coef2_over_coef1 * x;
        }
        case MEAN_XSTART: {
            return model_output;
        }
        case MEAN_V: {
            return c.sqrt_abar * x - c.sqrt_one_minus_abar * model_output;
        }
        default: { // MEAN_EPS
            return c.sqrt_recip_abar * x - c.sqrt_recipm1_abar * model_output;
        }
    }
}

// The predicted x_0 as a step uses it: with THRESHOLD, clamped to [-s, s] and divided by s, the
// sample's dynamic threshold (diffusers' thresholding); else clipped to [-R, R] when asked.
fn process_xstart(p: ElementParams, x0: f32, s: f32) -> f32 {
    if THRESHOLD != 0u {
        return clamp(x0, -s, s) / s;
    }
    if p.clip_denoised != 0u {
        return clamp(x0, -p.clip_range, p.clip_range);
    }
    return x0;
}

// p_mean_variance for one element. `model_var` is read only by the learned variance types; `s`
// only with THRESHOLD.
fn p_mean_variance_scaled(
    p: ElementParams, c: StepCoefs, x: f32, model_output: f32, model_var: f32, s: f32
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
    r.pred_xstart = process_xstart(p, predict_xstart(p, c, x, model_output), s);
    if p.mean_type == MEAN_XPREV {
        r.mean = model_output;
    } else {
        r.mean = posterior_mean(c, r.pred_xstart, x);
    }
    return r;
}

// p_mean_variance for one element, without thresholding.
fn p_mean_variance_elem(
    p: ElementParams, c: StepCoefs, x: f32, model_output: f32, model_var: f32
) -> MeanVar {
    return p_mean_variance_scaled(p, c, x, model_output, model_var, 1.0);
}

// One reverse step of four elements of one sample at row c: x_{t-1} = mean + exp(0.5 logvar) z
// per element, z already zero where no noise is added (t == 0), and pred_xstart. Shared by the
// vec4 kernels of p_sample and the sampling loop, which differ only in where z comes from; `s` is
// the sample's dynamic threshold (read only with THRESHOLD).
struct Step4 {
    sample: vec4<f32>,
    pred_xstart: vec4<f32>,
}

fn p_sample4(
    p: ElementParams, c: StepCoefs, x: vec4<f32>, model_output: vec4<f32>, model_var: vec4<f32>,
    z: vec4<f32>, s: f32
) -> Step4 {
    var r: Step4;
    for (var e = 0u; e < 4u; e++) {
        let m = p_mean_variance_scaled(p, c, x[e], model_output[e], model_var[e], s);
        r.sample[e] = m.mean + exp(0.5 * m.log_variance) * z[e];
        r.pred_xstart[e] = m.pred_xstart;
    }
    return r;
}

// One DDIM step of one element at row c (forward or inverse, by the row): x_0 and eps from the
// model's output as MEAN_TYPE says (eps, xstart or v), x_0 processed as process_xstart says, eps
// re-derived from it with CLIPPED_EPS, then sqrt(abar_target) x_0 + direction eps + sigma z.
// Returns (the new x, pred_xstart).
fn ddim_elem(p: ElementParams, c: DdimCoefs, x: f32, model_output: f32, s: f32, z: f32) -> vec2<f32> {
    var x0: f32;
    var eps: f32;
    switch p.mean_type {
        case MEAN_XSTART: {
            x0 = model_output;
            eps = (x - c.sqrt_abar * x0) * c.recip_sqrt_one_minus_abar;
        }
        case MEAN_V: {
            x0 = c.sqrt_abar * x - c.sqrt_one_minus_abar * model_output;
            eps = c.sqrt_abar * model_output + c.sqrt_one_minus_abar * x;
        }
        default: { // MEAN_EPS
            x0 = c.sqrt_recip_abar * x - c.sqrt_recipm1_abar * model_output;
            eps = model_output;
        }
    }
    let x0p = process_xstart(p, x0, s);
    if CLIPPED_EPS != 0u {
        eps = (x - c.sqrt_abar * x0p) * c.recip_sqrt_one_minus_abar;
    }
    return vec2<f32>(c.sqrt_abar_target * x0p + c.direction * eps + c.sigma * z, x0p);
}

// A multistep step's model read for one element: (x_0 after clipping or thresholding, the
// history value m0): x_0, or with MULTISTEP_EPS_HISTORY eps as diffusers' DPM-Solver and UniPC
// form it (straight from the output; from the processed x_0 where x_0 was clipped or
// thresholded); with MULTISTEP_OUTPUT_HISTORY the model's output itself.
fn multistep_model(p: ElementParams, c: MultistepCoefs, x: f32, model_output: f32, s: f32) -> vec2<f32> {
    var x0: f32;
    var eps: f32;
    switch p.mean_type {
        case MEAN_XSTART: {
            x0 = model_output;
            eps = (x - c.sqrt_abar * model_output) / c.sqrt_one_minus_abar;
        }
        case MEAN_V: {
            x0 = c.sqrt_abar * x - c.sqrt_one_minus_abar * model_output;
            eps = c.sqrt_abar * model_output + c.sqrt_one_minus_abar * x;
        }
        default: { // MEAN_EPS
            x0 = c.sqrt_recip_abar * x - c.sqrt_recipm1_abar * model_output;
            eps = model_output;
        }
    }
    let m0 = process_xstart(p, x0, s);
    if (c.flags & MULTISTEP_OUTPUT_HISTORY) != 0u {
        return vec2<f32>(m0, model_output);
    }
    if (c.flags & MULTISTEP_EPS_HISTORY) == 0u {
        return vec2<f32>(m0, m0);
    }
    if THRESHOLD != 0u || p.clip_denoised != 0u {
        eps = (x - c.sqrt_abar * m0) / c.sqrt_one_minus_abar;
    }
    return vec2<f32>(m0, eps);
}

// A multistep step's update for one element: (the new x, xc) from x, `last` and the history
// values m (m0 this step's; m1..m3 older, read only where their coefficient is not 0), and the
// normal z. xc is x without MULTISTEP_CORRECT.
fn multistep_update(c: MultistepCoefs, x: f32, last: f32, m: vec4<f32>, z: f32) -> vec2<f32> {
    var xc = x;
    if (c.flags & MULTISTEP_CORRECT) != 0u {
        xc = 0.0;
        if c.ax != 0.0 {
            xc += c.ax * x;
        }
        if c.al != 0.0 {
            xc += c.al * last;
        }
        xc += c.a0 * m.x;
        if c.a1 != 0.0 {
            xc += c.a1 * m.y;
        }
        if c.a2 != 0.0 {
            xc += c.a2 * m.z;
        }
        if c.a3 != 0.0 {
            xc += c.a3 * m.w;
        }
    }
    var r = c.bx * xc + c.b0 * m.x;
    if c.b1 != 0.0 {
        r += c.b1 * m.y;
    }
    if c.b2 != 0.0 {
        r += c.b2 * m.z;
    }
    if c.b3 != 0.0 {
        r += c.b3 * m.w;
    }
    if c.bz != 0.0 {
        r += c.bz * z;
    }
    return vec2<f32>(r, xc);
}
