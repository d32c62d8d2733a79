// The weights of conv2d.wgsl shared across a subgroup of 8 lanes (conv2d_subgroup): lane l
// loads channel l of the tile, one scalar, and every lane takes all 8 by subgroupBroadcast,
// instead of each lane loading the same two vec4s. On llvmpipe (subgroups of 8, one SIMD
// register) a broadcast is a register shuffle while every storage load runs lane by lane.
// Used only where the device has subgroups of exactly 8 (src/gpu/nn/conv2d.rs).

@group(0) @binding(2) var<storage, read> wt: array<f32>;

// This invocation's lane: every lane is active (conv2d.wgsl has no early return), so the
// exclusive prefix count of the subgroup is the subgroup invocation id.
var<private> subgroup_lane: u32;

fn weights_init() {
    subgroup_lane = subgroupExclusiveAdd(1u);
}

fn tap_weights(row4: u32) -> array<vec4<f32>, 2> {
    let w = wt[row4 * 4u + (subgroup_lane & 7u)];
    return array<vec4<f32>, 2>(
        vec4<f32>(subgroupBroadcast(w, 0u), subgroupBroadcast(w, 1u), subgroupBroadcast(w, 2u), subgroupBroadcast(w, 3u)),
        vec4<f32>(subgroupBroadcast(w, 4u), subgroupBroadcast(w, 5u), subgroupBroadcast(w, 6u), subgroupBroadcast(w, 7u)),
    );
}
