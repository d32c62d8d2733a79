// The exact denoiser of data distributed as N(0, S^2 I), one element at a time: the mixture
// denoiser with a single component at the origin, so with v = abar S^2 + 1 - abar
//   E[x_0 | x_t] = (sqrt(abar) S^2 / v) x_t,   eps = (sqrt(1 - abar) / v) x_t,
// written as the sampler's mean type wants (as mixture_output.wgsl does). It reads x_t and writes
// model_output and nothing else, so its cost is one read and one write per element: the cheapest
// honest model, used to show the sampling loop's own overhead (`ddpm bench`, benches/).
// Prepended with common.wgsl and philox.wgsl. Host: src/gpu/sampling/gaussian_denoiser.rs; CPU twin:
// src/cpu/sampling/gaussian_denoiser.rs; test: tests/gaussian_denoiser.rs.

// `num_points` is unused (always 1): the struct is shared with the mixture's kernels.
@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> model_output: array<f32>;
// For fixed variance types the host binds a one-element dummy here; it is never written then.
@group(0) @binding(5) var<storage, read_write> model_var: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = params.batch * params.sample_len;
    for (var i = gid.x; i < n; i += nwg.x * WG_SIZE) {
        let c = coefs[step_index(timesteps[i / params.sample_len], params.num_timesteps)];
        let xt = x[i];
        let abar = c.sqrt_abar * c.sqrt_abar;
        let v = abar * params.data_var + c.one_minus_abar;
        var out: f32;
        switch params.mean_type {
            case MEAN_XSTART: {
                out = (c.sqrt_abar * params.data_var / v) * xt;
            }
            case MEAN_XPREV: {
                out = posterior_mean(c, (c.sqrt_abar * params.data_var / v) * xt, xt);
            }
            case MEAN_V: { // sqrt(abar) eps - sqrt(1 - abar) x_0
                out = (c.sqrt_abar * c.sqrt_one_minus_abar * (1.0 - params.data_var) / v) * xt;
            }
            default: { // MEAN_EPS
                out = (c.sqrt_one_minus_abar / v) * xt;
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
