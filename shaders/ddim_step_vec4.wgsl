// One DDIM step, four elements per invocation: ddim_step.wgsl's arithmetic and noise per
// element (bit-identical), with vec4 loads and stores. The host picks it when sample_len is a
// multiple of 4. Prepended with the common prefix, philox.wgsl and
// shared/step_bindings_vec4.wgsl, followed by step_vec4_entry.wgsl. Host: src/gpu/kernels/ddim_step.rs,
// src/sampler/ddim.rs; CPU twin: src/cpu/kernels/ddim_step.rs; test: tests/ddim_step.rs.

@group(0) @binding(2) var<storage, read> coefs: array<DdimCoefs>;

// One vec4: the k-th of sample b, at i, at row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: DdimCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    let out = model_output[i];
    var z = vec4<f32>(0.0);
    if c.sigma != 0.0 {
        z = step_noise4(step, b, k, i);
    }
    let s = threshold_scale(b);
    var r: Step4;
    for (var e = 0u; e < 4u; e++) {
        let v = ddim_elem(p, c, xs[e], out[e], s, z[e]);
        r.sample[e] = v.x;
        r.pred_xstart[e] = v.y;
    }
    x[i] = r.sample;
    pred_xstart[i] = r.pred_xstart;
    if k == 0u {
        next_timesteps[b] = c.next_t;
    }
}
