// One step of a linear multistep sampler (DPM-Solver, UniPC; src/sampler/) in the sampling loop,
// in place, per element: x_0 and the history value m0 from the model's output
// (multistep_model, shared/model.wgsl), m0 into the ring, the older values from it, then
// multistep_update with the row's f64-made coefficients. The pred_xstart binding holds
// [pred_xstart | the ring's `ring` slots | last], each n_elements long; x_0 is written to
// pred_xstart, xc to `last` where the row corrects. Rows are MultistepCoefs by training
// timestep. Prepended with the common prefix, philox.wgsl and shared/step_bindings.wgsl. Host:
// src/gpu/kernels/multistep_step.rs and the samplers; CPU twin:
// src/cpu/kernels/multistep_step.rs; tests: tests/dpm_solver.rs, tests/unipc.rs.

@group(0) @binding(2) var<storage, read> coefs: array<MultistepCoefs>;

// Where history value m_j of element i lives in pred_xstart (j = 0: this step's).
fn ring_at(c: MultistepCoefs, j: u32, i: u32) -> u32 {
    return ((c.ring_rows >> (8u * j)) & 0xffu) * params.n_elements + i;
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = with_model_constants(params);
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let j = i % params.sample_len;
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        var z = 0.0;
        if c.bz != 0.0 {
            z = step_noise(step, b, j, i);
        }
        let xs = x[i];
        let r0 = multistep_model(p, c, xs, model_output[i], threshold_scale(b));
        var m = vec4<f32>(r0.y, 0.0, 0.0, 0.0);
        var last = 0.0;
        let last_at = (1u + c.ring) * params.n_elements + i;
        if c.ring != 0u {
            pred_xstart[ring_at(c, 0u, i)] = r0.y;
            if c.a1 != 0.0 || c.b1 != 0.0 {
                m.y = pred_xstart[ring_at(c, 1u, i)];
            }
            if c.a2 != 0.0 || c.b2 != 0.0 {
                m.z = pred_xstart[ring_at(c, 2u, i)];
            }
            if c.a3 != 0.0 || c.b3 != 0.0 {
                m.w = pred_xstart[ring_at(c, 3u, i)];
            }
            if c.al != 0.0 {
                last = pred_xstart[last_at];
            }
        }
        let r = multistep_update(c, xs, last, m, z);
        if (c.flags & MULTISTEP_CORRECT) != 0u {
            pred_xstart[last_at] = r.y;
        }
        if j == 0u {
            next_timesteps[b] = c.next_t;
        }
        x[i] = r.x;
        if KEEP_XSTART != 0u {
            pred_xstart[i] = r0.x;
        }
    }
}
