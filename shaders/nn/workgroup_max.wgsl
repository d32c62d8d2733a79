// The largest value over a workgroup of 64 (attention_softmax_rows.wgsl), by the fixed tree
// of group_norm_sum.wgsl (whose `part` it shares) with max for +.

fn workgroup_max(v: f32, lid: u32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var s = NORM_WG / 2u; s > 0u; s = s / 2u) {
        if lid < s {
            part[lid] = max(part[lid], part[lid + s]);
        }
        workgroupBarrier();
    }
    let top = part[0];
    // Everyone has read it before the next reduction overwrites part.
    workgroupBarrier();
    return top;
}
