// One ancestral step of the sampling loop, four elements per invocation: the arithmetic and the
// noise of ddpm_step.wgsl per element (results are bit-identical), with vec4 loads and stores
// and one row lookup for four elements; no grid-stride loop, a per-sample grid when samples are
// long (per_sample_at in shared/grid.wgsl). The host picks it when sample_len is a multiple of 4.
// Prepended with the common prefix, philox.wgsl and shared/step_bindings_vec4.wgsl, followed by
// step_vec4_entry.wgsl (the entry point). Host: src/sampler/ddpm.rs, src/gpu/sampling/sample_loop/; CPU
// twin: src/cpu/kernels/ddpm_step.rs; test: tests/ddpm_step.rs, tests/sample_loop.rs.

@group(0) @binding(2) var<storage, read> coefs: array<StepCoefs>;

// One vec4: the k-th of sample b, at i, at row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: StepCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    let out = model_output[i];
    var v = vec4<f32>(0.0);
    if VAR_TYPE == VAR_LEARNED || VAR_TYPE == VAR_LEARNED_RANGE {
        v = model_var[i];
    }
    var z = vec4<f32>(0.0); // no noise at the last step
    if c.next_t != step {
        z = step_noise4(step, b, k, i);
    }
    let r = p_sample4(p, c, xs, out, v, z, threshold_scale(b));
    x[i] = r.sample;
    pred_xstart[i] = r.pred_xstart;
    if k == 0u {
        next_timesteps[b] = c.next_t;
    }
}
