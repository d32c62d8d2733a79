// One reverse step of the sampling loop, in place: x <- mean + [t != 0] exp(0.5 logvar) z with
// z drawn in the shader (stream STREAM_SAMPLE, keyed by step t), and pred_xstart kept.
// Prepended with common.wgsl and philox.wgsl. Host: src/gpu/sample_loop.rs; CPU twin:
// src/cpu/sample_loop.rs; test: tests/sample_loop.rs.
//
// Every binding is fixed for the whole loop: the kernel writes the next step's timesteps and
// the host copies them into `timesteps` after each step, so no bind group or buffer is made
// per step and nothing grows with T.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<uniform> noise: NoiseParams; // seed and the chunk's first sample
@group(0) @binding(2) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(3) var<storage, read> timesteps: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read> model_output: array<f32>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(6) var<storage, read> model_var: array<f32>;
@group(0) @binding(7) var<storage, read_write> pred_xstart: array<f32>;
// The next step's timesteps (t - 1, or 0 after the last), written once per sample. The host
// copies them into `timesteps` after the step: invocations of the same sample still read
// `timesteps` during this one, so it cannot be decremented in place.
@group(0) @binding(8) var<storage, read_write> next_timesteps: array<u32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = with_model_constants(params); // options as pipeline constants (common.wgsl)
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let j = i % params.sample_len; // the element within sample b
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        let m = p_mean_variance_elem(p, c, x[i], model_output[i], model_var[i]);
        var z = 0.0; // no noise at t == 0
        if step != 0u {
            let seed = vec2<u32>(noise.seed_lo, noise.seed_hi);
            z = noise_at(seed, STREAM_SAMPLE, step, noise.first_sample + b, j);
        }
        if j == 0u {
            next_timesteps[b] = select(step - 1u, 0u, step == 0u);
        }
        x[i] = m.mean + exp(0.5 * m.log_variance) * z;
        pred_xstart[i] = m.pred_xstart;
    }
}
