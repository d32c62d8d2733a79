// The weights of conv2d.wgsl shared across a subgroup of 8 lanes (conv2d_subgroup): lane l
// loads channels l and 8 + l of the tile, two scalars, and every lane takes all 16 by subgroupBroadcast,
// instead of each lane loading the same four vec4s. On llvmpipe (subgroups of 8, one SIMD
// register) a broadcast is a register shuffle while every storage load runs lane by lane.
// Used only where the device has subgroups of exactly 8 (src/gpu/nn/conv2d.rs).

@group(0) @binding(2) var<storage, read> wt: array<f32>;

// This invocation's lane: every lane is active (conv2d.wgsl has no early return), so the
// exclusive prefix count of the subgroup is the subgroup invocation id.
var<private> subgroup_lane: u32;

// A subgroup leaves only when none of its lanes has work: the others need every lane's weight.
fn skip_idle(has_work: bool) -> bool {
    return !subgroupAny(has_work);
}

fn weights_init() {
    subgroup_lane = subgroupExclusiveAdd(1u);
}

fn tap_weights(row4: u32) -> array<vec4<f32>, 4> {
    let lo = wt[row4 * 4u + subgroup_lane];
    let hi = wt[row4 * 4u + 8u + subgroup_lane];
    return array<vec4<f32>, 4>(
        vec4<f32>(subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u)),
        vec4<f32>(subgroupBroadcast(lo, 4u), subgroupBroadcast(lo, 5u), subgroupBroadcast(lo, 6u), subgroupBroadcast(lo, 7u)),
        vec4<f32>(subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u)),
        vec4<f32>(subgroupBroadcast(hi, 4u), subgroupBroadcast(hi, 5u), subgroupBroadcast(hi, 6u), subgroupBroadcast(hi, 7u)),
    );
}
