// _prior_bpd, per element: KL(q(x_{T-1} | x_0) || N(0, 1)) in nats; sample_mean.wgsl averages per sample in bits.
// Prepended with common.wgsl. Host: src/gpu/kernels/prior_bpd.rs; CPU twin: src/cpu/kernels/prior_bpd.rs; test: tests/prior_bpd.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> x_start: array<f32>;
@group(0) @binding(3) var<storage, read_write> terms: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let c = coefs[params.num_timesteps - 1u];
        terms[i] = normal_kl_elem(c.sqrt_abar * x_start[i], c.log_one_minus_abar, 0.0, 0.0);
    }
}
