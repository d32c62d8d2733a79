// Mixture denoiser, stage 1, four elements per load: mixture_distances.wgsl's partial squared
// distances (the same chunks of DIST_CHUNK elements, the same [B, M, chunks] layout for
// mixture_weights.wgsl) with vec4 loads, which on llvmpipe cost about what one scalar load
// does (they run lane by lane either way). Each chunk is summed as four running lane sums,
// added at the end, so its bits differ from the scalar kernel's order, not its accuracy. Each
// invocation sums one chunk for DIST_POINTS_VEC4 points, so each x load serves four points:
// about 1.1x the mixture loop's steps/s at [128, 3, 32, 32] (five alternating runs), level at
// [16, 3, 32, 32], where the fewer invocations fill only three workgroups. The
// host picks it when sample_len is a multiple of 4. Prepended with common.wgsl and
// philox.wgsl. Host: src/gpu/mixture_denoiser.rs; CPU twin: src/cpu/mixture_denoiser.rs; test:
// tests/sample_loop.rs.

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
    let part = dist_part(params, k, DIST_POINTS_VEC4);
    if !part.valid {
        return;
    }
    let b = part.b;
    let sqrt_abar = coefs[step_index(timesteps[b], params.num_timesteps)].sqrt_abar;
    let len4 = params.sample_len / 4u;
    let start = part.c * (DIST_CHUNK / 4u);
    let end = min(start + DIST_CHUNK / 4u, len4);
    let xs = b * len4;
    // Points past the last one (M not a multiple of DIST_POINTS_VEC4) read point M - 1 again
    // and write nothing.
    var last = array<u32, DIST_POINTS_VEC4>();
    for (var q = 0u; q < DIST_POINTS_VEC4; q++) {
        last[q] = min(part.m + q, params.num_points - 1u) * len4;
    }
    var sums = array<vec4<f32>, DIST_POINTS_VEC4>();
    for (var j = start; j < end; j++) {
        let xj = x[xs + j];
        for (var q = 0u; q < DIST_POINTS_VEC4; q++) {
            let diff = xj - sqrt_abar * points[last[q] + j];
            sums[q] += diff * diff;
        }
    }
    let chunks = dist_chunks(params.sample_len);
    for (var q = 0u; q < DIST_POINTS_VEC4; q++) {
        let m = part.m + q;
        if m < params.num_points {
            let s = sums[q];
            partial_dist[(b * params.num_points + m) * chunks + part.c] = (s.x + s.y) + (s.z + s.w);
        }
    }
}
