// Per-sample mean of a [B, sample_len] array times a scale (`nn.meanflat`, then e.g. / ln 2).
// Prepended with common.wgsl. Host: src/gpu/kernels/sample_mean.rs; CPU twin: src/cpu/kernels/common.rs
// (`sample_means`); tested through tests/vb_terms_bpd.rs, training_losses.rs, prior_bpd.rs and
// tests/sample_mean.rs.
//
// Summation order (deterministic, no atomics): workgroup w owns sample w. Invocation j takes
// elements j, j + WG_SIZE, j + 2 WG_SIZE, ... and sums them pairwise (a binary counter of block
// sums: blocks of 2^k elements merge with their equal-sized neighbour, the leftover blocks are
// added smallest first); then the WG_SIZE lane sums are added pairwise in a fixed tree (stride
// 128, 64, ..., 1). The error grows with log2 of the sample length, not with the length.
// Kahan compensation was tried first and measured no better: Mesa's optimiser treats float
// additions as reassociable and simplified (s - sum) - y away.

// Keep in sync with `ReduceParams` in src/gpu/runtime/params.rs.
struct ReduceParams {
    sample_len: u32,
    n_samples: u32,
    scale_over_len: f32, // scale / sample_len, rounded once from f64 on the host
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> means: array<f32>;

var<workgroup> partial: array<f32, WG_SIZE>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // A 2-D grid when B exceeds the per-dimension workgroup limit.
    let sample = wid.x + wid.y * nwg.x;
    if sample >= params.n_samples {
        return; // uniform per workgroup, so the barriers below stay in uniform control flow
    }
    let base = sample * params.sample_len;
    // blocks[k] holds the sum of a block of 2^k elements when bit k of `count` is set.
    var blocks: array<f32, 32>;
    var count = 0u;
    for (var j = lid; j < params.sample_len; j += WG_SIZE) {
        var v = values[base + j];
        var k = 0u;
        while ((count >> k) & 1u) == 1u {
            v = blocks[k] + v;
            k = k + 1u;
        }
        blocks[k] = v;
        count = count + 1u;
    }
    var sum = 0.0;
    for (var k = 0u; k < 32u; k = k + 1u) {
        if ((count >> k) & 1u) == 1u {
            sum = sum + blocks[k];
        }
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride = stride / 2u) {
        if lid < stride {
            partial[lid] = partial[lid] + partial[lid + stride];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        means[sample] = partial[0] * params.scale_over_len;
    }
}
