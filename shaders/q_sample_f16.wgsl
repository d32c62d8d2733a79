// Forward noising on f16 storage: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise, computed in
// f32 from halves unpacked with unpack2x16float and rounded back with pack2x16float (no
// SHADER_F16 needed). Each invocation takes a group of eight values (one vec4<u32>); the host
// pads f16 buffers to whole groups (src/gpu/tensor_f16.rs). When sample_len is a multiple of 8 a
// group lies inside one sample and shares one timestep lookup; otherwise each value finds its
// own. Prepended with common.wgsl. Host: src/gpu/q_sample.rs; CPU twin: src/cpu/q_sample.rs on
// the f16-rounded inputs; test: tests/q_sample.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> noise: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read_write> x_t: array<vec4<u32>>;

// The schedule row of element e (padding past the end takes the last sample's).
fn coefs_of(e: u32) -> StepCoefs {
    let b = min(e, params.n_elements - 1u) / params.sample_len;
    return coefs[step_index(timesteps[b], params.num_timesteps)];
}

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let groups = (params.n_elements + 7u) / 8u;
    let shared_row = params.sample_len % 8u == 0u;
    for (var g = gid.x; g < groups; g += nwg.x * WG_SIZE) {
        let a = x_start[g];
        let z = noise[g];
        var out: vec4<u32>;
        for (var k = 0u; k < 4u; k++) {
            let e = g * 8u + 2u * k;
            var c0 = coefs_of(g * 8u);
            var c1 = c0;
            if !shared_row {
                c0 = coefs_of(e);
                c1 = coefs_of(e + 1u);
            }
            let sa = vec2<f32>(c0.sqrt_abar, c1.sqrt_abar);
            let so = vec2<f32>(c0.sqrt_one_minus_abar, c1.sqrt_one_minus_abar);
            out[k] = pack2x16float(sa * unpack2x16float(a[k]) + so * unpack2x16float(z[k]));
        }
        x_t[g] = out;
    }
}
