// One reparameterised reverse step on f16 storage: x_{t-1} = mean + [t != 0] exp(0.5 logvar)
// noise, with p_mean_variance_elem in f32 per value; halves unpacked with unpack2x16float and
// rounded back with pack2x16float. Eight values (one vec4<u32>) per invocation, grouped as in
// q_sample_f16.wgsl. Prepended with common.wgsl. Host: src/gpu/p_sample.rs; CPU twin:
// src/cpu/p_sample.rs on the f16-rounded inputs; test: tests/p_sample.rs.

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

// (sample, pred_xstart) of one value at row `step`, as p_sample.wgsl computes it.
fn step_value(step: u32, x: f32, out: f32, v: f32, z: f32) -> vec2<f32> {
    let m = p_mean_variance_elem(with_model_constants(params), coefs[step], x, out, v);
    let nonzero = select(1.0, 0.0, step == 0u);
    return vec2<f32>(m.mean + nonzero * exp(0.5 * m.log_variance) * z, m.pred_xstart);
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let groups = (params.n_elements + 7u) / 8u;
    let shared_row = params.sample_len % 8u == 0u;
    let learned = VAR_TYPE == VAR_LEARNED || VAR_TYPE == VAR_LEARNED_RANGE;
    for (var g = gid.x; g < groups; g += nwg.x * WG_SIZE) {
        let xs = x[g];
        let out = model_output[g];
        let z = noise[g];
        var v = vec4<u32>(0u);
        if learned {
            v = model_var[g];
        }
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
            let xk = unpack2x16float(xs[k]);
            let ok = unpack2x16float(out[k]);
            let vk = unpack2x16float(v[k]);
            let zk = unpack2x16float(z[k]);
            let r0 = step_value(s0, xk.x, ok.x, vk.x, zk.x);
            let r1 = step_value(s1, xk.y, ok.y, vk.y, zk.y);
            s[k] = pack2x16float(vec2<f32>(r0.x, r1.x));
            p[k] = pack2x16float(vec2<f32>(r0.y, r1.y));
        }
        sample[g] = s;
        pred_xstart[g] = p;
    }
}
