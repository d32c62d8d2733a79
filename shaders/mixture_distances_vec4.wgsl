// Mixture denoiser, stage 1, four elements per load: mixture_distances.wgsl's partial squared
// distances (the same chunks of DIST_CHUNK elements, the same [B, M, chunks] layout for
// mixture_weights.wgsl) with vec4 loads, which on llvmpipe cost about what one scalar load
// does (they run lane by lane either way). Each invocation sums one chunk for a tile of
// DIST_SAMPLES_VEC4 samples by DIST_POINTS_VEC4 points: per vec4 of the chunk, four x loads and
// four point loads serve sixteen (sample, point) pairs, where one sample by four points took
// five loads for four (distance stage about 3.2 -> 1.7 ms at [128, 3, 32, 32], t = 500). Each
// pair's chunk is summed as a running sum of dot(diff, diff), so its bits differ from the
// scalar kernel's order, not its accuracy. The host picks it when sample_len is a multiple of
// 4. Prepended with common.wgsl and philox.wgsl. Host: src/gpu/sampling/mixture_denoiser.rs; CPU twin:
// src/cpu/sampling/mixture_denoiser.rs; test: tests/sample_loop.rs.

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> points: array<vec4<f32>>;
// [B, M, dist_chunks(sample_len)]
@group(0) @binding(5) var<storage, read_write> partial_dist: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let k = (wid.x + wid.y * nwg.x) * WG_SIZE + lid;
    let part = dist_part(params, k, DIST_SAMPLES_VEC4, DIST_POINTS_VEC4);
    if !part.valid {
        return;
    }
    let len4 = params.sample_len / 4u;
    let start = part.c * (DIST_CHUNK / 4u);
    let end = min(start + DIST_CHUNK / 4u, len4);
    // Samples past the batch and points past the last (B or M not a multiple of four) read
    // sample B - 1 or point M - 1 again and write nothing.
    var x_row = array<u32, DIST_SAMPLES_VEC4>();
    var sqrt_abar = array<f32, DIST_SAMPLES_VEC4>();
    for (var i = 0u; i < DIST_SAMPLES_VEC4; i++) {
        let b = min(part.b + i, params.batch - 1u);
        x_row[i] = b * len4;
        sqrt_abar[i] = coefs[step_index(timesteps[b], params.num_timesteps)].sqrt_abar;
    }
    var point_row = array<u32, DIST_POINTS_VEC4>();
    for (var q = 0u; q < DIST_POINTS_VEC4; q++) {
        point_row[q] = min(part.m + q, params.num_points - 1u) * len4;
    }
    // sums[i * DIST_POINTS_VEC4 + q]: sample part.b + i against point part.m + q.
    var sums = array<f32, DIST_SAMPLES_VEC4 * DIST_POINTS_VEC4>();
    for (var j = start; j < end; j++) {
        var d = array<vec4<f32>, DIST_POINTS_VEC4>();
        for (var q = 0u; q < DIST_POINTS_VEC4; q++) {
            d[q] = points[point_row[q] + j];
        }
        for (var i = 0u; i < DIST_SAMPLES_VEC4; i++) {
            let xj = x[x_row[i] + j];
            for (var q = 0u; q < DIST_POINTS_VEC4; q++) {
                let diff = xj - sqrt_abar[i] * d[q];
                sums[i * DIST_POINTS_VEC4 + q] += dot(diff, diff);
            }
        }
    }
    let chunks = dist_chunks(params.sample_len);
    for (var i = 0u; i < DIST_SAMPLES_VEC4; i++) {
        for (var q = 0u; q < DIST_POINTS_VEC4; q++) {
            let b = part.b + i;
            let m = part.m + q;
            if b < params.batch && m < params.num_points {
                partial_dist[(b * params.num_points + m) * chunks + part.c] = sums[i * DIST_POINTS_VEC4 + q];
            }
        }
    }
}
