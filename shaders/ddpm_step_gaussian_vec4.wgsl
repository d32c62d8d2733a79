// One ancestral step of the sampling loop with the Gaussian denoiser fused in: per vec4, the
// model output of gaussian_denoiser_vec4.wgsl (gaussian_output4 in shared/mixture.wgsl) computed
// in registers from the `fused` parameters, then the step of ddpm_step_vec4.wgsl (p_sample4, the
// same noise). The loop uses it when its denoiser is `GaussianDenoiser` with the sampler's own
// mean and variance types, no thresholding, and sample_len is a multiple of 4: one pass a step
// instead of two, and no model_output traffic. The results are those of the two passes
// (tests/gaussian_denoiser.rs compares them). Prepended and followed as ddpm_step_vec4.wgsl.
// Host: src/sampler/ddpm.rs, src/gpu/sampling/sample_loop/; CPU twin: src/cpu/kernels/ddpm_step.rs with
// src/cpu/sampling/gaussian_denoiser.rs; test: tests/gaussian_denoiser.rs.

@group(0) @binding(2) var<storage, read> coefs: array<StepCoefs>;

// One vec4: the k-th of sample b, at i, at row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: StepCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    let out = gaussian_output4(fused, c, xs);
    var v = vec4<f32>(0.0);
    if VAR_TYPE == VAR_LEARNED || VAR_TYPE == VAR_LEARNED_RANGE {
        v = gaussian_var4(fused, c);
    }
    var z = vec4<f32>(0.0); // no noise at the last step
    if c.next_t != step {
        z = step_noise4(step, b, k, i);
    }
    let r = p_sample4(p, c, xs, out, v, z, 1.0);
    x[i] = r.sample;
    pred_xstart[i] = r.pred_xstart;
    if k == 0u {
        next_timesteps[b] = c.next_t;
    }
}
