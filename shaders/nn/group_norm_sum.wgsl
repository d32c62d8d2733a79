// group_norm.wgsl's sums over a workgroup of 64: partial sums combined by a fixed tree in
// workgroup memory.

const NORM_WG: u32 = 64u; // keep in sync with NORM_WG in src/gpu/nn/group_norm.rs

var<workgroup> part: array<f32, 64>;

fn workgroup_sum(v: f32, lid: u32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var s = NORM_WG / 2u; s > 0u; s = s / 2u) {
        if lid < s {
            part[lid] += part[lid + s];
        }
        workgroupBarrier();
    }
    let total = part[0];
    // Everyone has read the total before the next sum overwrites part.
    workgroupBarrier();
    return total;
}
