// Mixture denoiser, stage 3: with mu = sum_m r_m d_m and v = abar S^2 + 1 - abar,
//   E[x_0 | x_t] = ((1 - abar) / v) mu + (sqrt(abar) S^2 / v) x_t,
//   eps = (x_t - sqrt(abar) E) / sqrt(1 - abar) = sqrt(1 - abar) (x_t - sqrt(abar) mu) / v,
// (the second form has no cancellation), written as the sampler's mean type wants: eps, x_0, or
// the posterior mean coef1 E + coef2 x_t. For learned variance types it also writes model_var:
// log beta tilde (learned) or -1 (learned-range), which equal the fixedsmall choice.
// Prepended with common.wgsl and philox.wgsl. Host: src/gpu/mixture_denoiser.rs; CPU twin:
// src/cpu/mixture_denoiser.rs.

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> points: array<f32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;
@group(0) @binding(6) var<storage, read_write> model_output: array<f32>;
@group(0) @binding(7) var<storage, read_write> model_var: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = params.batch * params.sample_len;
    for (var i = gid.x; i < n; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let j = i % params.sample_len;
        let c = coefs[step_index(timesteps[b], params.num_timesteps)];
        var mu = 0.0;
        for (var m = 0u; m < params.num_points; m = m + 1u) {
            let r = weights[b * params.num_points + m];
            if r != 0.0 { // far points underflow to exactly 0: skip their reads
                mu = mu + r * points[m * params.sample_len + j];
            }
        }
        let xt = x[i];
        let abar = c.sqrt_abar * c.sqrt_abar;
        let v = abar * params.data_var + c.one_minus_abar;
        var out: f32;
        switch params.mean_type {
            case MEAN_XSTART: {
                out = (c.one_minus_abar / v) * mu + (c.sqrt_abar * params.data_var / v) * xt;
            }
            case MEAN_XPREV: {
                let e = (c.one_minus_abar / v) * mu + (c.sqrt_abar * params.data_var / v) * xt;
                out = posterior_mean(c, e, xt);
            }
            default: { // MEAN_EPS
                out = c.sqrt_one_minus_abar * (xt - c.sqrt_abar * mu) / v;
            }
        }
        model_output[i] = out;
        if params.var_type == VAR_LEARNED {
            model_var[i] = c.posterior_log_variance_clipped;
        } else if params.var_type == VAR_LEARNED_RANGE {
            model_var[i] = -1.0;
        }
    }
}
