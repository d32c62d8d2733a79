// Mixture denoiser, stage 3, four elements of four samples per invocation: mixture_output.wgsl's
// per-element arithmetic (the same bits: the same sum over m in the same order, a zero weight
// adding exactly 0) with vec4 loads and stores. The weighted sum over points is the costly
// part, and on llvmpipe a storage load costs about the same for one float or a vec4 (it runs
// lane by lane either way), so an invocation serves one vec4 of a group of four samples: per
// point, one vec4 of their four weights (`weight_index`: point-major) and one vec4 of the
// point serve four outputs, where one sample per invocation took a weight load and a point
// load for one (output stage about 3.4 -> 2 ms at [128, 3, 32, 32], t = 500). Its grid counts
// sample groups where the other vec4 kernels count samples (per_sample_at in common.wgsl when
// samples are long). The host picks it when sample_len is a multiple of 4.
// Prepended with common.wgsl and philox.wgsl. Host: src/gpu/sampling/mixture_denoiser.rs; CPU twin:
// src/cpu/sampling/mixture_denoiser.rs; test: tests/sample_loop.rs.

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> points: array<vec4<f32>>;
// [M, sample_groups(B)]: the weights of samples 4g .. 4g + 3 for point m.
@group(0) @binding(5) var<storage, read> weights: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> model_output: array<vec4<f32>>;
// For fixed variance types the host binds a dummy here; it is never written then.
@group(0) @binding(7) var<storage, read_write> model_var: array<vec4<f32>>;

// The model's output for vec4 k of sample b from its weighted sum of points mu.
fn write_output(b: u32, k: u32, len4: u32, mu: vec4<f32>) {
    if b >= params.batch {
        return; // a padding slot of the last group
    }
    let c = coefs[step_index(timesteps[b], params.num_timesteps)];
    let model = mixture_with_model_constants(params);
    let i = b * len4 + k;
    model_output[i] = mixture_output4(model, c, x[i], mu);
    if model.var_type == VAR_LEARNED || model.var_type == VAR_LEARNED_RANGE {
        model_var[i] = gaussian_var4(model, c);
    }
}

// Vec4 k of the four samples of group g.
fn denoise_group(g: u32, k: u32, len4: u32) {
    let groups = sample_groups(params.batch);
    var mu0 = vec4<f32>(0.0);
    var mu1 = vec4<f32>(0.0);
    var mu2 = vec4<f32>(0.0);
    var mu3 = vec4<f32>(0.0);
    for (var m = 0u; m < params.num_points; m = m + 1u) {
        let r = weights[m * groups + g];
        // Far points underflow to exactly 0: skip their reads when all four samples' do.
        if any(r != vec4<f32>(0.0)) {
            let d = points[m * len4 + k];
            mu0 = mu0 + r.x * d;
            mu1 = mu1 + r.y * d;
            mu2 = mu2 + r.z * d;
            mu3 = mu3 + r.w * d;
        }
    }
    write_output(4u * g, k, len4, mu0);
    write_output(4u * g + 1u, k, len4, mu1);
    write_output(4u * g + 2u, k, len4, mu2);
    write_output(4u * g + 3u, k, len4, mu3);
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let len4 = params.sample_len / 4u;
    // (sample group, vec4): the grid counts groups of four samples where others count samples.
    let at = vec4_position(len4, 0u, lid, wid, nwg);
    if at.y < len4 && at.x < sample_groups(params.batch) {
        denoise_group(at.x, at.y, len4);
    }
}
