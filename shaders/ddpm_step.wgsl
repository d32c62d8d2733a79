// One ancestral (DDPM) step of the sampling loop, in place: x <- mean + exp(0.5 logvar) z with
// the mean and variance of p_mean_variance at the chain's row, pred_xstart kept; no noise at the
// chain's last step (next_t == t). Rows are StepCoefs of the (respaced) chain by training
// timestep. Prepended with the common prefix, philox.wgsl and shared/step_bindings.wgsl.
// Host: src/sampler/ddpm.rs (rows) and src/gpu/sampling/sample_loop/; CPU twin: src/cpu/kernels/ddpm_step.rs;
// test: tests/ddpm_step.rs, tests/sample_loop.rs.

@group(0) @binding(2) var<storage, read> coefs: array<StepCoefs>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = with_model_constants(params); // options as pipeline constants (common.wgsl)
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let j = i % params.sample_len; // the element within sample b
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        let m = p_mean_variance_scaled(p, c, x[i], model_output[i], model_var[i], threshold_scale(b));
        var z = 0.0; // no noise at the last step
        if c.next_t != step {
            z = step_noise(step, b, j, i);
        }
        if j == 0u {
            next_timesteps[b] = c.next_t;
        }
        x[i] = m.mean + exp(0.5 * m.log_variance) * z;
        pred_xstart[i] = m.pred_xstart;
    }
}
