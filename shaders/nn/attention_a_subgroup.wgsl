// The left operand of shaders/nn/attention.wgsl shared across a subgroup of 8 (attention_subgroup):
// the host uses it only where a row of tiles is a multiple of 8 tiles long, so the 8 lanes
// of a subgroup (8 consecutive invocations, consecutive tiles) share the rows m0 .. m0 + 7.
// Lane l loads row m0 + l of column k and every lane takes the eight by subgroupBroadcast:
// one storage load per lane instead of eight (on llvmpipe each runs lane by lane, a
// broadcast is a register shuffle; benches/load_cost.rs).

var<private> subgroup_lane: u32;

// Every lane that reaches it is active: whole subgroups leave at once (tiles come in 8s).
fn lanes_init() {
    subgroup_lane = subgroupExclusiveAdd(1u);
}

fn a_col(base: u32, m0: u32, k: u32) -> array<f32, 8> {
    let v = a_at(base, m0 + subgroup_lane, k);
    return array<f32, 8>(
        subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u),
        subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u),
    );
}
