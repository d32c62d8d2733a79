// The adapter's memory-bandwidth yardstick for `ddpm bench`: a vec4 copy, VEC4S_PER_INVOCATION
// vec4s per invocation (WG_SIZE apart) on a 2-D grid, as the vec4 kernels move their data. No
// grid-stride loop: on llvmpipe the loop-free copy was 15-20% faster (ddpm bench, two
// alternating runs), and two vec4s per invocation 3-7% faster than one (four runs at 2^20 and
// 2^24); the yardstick should be the fastest plain copy. Prepended with common.wgsl and
// philox.wgsl. Host: src/gpu/kernels/bandwidth_copy.rs; CPU twin: src/cpu/kernels/bandwidth_copy.rs; test:
// tests/bandwidth_copy.rs.

// Keep in sync with `CopyParams` in src/gpu/runtime/params.rs.
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
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let first = (wid.x + wid.y * nwg.x) * VEC4S_PER_INVOCATION * WG_SIZE + lid.x;
    for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
        let i = first + j * WG_SIZE;
        if i < params.n_vec4 {
            dst[i] = src[i];
        }
    }
}
