// Mixture denoiser, stage 3: mu = sum_m r_m d_m per element, then the model's output from it
// (`mixture_output4` in common.wgsl); for learned variance types also model_var (`gaussian_var4`:
// log beta tilde or -1, which equal the fixedsmall choice). One element per invocation, for
// any sample_len; mixture_output_vec4.wgsl does four at a time when sample_len is a multiple
// of 4, with the same bits. Prepended with common.wgsl and philox.wgsl. Host:
// src/gpu/sampling/mixture_denoiser.rs; CPU twin: src/cpu/sampling/mixture_denoiser.rs; test:
// tests/sample_loop.rs (the loop against the f64 loop).

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> points: array<f32>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;
@group(0) @binding(6) var<storage, read_write> model_output: array<f32>;
@group(0) @binding(7) var<storage, read_write> model_var: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n = params.batch * params.sample_len;
    let model = mixture_with_model_constants(params);
    for (var i = gid.x; i < n; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let j = i % params.sample_len;
        let c = coefs[step_index(timesteps[b], params.num_timesteps)];
        var mu = 0.0;
        for (var m = 0u; m < params.num_points; m = m + 1u) {
            let r = weights[weight_index(params, b, m)];
            if r != 0.0 { // far points underflow to exactly 0: skip their reads
                mu = mu + r * points[m * params.sample_len + j];
            }
        }
        model_output[i] = mixture_output4(model, c, vec4<f32>(x[i]), vec4<f32>(mu)).x;
        if model.var_type == VAR_LEARNED || model.var_type == VAR_LEARNED_RANGE {
            model_var[i] = gaussian_var4(model, c).x;
        }
    }
}
