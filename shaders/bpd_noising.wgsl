// calc_bpd_loop's forward noising at step t with fresh in-shader noise (stream
// STREAM_Q_SAMPLE, keyed by t): x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, eps kept for the
// eps mse. Prepended with common.wgsl and philox.wgsl. Host: src/gpu/sampling/bpd_loop.rs; CPU twin:
// src/cpu/sampling/bpd_loop.rs; test: tests/bpd_loop.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<uniform> noise: NoiseParams;
@group(0) @binding(2) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(3) var<storage, read> timesteps: array<u32>;
@group(0) @binding(4) var<storage, read> x_start: array<f32>;
@group(0) @binding(5) var<storage, read_write> x_t: array<f32>;
@group(0) @binding(6) var<storage, read_write> eps: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let b = i / params.sample_len;
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        let seed = vec2<u32>(noise.seed_lo, noise.seed_hi);
        let z = noise_at(seed, STREAM_Q_SAMPLE, step, noise.first_sample + b, i % params.sample_len);
        eps[i] = z;
        x_t[i] = c.sqrt_abar * x_start[i] + c.sqrt_one_minus_abar * z;
    }
}
