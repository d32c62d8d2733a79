// One reparameterised reverse step, four elements per invocation:
// x_{t-1} = mean + [t != 0] exp(0.5 logvar) noise, with p_mean_variance_elem per element, so
// results are bit-identical to p_sample.wgsl. The host picks this kernel when sample_len is a
// multiple of 4 (each vec4 inside one sample: one timestep lookup for four elements).
// VEC4S_PER_INVOCATION vec4s per invocation, no grid-stride loop; a per-sample grid when samples
// are long (per_sample_at in common.wgsl).
// Prepended with common.wgsl and philox.wgsl, followed by step_vec4_entry.wgsl (the entry
// point, shared with the sampling loop's vec4 steps). Host: src/gpu/kernels/p_sample.rs; CPU twin:
// src/cpu/kernels/p_sample.rs; test: tests/p_sample.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> model_output: array<vec4<f32>>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(5) var<storage, read> model_var: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> noise: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> sample: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> pred_xstart: array<vec4<f32>>;

// One vec4 at i (the k-th of sample b, unused here), at schedule row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: StepCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    let out = model_output[i];
    // Fixed variance types never use it; skip the load (it aliases model_output then).
    var v = vec4<f32>(0.0);
    if VAR_TYPE == VAR_LEARNED || VAR_TYPE == VAR_LEARNED_RANGE {
        v = model_var[i];
    }
    // No noise at t == 0: the last step returns the mean. nonzero is 0 or 1, so scaling the
    // noise instead of exp(0.5 logvar), as p_sample.wgsl does, gives the same bits.
    let nonzero = select(1.0, 0.0, step == 0u);
    let r = p_sample4(p, c, xs, out, v, nonzero * noise[i], 1.0);
    sample[i] = r.sample;
    pred_xstart[i] = r.pred_xstart;
}
