// Mixture denoiser, stage 1: dist[b, m] = |x_t[b] - sqrt(abar_t) d_m|^2, one workgroup per
// (sample, point) pair (one invocation per pair when sample_len <= SHORT_REDUCTION), summed directly (not as |x|^2 - 2 x.d + |d|^2, which cancels when x_t is
// close to a point). Prepended with common.wgsl and philox.wgsl. Host:
// src/gpu/mixture_denoiser.rs; CPU twin: src/cpu/mixture_denoiser.rs; test:
// tests/mixture_denoiser.rs.

@group(0) @binding(0) var<uniform> params: MixtureParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> points: array<f32>;
@group(0) @binding(5) var<storage, read_write> dist: array<f32>;

var<workgroup> partial: array<f32, WG_SIZE>;

fn pair_distance(pair: u32) -> f32 {
    let b = pair / params.num_points;
    let m = pair % params.num_points;
    let sqrt_abar = coefs[step_index(timesteps[b], params.num_timesteps)].sqrt_abar;
    var sum = 0.0;
    for (var j = 0u; j < params.sample_len; j = j + 1u) {
        let diff = x[b * params.sample_len + j] - sqrt_abar * points[m * params.sample_len + j];
        sum = sum + diff * diff;
    }
    return sum;
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let pairs = params.batch * params.num_points;
    if params.sample_len <= SHORT_REDUCTION {
        // Short samples: invocation k of the grid owns pair k (uniform branch: a parameter).
        let k = (wid.x + wid.y * nwg.x) * WG_SIZE + lid;
        if k < pairs {
            dist[k] = pair_distance(k);
        }
        return;
    }
    let pair = wid.x + wid.y * nwg.x; // b * num_points + m
    if pair >= pairs {
        return; // uniform per workgroup
    }
    let b = pair / params.num_points;
    let m = pair % params.num_points;
    let sqrt_abar = coefs[step_index(timesteps[b], params.num_timesteps)].sqrt_abar;
    var sum = 0.0;
    for (var j = lid; j < params.sample_len; j += WG_SIZE) {
        let diff = x[b * params.sample_len + j] - sqrt_abar * points[m * params.sample_len + j];
        sum = sum + diff * diff;
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var stride = WG_SIZE / 2u; stride > 0u; stride = stride / 2u) {
        if lid < stride {
            partial[lid] = partial[lid] + partial[lid + stride];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        dist[pair] = partial[0];
    }
}
