// Forward noising: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise.
// Prepended with common.wgsl. Host: src/gpu/kernels/q_sample.rs; CPU twin: src/cpu/kernels/q_sample.rs; test: tests/q_sample.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<f32>;
@group(0) @binding(4) var<storage, read> noise: array<f32>;
@group(0) @binding(5) var<storage, read_write> x_t: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let c = coefs[step_index(timesteps[i / params.sample_len], params.num_timesteps)];
        x_t[i] = c.sqrt_abar * x_start[i] + c.sqrt_one_minus_abar * noise[i];
    }
}
