// q(x_{t-1} | x_t, x_0): mean coef1 x_0 + coef2 x_t, variance beta tilde, log-variance clipped.
// Prepended with common.wgsl. Host: src/gpu/kernels/q_posterior_mean_variance.rs; CPU twin: src/cpu/kernels/q_posterior_mean_variance.rs; test: tests/q_posterior_mean_variance.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<f32>;
@group(0) @binding(4) var<storage, read> x_t: array<f32>;
@group(0) @binding(5) var<storage, read_write> posterior_mean_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> posterior_variance_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> posterior_log_variance_out: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let c = coefs[step_index(timesteps[i / params.sample_len], params.num_timesteps)];
        posterior_mean_out[i] = posterior_mean(c, x_start[i], x_t[i]);
        posterior_variance_out[i] = c.posterior_variance;
        posterior_log_variance_out[i] = c.posterior_log_variance_clipped;
    }
}
