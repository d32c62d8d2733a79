// One multistep step, four elements per invocation: multistep_step.wgsl's arithmetic
// (multistep_model, multistep_update) in vector form, the same operations in each lane, with vec4
// loads and stores of x, the model's output and the ring. The host picks it when sample_len is a
// multiple of 4. Prepended with the common prefix, philox.wgsl and
// shared/step_bindings_vec4.wgsl, followed by step_vec4_entry.wgsl. Host:
// src/gpu/kernels/multistep_step.rs and the samplers (src/sampler/); CPU twin:
// src/cpu/kernels/multistep_step.rs; tests: tests/dpm_solver.rs, tests/unipc.rs.

@group(0) @binding(2) var<storage, read> coefs: array<MultistepCoefs>;

// Where history value m_j of vec4 i lives in pred_xstart (j = 0: this step's).
fn ring_at4(c: MultistepCoefs, j: u32, i: u32) -> u32 {
    return ((c.ring_rows >> (8u * j)) & 0xffu) * (params.n_elements / 4u) + i;
}

// x_0 and the history values of a vec4, as multistep_model computes them per element, in vector
// arithmetic (each lane the same operations as the scalar kernel).
fn model4(p: ElementParams, c: MultistepCoefs, x: vec4<f32>, out: vec4<f32>, s: f32) -> array<vec4<f32>, 2> {
    var x0: vec4<f32>;
    var eps: vec4<f32>;
    switch p.mean_type {
        case MEAN_XSTART: {
            x0 = out;
            eps = (x - c.sqrt_abar * out) / c.sqrt_one_minus_abar;
        }
        case MEAN_V: {
            x0 = c.sqrt_abar * x - c.sqrt_one_minus_abar * out;
            eps = c.sqrt_abar * out + c.sqrt_one_minus_abar * x;
        }
        default: { // MEAN_EPS
            x0 = c.sqrt_recip_abar * x - c.sqrt_recipm1_abar * out;
            eps = out;
        }
    }
    var m0 = x0;
    if THRESHOLD != 0u {
        m0 = clamp(x0, vec4<f32>(-s), vec4<f32>(s)) / s;
    } else if p.clip_denoised != 0u {
        m0 = clamp(x0, vec4<f32>(-p.clip_range), vec4<f32>(p.clip_range));
    }
    if (c.flags & MULTISTEP_OUTPUT_HISTORY) != 0u {
        return array<vec4<f32>, 2>(m0, out);
    }
    if (c.flags & MULTISTEP_EPS_HISTORY) == 0u {
        return array<vec4<f32>, 2>(m0, m0);
    }
    if THRESHOLD != 0u || p.clip_denoised != 0u {
        eps = (x - c.sqrt_abar * m0) / c.sqrt_one_minus_abar;
    }
    return array<vec4<f32>, 2>(m0, eps);
}

// One vec4: the k-th of sample b, at i, at row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: MultistepCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    var z = vec4<f32>(0.0);
    if c.bz != 0.0 {
        z = step_noise4(step, b, k, i);
    }
    let r0 = model4(p, c, xs, model_output[i], threshold_scale(b));
    let m0 = r0[1];
    let ring = c.ring != 0u;
    let n4 = params.n_elements / 4u;
    if ring {
        pred_xstart[ring_at4(c, 0u, i)] = m0;
    }
    // As multistep_update, lane by lane: the same sums in the same order.
    var xc = xs;
    if (c.flags & MULTISTEP_CORRECT) != 0u {
        xc = vec4<f32>(0.0);
        if c.ax != 0.0 {
            xc += c.ax * xs;
        }
        if c.al != 0.0 && ring {
            xc += c.al * pred_xstart[(1u + c.ring) * n4 + i];
        }
        xc += c.a0 * m0;
        if c.a1 != 0.0 && ring {
            xc += c.a1 * pred_xstart[ring_at4(c, 1u, i)];
        }
        if c.a2 != 0.0 && ring {
            xc += c.a2 * pred_xstart[ring_at4(c, 2u, i)];
        }
        if c.a3 != 0.0 && ring {
            xc += c.a3 * pred_xstart[ring_at4(c, 3u, i)];
        }
        if ring {
            pred_xstart[(1u + c.ring) * n4 + i] = xc;
        }
    }
    var r = c.bx * xc + c.b0 * m0;
    if c.b1 != 0.0 && ring {
        r += c.b1 * pred_xstart[ring_at4(c, 1u, i)];
    }
    if c.b2 != 0.0 && ring {
        r += c.b2 * pred_xstart[ring_at4(c, 2u, i)];
    }
    if c.b3 != 0.0 && ring {
        r += c.b3 * pred_xstart[ring_at4(c, 3u, i)];
    }
    if c.bz != 0.0 {
        r += c.bz * z;
    }
    x[i] = r;
    if KEEP_XSTART != 0u {
        pred_xstart[i] = r0[0];
    }
    if k == 0u {
        next_timesteps[b] = c.next_t;
    }
}
