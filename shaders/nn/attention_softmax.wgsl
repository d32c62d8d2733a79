// The attention's softmax (host: src/gpu/nn/attention.rs; CPU twin: src/cpu/nn/attention.rs),
// in place over rows of `len` contiguous logits: s <- exp(scale s - max) / sum, the max taken
// first as the twin (and torch) do, so no exp overflows. One invocation per row (query token).

@group(0) @binding(0) var<uniform> p: SoftmaxParams;
@group(0) @binding(1) var<storage, read_write> s: array<act>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let row = gid.y * nwg.x * 64u + gid.x;
    if row >= p.rows {
        return;
    }
    let base = row * p.len;
    var mx = p.scale * f32(s[base]);
    for (var j = 1u; j < p.len; j++) {
        mx = max(mx, p.scale * f32(s[base + j]));
    }
    var total = 0.0;
    for (var j = 0u; j < p.len; j++) {
        let e = exp(p.scale * f32(s[base + j]) - mx);
        s[base + j] = act(e);
        total += e;
    }
    for (var j = 0u; j < p.len; j++) {
        s[base + j] = act(f32(s[base + j]) / total);
    }
}
