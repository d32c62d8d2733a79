// calc_bpd_loop's squared errors at step t, per element: (pred_xstart - x_0)^2 and
// (eps_from_xstart - eps)^2 with eps_from_xstart = (sqrt(1/abar) x_t - pred_xstart) /
// sqrt(1/abar - 1) (improved-diffusion's _predict_eps_from_xstart). sample_mean.wgsl then
// averages them per sample. Prepended with common.wgsl and philox.wgsl. Host:
// src/gpu/sampling/bpd_loop.rs; CPU twin: src/cpu/sampling/bpd_loop.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<f32>;
@group(0) @binding(4) var<storage, read> x_t: array<f32>;
@group(0) @binding(5) var<storage, read> eps: array<f32>;
@group(0) @binding(6) var<storage, read> pred_xstart: array<f32>;
@group(0) @binding(7) var<storage, read_write> xstart_se: array<f32>;
@group(0) @binding(8) var<storage, read_write> eps_se: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let c = coefs[step_index(timesteps[i / params.sample_len], params.num_timesteps)];
        let dx = pred_xstart[i] - x_start[i];
        xstart_se[i] = dx * dx;
        let eps_pred = (c.sqrt_recip_abar * x_t[i] - pred_xstart[i]) / c.sqrt_recipm1_abar;
        let de = eps_pred - eps[i];
        eps_se[i] = de * de;
    }
}
