// Fill a [B, sample_len] tensor with standard normals keyed by (seed, stream, step, global
// sample, element). Prepended with common.wgsl and philox.wgsl. Host: src/gpu/noise.rs; CPU
// twin: src/cpu/noise.rs; test: tests/noise.rs.

@group(0) @binding(0) var<uniform> params: NoiseParams;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let sample = params.first_sample + i / params.sample_len;
        let j = i % params.sample_len;
        out[i] = noise_at(vec2<u32>(params.seed_lo, params.seed_hi), params.stream, params.step, sample, j);
    }
}
