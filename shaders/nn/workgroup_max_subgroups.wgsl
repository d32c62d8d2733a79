// The largest value over a workgroup of 64 (attention_softmax_rows.wgsl) on devices whose
// subgroups are any size, as group_norm_sum_subgroups.wgsl sums (whose `part` it shares):
// subgroupMax within each subgroup, its first lane leaves it in workgroup memory (the other
// lanes the lowest f32 in their slots), and after one barrier every subgroup takes the max of
// the slots, lane j reading j, j + s, ... for its size s. Size and lane come from the
// subgroup itself; every subgroup reads the same slots, so all lanes get one value.

fn workgroup_max(v: f32, lid: u32) -> f32 {
    let size = subgroupAdd(1u);
    let lane = subgroupExclusiveAdd(1u);
    let own = subgroupMax(v);
    part[lid] = select(-3.4028235e38, own, lane == 0u);
    workgroupBarrier();
    var m = -3.4028235e38;
    for (var i = lane; i < NORM_WG; i += size) {
        m = max(m, part[i]);
    }
    let top = subgroupMax(m);
    workgroupBarrier();
    return top;
}
