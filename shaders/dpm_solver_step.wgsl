// One DPM-Solver++ step of the sampling loop (diffusers' DPMSolverMultistepScheduler, orders 1
// and 2, ODE or SDE), in place, dpm_elem (shared/model.wgsl) per element: x_0 from the model's
// output, then x <- cx x + c0 x_0 + c1 x_0_prev + cz z with the row's f64-made coefficients;
// x_0 is written to pred_xstart, where the next step reads it as x_0_prev. Rows
// are DpmCoefs by training timestep. Prepended with the common prefix, philox.wgsl and
// shared/step_bindings.wgsl. Host: src/gpu/kernels/dpm_solver_step.rs, src/sampler/dpm_solver.rs;
// CPU twin: src/cpu/kernels/dpm_solver_step.rs; test: tests/dpm_solver.rs.

@group(0) @binding(2) var<storage, read> coefs: array<DpmCoefs>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = with_model_constants(params);
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let j = i % params.sample_len;
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        var z = 0.0;
        if c.cz != 0.0 {
            z = step_noise(step, b, j, i);
        }
        let r = dpm_elem(p, c, x[i], model_output[i], pred_xstart[i], threshold_scale(b), z);
        if j == 0u {
            next_timesteps[b] = c.next_t;
        }
        x[i] = r.x;
        pred_xstart[i] = r.y;
    }
}
