// The raw Philox4x32-10 words for each element (four u32 per element), so tests can check the
// stream bit for bit against Rust. Prepended with common.wgsl and philox.wgsl.
// Host: src/gpu/kernels/philox_bits.rs; CPU twin: src/cpu/kernels/philox_bits.rs; test: tests/philox_bits.rs.

@group(0) @binding(0) var<uniform> params: NoiseParams;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<u32>>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let sample = params.first_sample + i / params.sample_len;
        let j = i % params.sample_len;
        out[i] = philox4x32_10(vec4<u32>(j, params.step, params.stream, sample),
                               vec2<u32>(params.seed_lo, params.seed_hi));
    }
}
