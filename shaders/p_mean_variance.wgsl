// p(x_{t-1} | x_t) from the model's output: mean, variance, log-variance and predicted x_0.
// Prepended with common.wgsl. Host: src/gpu/kernels/p_mean_variance.rs; CPU twin: src/cpu/kernels/p_mean_variance.rs; test: tests/p_mean_variance.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> model_output: array<f32>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(5) var<storage, read> model_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> model_mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> model_variance: array<f32>;
@group(0) @binding(8) var<storage, read_write> model_log_variance: array<f32>;
@group(0) @binding(9) var<storage, read_write> pred_xstart: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let c = coefs[step_index(timesteps[i / params.sample_len], params.num_timesteps)];
        let m = p_mean_variance_elem(params, c, x[i], model_output[i], model_var[i]);
        model_mean[i] = m.mean;
        model_variance[i] = m.variance;
        model_log_variance[i] = m.log_variance;
        pred_xstart[i] = m.pred_xstart;
    }
}
