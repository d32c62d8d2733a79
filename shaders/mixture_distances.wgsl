// Mixture denoiser, stage 1: partial squared distances. For each (sample, point) pair the sum
// |x_t[b] - sqrt(abar_t) d_m|^2 is split into chunks of DIST_CHUNK elements, one invocation per
// (pair, chunk) summing its chunk in order; mixture_weights.wgsl adds a pair's chunks in order,
// so the result does not depend on the grid. Summed directly (not as |x|^2 - 2 x.d + |d|^2,
// which cancels when x_t is close to a point). No workgroup reduction: on llvmpipe every
// barrier switches all of a workgroup's coroutines, and the 256-wide tree this replaced made
// this stage most of a step. Prepended with common.wgsl and philox.wgsl. Host:
// src/gpu/sampling/mixture_denoiser.rs; CPU twin: src/cpu/sampling/mixture_denoiser.rs; test: tests/sample_loop.rs
// (the loop against the f64 loop).

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> points: array<f32>;
// [B, M, dist_chunks(sample_len)]
@group(0) @binding(5) var<storage, read_write> partial_dist: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let k = (wid.x + wid.y * nwg.x) * WG_SIZE + lid;
    let part = dist_part(params, k, 1u, 1u);
    if !part.valid {
        return;
    }
    let b = part.b;
    let m = part.m;
    let c = part.c;
    let sqrt_abar = coefs[step_index(timesteps[b], params.num_timesteps)].sqrt_abar;
    let start = c * DIST_CHUNK;
    let end = min(start + DIST_CHUNK, params.sample_len);
    let xs = b * params.sample_len;
    let ds = m * params.sample_len;
    var sum = 0.0;
    for (var j = start; j < end; j++) {
        let diff = x[xs + j] - sqrt_abar * points[ds + j];
        sum += diff * diff;
    }
    partial_dist[k] = sum;
}
