// The adapter's memory-bandwidth yardstick for `ddpm bench`: a vec4 copy, 16 bytes read and 16
// written per invocation. One vec4 per invocation on a 2-D grid rather than a grid-stride
// loop: on llvmpipe the loop-free copy was 15-20% faster (ddpm bench, two alternating runs),
// and the yardstick should be the fastest plain copy. Prepended with common.wgsl and philox.wgsl. Host:
// src/gpu/bandwidth_copy.rs; CPU twin: src/cpu/bandwidth_copy.rs; test: tests/bandwidth_copy.rs.

// Keep in sync with `CopyParams` in src/gpu/params.rs.
struct CopyParams {
    n_vec4: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: CopyParams;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = gid.x + gid.y * nwg.x * WG_SIZE;
    if i < params.n_vec4 {
        dst[i] = src[i];
    }
}
