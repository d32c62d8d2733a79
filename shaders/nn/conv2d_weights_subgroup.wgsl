// The weights of conv2d.wgsl shared across a subgroup of 8 lanes (conv2d_subgroup): lane l
// loads channels l and 8 + l of the tile, two scalars, and every lane takes all 16 by subgroupBroadcast,
// instead of each lane loading the same four vec4s. On llvmpipe (subgroups of 8, one SIMD
// register) a broadcast is a register shuffle while every storage load runs lane by lane.
// Used only where the device has subgroups of exactly 8 (src/gpu/nn/conv2d.rs).

@group(0) @binding(2) var<storage, read> wt: array<act>;
// The same weights as vec4s, for two taps at once (`tap_pair`).
@group(0) @binding(9) var<storage, read> wt4: array<act4>;

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

// With HALO (shaders/nn/conv2d.wgsl's fill_row4): the value left of this lane's 8 columns is
// the last of the previous lane's second vec4 (`v` = b.w there), the one right of them the
// first of the next lane's first vec4 (a.x), when the pixel is in the row (`ok`; else padding).
// The previous and next lanes hold the previous and next tiles of the row: 64-invocation
// workgroups split into subgroups of 8 consecutive invocations, a row's tiles consecutive,
// and the number of tiles in a row a divisor of 8, so no row's tile has a neighbour in
// another subgroup (host checks all but the first, which llvmpipe does).
fn halo_left(v: f32, ok: bool) -> f32 {
    return select(0.0, subgroupShuffleUp(v, 1u), ok);
}

fn halo_right(v: f32, ok: bool) -> f32 {
    return select(0.0, subgroupShuffleDown(v, 1u), ok);
}

fn tap_weights(row4: u32) -> array<vec4<f32>, 4> {
    let lo = f32(wt[row4 * 4u + subgroup_lane]);
    let hi = f32(wt[row4 * 4u + 8u + subgroup_lane]);
    return array<vec4<f32>, 4>(
        vec4<f32>(subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u)),
        vec4<f32>(subgroupBroadcast(lo, 4u), subgroupBroadcast(lo, 5u), subgroupBroadcast(lo, 6u), subgroupBroadcast(lo, 7u)),
        vec4<f32>(subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u)),
        vec4<f32>(subgroupBroadcast(hi, 4u), subgroupBroadcast(hi, 5u), subgroupBroadcast(hi, 6u), subgroupBroadcast(hi, 7u)),
    );
}

// The 16 channels of the taps at row4 and row4 + step (in vec4s), one vec4 per lane (lanes
// 0-3 the first tap, 4-7 the second): a vec4 load costs llvmpipe less per value than a scalar.
fn tap_pair(row4: u32, step: u32) -> array<array<vec4<f32>, 4>, 2> {
    let v = vec4<f32>(wt4[row4 + select(0u, step, subgroup_lane >= 4u) + (subgroup_lane & 3u)]);
    return array<array<vec4<f32>, 4>, 2>(
        array<vec4<f32>, 4>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u)),
        array<vec4<f32>, 4>(subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u)),
    );
}
