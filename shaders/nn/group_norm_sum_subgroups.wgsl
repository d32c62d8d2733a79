// group_norm.wgsl's sums over a workgroup of 64 on devices whose subgroups are any size (32 on
// NVIDIA and Apple, 32 or 64 on AMD, even a size that varies between pipelines): each
// subgroup sums its lanes with subgroupAdd, its first lane leaves that sum in workgroup memory
// (every other lane a zero in its own slot), and after one barrier every subgroup sums the
// slots again the same way, lane j taking slots j, j + s, j + 2s... for its size s. Neither
// the size nor the lane is assumed: both come from the subgroup itself (subgroupAdd(1),
// subgroupExclusiveAdd(1)), so no kernel here depends on a subgroup of 8. Every subgroup does
// the same reads in the same order, so all lanes get one value. Two barriers per sum against
// the tree's seven (group_norm_sum.wgsl).

const NORM_WG: u32 = 64u; // Kernel::workgroup_size of GroupNormSubgroups

var<workgroup> part: array<f32, 64>;

fn workgroup_sum(v: f32, lid: u32) -> f32 {
    let size = subgroupAdd(1u);
    let lane = subgroupExclusiveAdd(1u);
    let own = subgroupAdd(v);
    part[lid] = select(0.0, own, lane == 0u);
    workgroupBarrier();
    var s = 0.0;
    for (var i = lane; i < NORM_WG; i += size) {
        s += part[i];
    }
    let total = subgroupAdd(s);
    // Everyone has read the slots before the next sum overwrites them.
    workgroupBarrier();
    return total;
}
