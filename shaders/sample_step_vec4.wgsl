// One reverse step of the sampling loop, four elements per invocation: the arithmetic and the
// noise draws of sample_step.wgsl per element (results are bit-identical), with vec4 loads and
// stores and one timestep lookup for four elements. The host picks it when sample_len is a
// multiple of 4 (each vec4 inside one sample). Prepended with common.wgsl and philox.wgsl.
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

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n4 = params.n_elements / 4u;
    let len4 = params.sample_len / 4u;
    let learned = params.var_type == VAR_LEARNED || params.var_type == VAR_LEARNED_RANGE;
    let seed = vec2<u32>(noise.seed_lo, noise.seed_hi);
    for (var i = gid.x; i < n4; i += nwg.x * WG_SIZE) {
        let b = i / len4;
        let j = 4u * (i % len4); // the first of the four elements' index within the sample
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        let xs = x[i];
        let out = model_output[i];
        var v = vec4<f32>(0.0);
        if learned {
            v = model_var[i];
        }
        var z = vec4<f32>(0.0); // no noise at t == 0
        if step != 0u {
            z = noise4_at(seed, STREAM_SAMPLE, step, noise.first_sample + b, j);
        }
        var next: vec4<f32>;
        var pred: vec4<f32>;
        for (var k = 0u; k < 4u; k++) {
            let m = p_mean_variance_elem(params, c, xs[k], out[k], v[k]);
            next[k] = m.mean + exp(0.5 * m.log_variance) * z[k];
            pred[k] = m.pred_xstart;
        }
        x[i] = next;
        pred_xstart[i] = pred;
    }
}
