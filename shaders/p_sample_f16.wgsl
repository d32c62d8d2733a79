// One reparameterised reverse step on f16 storage: x_{t-1} = mean + [t != 0] exp(0.5 logvar)
// noise, with p_mean_variance_elem in f32 per value; halves unpacked with unpack2x16float and
// rounded back with pack2x16float. Groups of eight values (one vec4<u32>), VEC4S_PER_INVOCATION
// per invocation, on the per-sample or the flat grid as in q_sample_f16.wgsl. Prepended with
// common.wgsl. Host: src/gpu/kernels/p_sample.rs; CPU twin: src/cpu/kernels/p_sample.rs on the f16-rounded
// inputs; test: tests/p_sample.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> model_output: array<vec4<u32>>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(5) var<storage, read> model_var: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> noise: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> sample: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read_write> pred_xstart: array<vec4<u32>>;

// The schedule row index of element e (padding past the end takes the last sample's).
fn step_of(e: u32) -> u32 {
    let b = min(e, params.n_elements - 1u) / params.sample_len;
    return step_index(timesteps[b], params.num_timesteps);
}

// (sample, pred_xstart) of one value at row `step` (c = coefs[step]), as p_sample.wgsl
// computes it.
fn step_value(step: u32, c: StepCoefs, x: f32, out: f32, v: f32, z: f32) -> vec2<f32> {
    let m = p_mean_variance_elem(with_model_constants(params), c, x, out, v);
    let nonzero = select(1.0, 0.0, step == 0u);
    return vec2<f32>(m.mean + nonzero * exp(0.5 * m.log_variance) * z, m.pred_xstart);
}

// The inputs of group g, packed; model_var only for the learned variance types.
struct GroupIn {
    x: vec4<u32>,
    out: vec4<u32>,
    v: vec4<u32>,
    z: vec4<u32>,
}

fn group_in(g: u32) -> GroupIn {
    var r: GroupIn;
    r.x = x[g];
    r.out = model_output[g];
    r.z = noise[g];
    if VAR_TYPE == VAR_LEARNED || VAR_TYPE == VAR_LEARNED_RANGE {
        r.v = model_var[g];
    }
    return r;
}

// Value pair k of a group (values 2k and 2k + 1) at rows s0 and s1: packed (sample,
// pred_xstart).
fn step_pair(i: GroupIn, k: u32, s0: u32, c0: StepCoefs, s1: u32, c1: StepCoefs) -> vec2<u32> {
    let xk = unpack2x16float(i.x[k]);
    let ok = unpack2x16float(i.out[k]);
    let vk = unpack2x16float(i.v[k]);
    let zk = unpack2x16float(i.z[k]);
    let r0 = step_value(s0, c0, xk.x, ok.x, vk.x, zk.x);
    let r1 = step_value(s1, c1, xk.y, ok.y, vk.y, zk.y);
    return vec2<u32>(pack2x16float(vec2<f32>(r0.x, r1.x)), pack2x16float(vec2<f32>(r0.y, r1.y)));
}

// Group g with every value at row `step` (a group inside one sample).
fn p_sample_group(g: u32, step: u32, c: StepCoefs) {
    let i = group_in(g);
    var s: vec4<u32>;
    var p: vec4<u32>;
    for (var k = 0u; k < 4u; k++) {
        let r = step_pair(i, k, step, c, step, c);
        s[k] = r.x;
        p[k] = r.y;
    }
    sample[g] = s;
    pred_xstart[g] = p;
}

// Group g on any sample_len: each pair of values at its own rows, since a group may straddle
// samples unless sample_len is a multiple of 8 (`shared_row`).
fn p_sample_group_any(g: u32, shared_row: bool) {
    let i = group_in(g);
    var s: vec4<u32>;
    var p: vec4<u32>;
    for (var k = 0u; k < 4u; k++) {
        let e = g * 8u + 2u * k;
        var s0 = step_of(g * 8u);
        var s1 = s0;
        if !shared_row {
            s0 = step_of(e);
            s1 = step_of(e + 1u);
        }
        let r = step_pair(i, k, s0, coefs[s0], s1, coefs[s1]);
        s[k] = r.x;
        p[k] = r.y;
    }
    sample[g] = s;
    pred_xstart[g] = p;
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let groups = (params.n_elements + 7u) / 8u;
    if GRID == GRID_PER_SAMPLE {
        // Whole groups per sample. The row is loaded before the bounds checks: uniform over the
        // workgroup that way (a sample past the batch reads in bounds, as wgpu clamps indices,
        // and writes nothing).
        let len8 = params.sample_len / 8u;
        let b = per_sample_at(0u, lid, wid, nwg).x;
        let step = step_index(timesteps[b], params.num_timesteps);
        let c = coefs[step];
        for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
            let k = per_sample_at(j, lid, wid, nwg).y;
            if k < len8 && b * len8 + k < groups {
                p_sample_group(b * len8 + k, step, c);
            }
        }
    } else {
        let shared_row = params.sample_len % 8u == 0u;
        for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
            let g = flat_index(j, lid, wid, nwg);
            if g < groups {
                p_sample_group_any(g, shared_row);
            }
        }
    }
}
