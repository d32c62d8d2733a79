// One DDIM step of the sampling loop with the Gaussian denoiser fused in: per vec4, the model
// output of gaussian_denoiser_vec4.wgsl (gaussian_output4_at in shared/mixture.wgsl, from the
// row's sqrt(abar), 1 - abar and sqrt(1 - abar), which round the same f64 values as the
// StepCoefs the unfused denoiser reads) computed in registers, then the step of
// ddim_step_vec4.wgsl. The loop uses it when its denoiser is `GaussianDenoiser` with the
// sampler's own mean type, no thresholding, and sample_len is a multiple of 4: one pass a step
// instead of two and no timestep copy; the results are the two passes' bits
// (tests/gaussian_denoiser.rs). Prepended and followed as ddim_step_vec4.wgsl.
// Host: src/sampler/ddim.rs, src/gpu/sampling/sample_loop/; CPU twin: src/cpu/kernels/ddim_step.rs with
// src/cpu/sampling/gaussian_denoiser.rs; test: tests/gaussian_denoiser.rs.

@group(0) @binding(2) var<storage, read> coefs: array<DdimCoefs>;

// One vec4: the k-th of sample b, at i, at row `step` (c = coefs[step]).
fn step_vec4(p: ElementParams, step: u32, c: DdimCoefs, b: u32, k: u32, i: u32) {
    let xs = x[i];
    let a = vec4<f32>(c.sqrt_abar, c.one_minus_abar, c.sqrt_one_minus_abar, 0.0);
    let out = gaussian_output4_at(fused, a, vec2<f32>(0.0), xs);
    var z = vec4<f32>(0.0);
    if c.sigma != 0.0 {
        z = step_noise4(step, b, k, i);
    }
    var r: Step4;
    for (var e = 0u; e < 4u; e++) {
        let v = ddim_elem(p, c, xs[e], out[e], 1.0, z[e]);
        r.sample[e] = v.x;
        r.pred_xstart[e] = v.y;
    }
    x[i] = r.sample;
    pred_xstart[i] = r.pred_xstart;
    if k == 0u {
        next_timesteps[b] = c.next_t;
    }
}
