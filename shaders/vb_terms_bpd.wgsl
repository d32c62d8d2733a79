// _vb_terms_bpd, per element: the term in nats (sample_mean.wgsl then averages per sample in bits) and pred_xstart.
// Prepended with common.wgsl. Host: src/gpu/kernels/vb_terms_bpd.rs; CPU twin: src/cpu/kernels/vb_terms_bpd.rs; test: tests/vb_terms_bpd.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<f32>;
@group(0) @binding(4) var<storage, read> x_t: array<f32>;
@group(0) @binding(5) var<storage, read> model_output: array<f32>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(6) var<storage, read> model_var: array<f32>;
@group(0) @binding(7) var<storage, read_write> terms: array<f32>;
@group(0) @binding(8) var<storage, read_write> pred_xstart: array<f32>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // Grid-stride loop: the host caps the grid at the per-dimension workgroup limit, so any
    // element count works; the bound check also covers sizes not a multiple of WG_SIZE.
    for (var i = gid.x; i < params.n_elements; i += nwg.x * WG_SIZE) {
        let step = step_index(timesteps[i / params.sample_len], params.num_timesteps);
        let c = coefs[step];
        let m = p_mean_variance_elem(params, c, x_t[i], model_output[i], model_var[i]);
        terms[i] = vb_term_elem(params, step, c, x_start[i], x_t[i], m);
        pred_xstart[i] = m.pred_xstart;
    }
}
