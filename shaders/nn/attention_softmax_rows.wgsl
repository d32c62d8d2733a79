// The attention's softmax with one workgroup of 64 per row (host:
// src/gpu/nn/attention_softmax.rs; CPU twin: src/cpu/nn/attention.rs): the same
// s <- exp(scale s - max) / sum as attention_softmax.wgsl, but the row's elements are spread
// over the workgroup (lane l takes l, l + 64, ...), so consecutive lanes read consecutive
// logits, and the max and the sum are reductions over the workgroup (`workgroup_max` and
// `workgroup_sum` from the prelude: subgroup operations at whatever size the device runs,
// attention_softmax_rows_subgroups, else a fixed tree in workgroup memory). For GPUs, where
// a row per invocation (attention_softmax.wgsl) reads with a stride of a whole row.

@group(0) @binding(0) var<uniform> p: SoftmaxParams;
@group(0) @binding(1) var<storage, read_write> s: array<act>;

@compute @workgroup_size(64)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // The same row for the whole workgroup: the return below is uniform, the barriers of the
    // reductions are reached by every invocation or none.
    let row = wid.y * nwg.x + wid.x;
    if row >= p.rows {
        return;
    }
    let base = row * p.len;
    var mx = -3.4028235e38;
    for (var j = lid; j < p.len; j += NORM_WG) {
        mx = max(mx, p.scale * f32(s[base + j]));
    }
    mx = workgroup_max(mx, lid);
    var total = 0.0;
    for (var j = lid; j < p.len; j += NORM_WG) {
        let e = exp(p.scale * f32(s[base + j]) - mx);
        s[base + j] = act(e);
        total += e;
    }
    total = workgroup_sum(total, lid);
    for (var j = lid; j < p.len; j += NORM_WG) {
        s[base + j] = act(f32(s[base + j]) / total);
    }
}
