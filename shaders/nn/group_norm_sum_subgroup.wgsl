// group_norm.wgsl's sums where the device has subgroups of exactly 8 (group_norm_subgroup): a
// workgroup is one subgroup, and subgroupAdd sums it with no workgroup memory and no barrier.
// On lavapipe this took the 27 norms of the embedded digits model's forward at B = 16 from
// 26-56 ms to 10-14 (four runs alternating with the tree; benches/unet.md).

const NORM_WG: u32 = 8u; // Kernel::workgroup_size of GroupNormSubgroup

fn workgroup_sum(v: f32, lid: u32) -> f32 {
    return subgroupAdd(v);
}
