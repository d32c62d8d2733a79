// Mixture denoiser, stage 1, four elements per load: mixture_distances.wgsl's partial squared
// distances (the same chunks of DIST_CHUNK elements, the same [B, M, chunks] layout for
// mixture_weights.wgsl) with vec4 loads, which on llvmpipe cost about what one scalar load
// does (they run lane by lane either way). Each chunk is summed as four running lane sums,
// added at the end, so its bits differ from the scalar kernel's order, not its accuracy. The
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
    let part = dist_part(params, k);
    if !part.valid {
        return;
    }
    let b = part.b;
    let m = part.m;
    let c = part.c;
    let sqrt_abar = coefs[step_index(timesteps[b], params.num_timesteps)].sqrt_abar;
    let len4 = params.sample_len / 4u;
    let start = c * (DIST_CHUNK / 4u);
    let end = min(start + DIST_CHUNK / 4u, len4);
    let xs = b * len4;
    let ds = m * len4;
    var sum = vec4<f32>(0.0);
    for (var j = start; j < end; j++) {
        let diff = x[xs + j] - sqrt_abar * points[ds + j];
        sum += diff * diff;
    }
    partial_dist[k] = (sum.x + sum.y) + (sum.z + sum.w);
}
