// Elementwise KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)) in nats.
// Prepended with common.wgsl. Host: src/gpu/kernels/normal_kl.rs; CPU twin: src/cpu/kernels/normal_kl.rs; test: tests/normal_kl.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> mean1: array<f32>;
@group(0) @binding(2) var<storage, read> logvar1: array<f32>;
@group(0) @binding(3) var<storage, read> mean2: array<f32>;
@group(0) @binding(4) var<storage, read> logvar2: array<f32>;
@group(0) @binding(5) var<storage, read_write> kl: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        kl[i] = normal_kl_elem(mean1[i], logvar1[i], mean2[i], logvar2[i]);
    }
}
