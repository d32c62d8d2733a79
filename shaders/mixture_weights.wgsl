// Mixture denoiser, stage 2: responsibilities r[b, m] = softmax_m(-dist[b, m] / (2 v)) with
// v = abar S^2 + 1 - abar, by a max-shifted log-sum-exp; one workgroup per sample (one
// invocation per sample when num_points <= SHORT_REDUCTION). Written point-major at
// `weight_index` (common.wgsl), the layout mixture_output_vec4.wgsl loads four samples from.
// Prepended with common.wgsl and philox.wgsl. Host: src/gpu/sampling/mixture_denoiser.rs; CPU twin:
// src/cpu/sampling/mixture_denoiser.rs.

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
// [B, M, dist_chunks(sample_len)] from mixture_distances.wgsl
@group(0) @binding(3) var<storage, read> partial_dist: array<f32>;
@group(0) @binding(4) var<storage, read_write> weights: array<f32>;

var<workgroup> partial: array<f32, WG_SIZE>;

fn logit_scale(b: u32) -> f32 {
    let c = coefs[step_index(timesteps[b], params.num_timesteps)];
    // v from the f64 table's 1 - abar, so it keeps its digits at small t.
    return -0.5 / (c.sqrt_abar * c.sqrt_abar * params.data_var + c.one_minus_abar);
}

// dist[b, m] = |x_t[b] - sqrt(abar_t) d_m|^2 at flat pair index b * num_points + m: its chunks'
// partial sums, added in order.
fn dist(pair: u32) -> f32 {
    let chunks = dist_chunks(params.sample_len);
    var sum = 0.0;
    for (var c = 0u; c < chunks; c++) {
        sum += partial_dist[pair * chunks + c];
    }
    return sum;
}

// The logits, exps and weights pass through `weights` (each entry written and read by the
// same invocation), so each distance's partial sums are added once.
fn weights_by_one_invocation(b: u32) {
    let scale = logit_scale(b);
    let base = b * params.num_points;
    var top = -3.4e38;
    for (var m = 0u; m < params.num_points; m = m + 1u) {
        let logit = scale * dist(base + m);
        weights[weight_index(params, b, m)] = logit;
        top = max(top, logit);
    }
    var total = 0.0;
    for (var m = 0u; m < params.num_points; m = m + 1u) {
        let w = weight_index(params, b, m);
        let e = exp(weights[w] - top);
        weights[w] = e;
        total = total + e;
    }
    for (var m = 0u; m < params.num_points; m = m + 1u) {
        let w = weight_index(params, b, m);
        weights[w] = weights[w] / total;
    }
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    if params.num_points <= SHORT_REDUCTION {
        // Few points: invocation k of the grid owns sample k (uniform branch: a parameter).
        let k = (wid.x + wid.y * nwg.x) * WG_SIZE + lid;
        if k < params.batch {
            weights_by_one_invocation(k);
        }
        return;
    }
    let b = wid.x + wid.y * nwg.x;
    if b >= params.batch {
        return; // uniform per workgroup
    }
    let scale = logit_scale(b);
    let base = b * params.num_points;
    // As in weights_by_one_invocation, through `weights`: invocation lid owns the same points
    // in every loop below.
    var best = -3.4e38;
    for (var m = lid; m < params.num_points; m += WG_SIZE) {
        let logit = scale * dist(base + m);
        weights[weight_index(params, b, m)] = logit;
        best = max(best, logit);
    }
    partial[lid] = best;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride = stride / 2u) {
        if lid < stride {
            partial[lid] = max(partial[lid], partial[lid + stride]);
        }
        workgroupBarrier();
    }
    let top = partial[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var m = lid; m < params.num_points; m += WG_SIZE) {
        let w = weight_index(params, b, m);
        let e = exp(weights[w] - top);
        weights[w] = e;
        sum = sum + e;
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride = stride / 2u) {
        if lid < stride {
            partial[lid] = partial[lid] + partial[lid + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    for (var m = lid; m < params.num_points; m += WG_SIZE) {
        let w = weight_index(params, b, m);
        weights[w] = weights[w] / total;
    }
}
