// Mixture denoiser, stage 3, four elements per invocation: mixture_output.wgsl's per-element
// arithmetic (the same bits) with vec4 loads and stores, so each point's weight, the timestep
// and the schedule row are loaded once for four elements instead of once each (on llvmpipe
// such loads run lane by lane, and they were most of this stage). VEC4S_PER_INVOCATION vec4s
// per invocation, no grid-stride loop, a per-sample grid when samples are long (per_sample_at
// in common.wgsl). The host picks it when sample_len is a multiple of 4.
// Prepended with common.wgsl and philox.wgsl. Host: src/gpu/mixture_denoiser.rs; CPU twin:
// src/cpu/mixture_denoiser.rs; test: tests/sample_loop.rs.

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> weights: array<f32>;
@group(0) @binding(6) var<storage, read_write> model_output: array<vec4<f32>>;
// For fixed variance types the host binds a dummy here; it is never written then.
@group(0) @binding(7) var<storage, read_write> model_var: array<vec4<f32>>;

// The model's output for vec4 k of sample b, at schedule row c (len4 vec4s per sample).
fn denoise_vec4(c: StepCoefs, b: u32, k: u32, len4: u32) {
    var mu = vec4<f32>(0.0);
    for (var m = 0u; m < params.num_points; m = m + 1u) {
        let r = weights[b * params.num_points + m];
        if r != 0.0 { // far points underflow to exactly 0: skip their reads
            mu = mu + r * points[m * len4 + k];
        }
    }
    let i = b * len4 + k;
    model_output[i] = mixture_output4(params, c, x[i], mu);
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
            denoise_vec4(c, at.x, at.y, len4);
        }
    }
}
