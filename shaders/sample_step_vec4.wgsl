// One reverse step of the sampling loop, four elements per invocation: the arithmetic and the
// noise draws of sample_step.wgsl per element (results are bit-identical), with vec4 loads and
// stores and one timestep lookup for four elements; VEC4S_PER_INVOCATION vec4s per invocation,
// no grid-stride loop, a per-sample grid when samples are long (per_sample_at in common.wgsl).
// The host picks it when sample_len is a multiple of 4 (each vec4 inside one sample).
// Prepended with common.wgsl and philox.wgsl, followed by step_vec4_entry.wgsl (the entry
// point, shared with p_sample_vec4.wgsl and the other vec4 step).
// Host: src/gpu/sample_loop.rs; CPU twin: src/cpu/sample_loop.rs; test: tests/sample_loop.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<uniform> noise: NoiseParams; // seed and the chunk's first sample
@group(0) @binding(2) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(3) var<storage, read> timesteps: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> model_output: array<vec4<f32>>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(6) var<storage, read> model_var: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> pred_xstart: array<vec4<f32>>;
// The next step's timesteps (t - 1, or 0 after the last), written once per sample. The host
// copies them into `timesteps` after the step: invocations of the same sample still read
// `timesteps` during this one, so it cannot be decremented in place.
@group(0) @binding(8) var<storage, read_write> next_timesteps: array<u32>;

// One vec4: the k-th of sample b, at i, at schedule row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: StepCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    let out = model_output[i];
    var v = vec4<f32>(0.0);
    if VAR_TYPE == VAR_LEARNED || VAR_TYPE == VAR_LEARNED_RANGE {
        v = model_var[i];
    }
    var z = vec4<f32>(0.0); // no noise at t == 0
    if step != 0u {
        let seed = vec2<u32>(noise.seed_lo, noise.seed_hi);
        z = noise4_at(seed, STREAM_SAMPLE, step, noise.first_sample + b, 4u * k);
    }
    let r = p_sample4(p, c, xs, out, v, z);
    x[i] = r.sample;
    pred_xstart[i] = r.pred_xstart;
    if k == 0u {
        next_timesteps[b] = select(step - 1u, 0u, step == 0u);
    }
}
