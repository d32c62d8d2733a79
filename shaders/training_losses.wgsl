// training_losses, per element: x_t = q_sample(x_start, noise), then the squared error (mse) or the vb term in nats (kl). sample_mean.wgsl averages per sample.
// Prepended with common.wgsl. Host: src/gpu/kernels/training_losses.rs; CPU twin: src/cpu/kernels/training_losses.rs; test: tests/training_losses.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<f32>;
@group(0) @binding(4) var<storage, read> noise: array<f32>;
@group(0) @binding(5) var<storage, read> model_output: array<f32>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(6) var<storage, read> model_var: array<f32>;
@group(0) @binding(7) var<storage, read_write> terms: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let step = step_index(timesteps[i / params.sample_len], params.num_timesteps);
        let c = coefs[step];
        let x0 = x_start[i];
        let xt = c.sqrt_abar * x0 + c.sqrt_one_minus_abar * noise[i];
        let out = model_output[i];
        if params.loss_type == LOSS_KL {
            // clip_denoised as the caller set it; the original always uses 0 here.
            let m = p_mean_variance_elem(params, c, xt, out, model_var[i]);
            terms[i] = vb_term_elem(params, step, c, x0, xt, m);
        } else {
            var goal: f32;
            switch params.mean_type {
                case MEAN_XPREV: { goal = posterior_mean(c, x0, xt); }
                case MEAN_XSTART: { goal = x0; }
                case MEAN_V: { goal = c.sqrt_abar * noise[i] - c.sqrt_one_minus_abar * x0; }
                default: { goal = noise[i]; } // MEAN_EPS
            }
            let err = goal - out;
            terms[i] = err * err;
        }
    }
}
