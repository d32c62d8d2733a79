// x_0 as the model's output predicts it (MEAN_TYPE, a pipeline constant), before clipping, per
// element: what dynamic thresholding takes the per-sample quantile of. The step kernels compute
// the same x_0 with the same arithmetic (predict_xstart and ddim_elem in shared/model.wgsl) from
// rows rounded from the same f64 values, so the thresholds and the step agree.
// Host: src/gpu/kernels/predict_xstart.rs; CPU twin: src/cpu/kernels/predict_xstart.rs; test:
// tests/predict_xstart.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> model_output: array<f32>;
@group(0) @binding(5) var<storage, read_write> pred_xstart: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = with_model_constants(params);
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let c = coefs[step_index(timesteps[i / params.sample_len], params.num_timesteps)];
        pred_xstart[i] = predict_xstart(p, c, x[i], model_output[i]);
    }
}
