// Fill a [B, sample_len] tensor with standard normals keyed by (seed, stream, step, global
// sample, element). Prepended with common.wgsl and philox.wgsl. Host: src/gpu/kernels/noise.rs; CPU
// twin: src/cpu/kernels/noise.rs; test: tests/noise.rs.

@group(0) @binding(0) var<uniform> params: NoiseParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

// One invocation per group of four elements of a sample (the last group of a sample may be
// short): the four share one Philox call (noise4_at), as the vec4 step kernels draw theirs,
// with the same bits as noise_at of each. A quarter of the Philox work of one call per element;
// x_T is most of a short loop's fixed cost: DDIM-50 at [16, 3, 32, 32], Gaussian denoiser, went
// from 1.13 / 1.19 to 1.08 / 1.05 overhead (`ddpm bench --quick`, two alternating pairs).
@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let quads = (params.sample_len + 3u) / 4u;
    let total = params.n_elements / params.sample_len * quads;
    for (var q = gid.x; q < total; q += nwg.x * WG_SIZE) {
        let local = q / quads;
        let j = (q % quads) * 4u;
        let z = params.scale * noise4_at(vec2<u32>(params.seed_lo, params.seed_hi), params.stream,
            params.step, params.first_sample + local, j);
        let base = local * params.sample_len + j;
        let left = params.sample_len - j;
        out[base] = z.x;
        if left > 1u { out[base + 1u] = z.y; }
        if left > 2u { out[base + 2u] = z.z; }
        if left > 3u { out[base + 3u] = z.w; }
    }
}
