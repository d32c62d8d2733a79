// Dynamic thresholding's per-sample scale for short samples (at most `PER_LANE_MAX_LEN` values,
// src/gpu/kernels/dynamic_threshold.rs): one sample per invocation, on a grid of ceil(B / WG_SIZE)
// workgroups (x + y * width past the per-dimension limit). Prepended with common.wgsl, followed
// by shared/dynamic_threshold_scale.wgsl. Host: src/gpu/kernels/dynamic_threshold.rs; CPU twin:
// `dynamic_threshold_torch_f32` in src/cpu/kernels/dynamic_threshold.rs; tested by
// tests/dynamic_threshold.rs.
//
// The order statistic of rank k is the key with at most k keys below it and more than k at or
// below it: L^2 loads per sample, no workgroup memory, no barrier. Why a kernel of its own: on
// llvmpipe a shader with barriers runs as coroutines, and this counting loop ran 50 times slower
// (6 ms against 0.12 ms for 256 samples of 8 on lavapipe) inside the radix kernel than alone; and
// one workgroup per short sample would pay the radix kernel's fixed cost (about 100 us a
// workgroup there) for a few values. Measured per sample on lavapipe / llvmpipe GL: counting
// 6 / 9 us at L = 64, 24 / 23 us at L = 128; a radix workgroup (of that kernel's first
// double-buffered version) 100-150 / 430-620 us at L = 64 to 256. The
// L^2 + L loop iterations must stay below llvmpipe's loop limit of 65535 (L <= 255).

@group(0) @binding(0) var<uniform> params: ThresholdParams;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let sample = (wid.x + wid.y * nwg.x) * WG_SIZE + lid;
    if sample >= params.n_samples {
        return;
    }
    let base = sample * params.sample_len;
    var lo_key = 0u;
    var hi_key = 0u;
    for (var i = 0u; i < params.sample_len; i += 1u) {
        let key = abs_key(values[base + i]);
        var below = 0u;
        var equal = 0u;
        for (var j = 0u; j < params.sample_len; j += 1u) {
            let other = abs_key(values[base + j]);
            below += select(0u, 1u, other < key);
            equal += select(0u, 1u, other == key);
        }
        if below <= params.rank_lo && params.rank_lo < below + equal {
            lo_key = key;
        }
        if below <= params.rank_hi && params.rank_hi < below + equal {
            hi_key = key;
        }
    }
    scales[sample] = threshold_scale(params, lo_key, hi_key);
}
