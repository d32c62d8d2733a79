// One reverse step of the sampling loop with the Gaussian denoiser fused in: per vec4, the
// model output of gaussian_denoiser_vec4.wgsl (gaussian_output4 in common.wgsl) computed in
// registers, then the step of sample_step_vec4.wgsl (p_sample4, the same noise draws). The loop
// uses it when its denoiser is `GaussianDenoiser` with the sampler's own mean and variance types
// and sample_len is a multiple of 4: one pass a step instead of two, and no model_output
// traffic. The results are those of the two passes (tests/gaussian_denoiser.rs compares them).
// Prepended with common.wgsl and philox.wgsl, followed by step_vec4_entry.wgsl (the entry
// point, shared with p_sample_vec4.wgsl and the other vec4 step).
// Host: src/gpu/sample_loop.rs; CPU twin: src/cpu/sample_loop.rs with
// src/cpu/gaussian_denoiser.rs; test: tests/gaussian_denoiser.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<uniform> noise: NoiseParams; // seed and the chunk's first sample
@group(0) @binding(2) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(3) var<storage, read> timesteps: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> pred_xstart: array<vec4<f32>>;
// The next step's timesteps, as in sample_step_vec4.wgsl.
@group(0) @binding(6) var<storage, read_write> next_timesteps: array<u32>;
// The denoiser's parameters (`num_points` unused), as gaussian_denoiser_vec4.wgsl takes them.
@group(0) @binding(7) var<uniform> gaussian: MixtureParams;

// One vec4: the k-th of sample b, at i, at schedule row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: StepCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    let out = gaussian_output4(gaussian, c, xs);
    var v = vec4<f32>(0.0);
    if VAR_TYPE == VAR_LEARNED || VAR_TYPE == VAR_LEARNED_RANGE {
        v = gaussian_var4(gaussian, c);
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
