// Elementwise log-likelihood of 8-bit-binned data in [-1, 1] under N(means, e^(2 log_scales)).
// Prepended with common.wgsl. Host: src/gpu/kernels/discretized_gaussian_log_likelihood.rs; CPU twin: src/cpu/kernels/discretized_gaussian_log_likelihood.rs; test: tests/discretized_gaussian_log_likelihood.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> means: array<f32>;
@group(0) @binding(3) var<storage, read> log_scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> log_probs: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        log_probs[i] = discretized_gaussian_log_likelihood_elem(params, x[i], means[i], log_scales[i]);
    }
}
