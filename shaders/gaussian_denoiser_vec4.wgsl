// The Gaussian denoiser of gaussian_denoiser.wgsl, four elements per invocation: the same
// per-element arithmetic (bit-identical results), with vec4 loads and stores and one timestep
// lookup for four elements; VEC4S_PER_INVOCATION vec4s per invocation, no grid-stride loop, a
// per-sample grid when samples are long (per_sample_at in common.wgsl). The host picks it when
// sample_len is a multiple of 4.
// Prepended with common.wgsl and philox.wgsl. Host: src/gpu/sampling/gaussian_denoiser.rs; CPU twin:
// src/cpu/sampling/gaussian_denoiser.rs; test: tests/gaussian_denoiser.rs.

// `num_points` is unused (always 1): the struct is shared with the mixture's kernels.
@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> model_output: array<vec4<f32>>;
// For fixed variance types the host binds a dummy here; it is never written then.
@group(0) @binding(5) var<storage, read_write> model_var: array<vec4<f32>>;

// The model's output for one vec4 at i, at schedule row c.
fn denoise_vec4(c: StepCoefs, i: u32) {
    model_output[i] = gaussian_output4(params, c, x[i]);
    if params.var_type == VAR_LEARNED || params.var_type == VAR_LEARNED_RANGE {
        model_var[i] = gaussian_var4(params, c);
    }
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let len4 = params.sample_len / 4u;
    // The first vec4's row, loaded before the bounds checks: uniform over the workgroup that
    // way on the per-sample grid (a sample past the batch reads in bounds, as wgpu clamps
    // indices, and writes nothing).
    let first = vec4_position(len4, 0u, lid, wid, nwg).x;
    var c = coefs[step_index(timesteps[first], params.num_timesteps)];
    for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
        let at = vec4_position(len4, j, lid, wid, nwg);
        // Past the end of the sample, or a sample past the batch (the overhang of y * z).
        if at.y < len4 && at.x < params.batch {
            if sample_may_change(j) {
                c = coefs[step_index(timesteps[at.x], params.num_timesteps)];
            }
            denoise_vec4(c, at.x * len4 + at.y);
        }
    }
}
