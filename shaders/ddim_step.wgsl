// One DDIM step of the sampling loop (forward, or inverse by its rows), in place:
// x <- sqrt(abar_target) x_0 + sqrt(1 - abar_target - sigma^2) eps + sigma z, x_0 and eps from
// the model's output (ddim_elem in shared/model.wgsl); noise only where the row's sigma is not 0
// (eta > 0). Rows are DdimCoefs by training timestep. Prepended with the common prefix,
// philox.wgsl and shared/step_bindings.wgsl. Host: src/gpu/kernels/ddim_step.rs, src/sampler/ddim.rs;
// CPU twin: src/cpu/kernels/ddim_step.rs; test: tests/ddim_step.rs.

@group(0) @binding(2) var<storage, read> coefs: array<DdimCoefs>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = with_model_constants(params);
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let j = i % params.sample_len;
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        var z = 0.0;
        if c.sigma != 0.0 {
            z = step_noise(step, b, j, i);
        }
        let r = ddim_elem(p, c, x[i], model_output[i], threshold_scale(b), z);
        if j == 0u {
            next_timesteps[b] = c.next_t;
        }
        x[i] = r.x;
        pred_xstart[i] = r.y;
    }
}
