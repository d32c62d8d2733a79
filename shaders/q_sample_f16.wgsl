// Forward noising on f16 storage: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise, computed in
// f32 from halves unpacked with unpack2x16float and rounded back with pack2x16float (no
// SHADER_F16 needed). Each group of eight values (one vec4<u32>) is one unit of work, and
// VEC4S_PER_INVOCATION groups go to an invocation; the host pads f16 buffers to whole groups
// (src/gpu/runtime/tensor_f16.rs). On the per-sample grid (the host picks it only when sample_len is a
// multiple of 8 and samples fill their workgroups) the row is loaded once per invocation, as in
// q_sample_vec4.wgsl; on the flat grid every pair of values finds its own row, so any
// sample_len works. Prepended with common.wgsl. Host: src/gpu/kernels/q_sample.rs; CPU twin:
// src/cpu/kernels/q_sample.rs on the f16-rounded inputs; test: tests/q_sample.rs.

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

// Group g with every value at row c (a group inside one sample).
fn q_sample_group(g: u32, c: StepCoefs) {
    let a = x_start[g];
    let z = noise[g];
    var out: vec4<u32>;
    for (var k = 0u; k < 4u; k++) {
        out[k] = pack2x16float(
            c.sqrt_abar * unpack2x16float(a[k]) + c.sqrt_one_minus_abar * unpack2x16float(z[k])
        );
    }
    x_t[g] = out;
}

// Group g on any sample_len: each pair of values at its own rows, since a group may straddle
// samples unless sample_len is a multiple of 8 (`shared_row`).
fn q_sample_group_any(g: u32, shared_row: bool) {
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
        let c = coefs[step_index(timesteps[b], params.num_timesteps)];
        for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
            let k = per_sample_at(j, lid, wid, nwg).y;
            if k < len8 && b * len8 + k < groups {
                q_sample_group(b * len8 + k, c);
            }
        }
    } else {
        let shared_row = params.sample_len % 8u == 0u;
        for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
            let g = flat_index(j, lid, wid, nwg);
            if g < groups {
                q_sample_group_any(g, shared_row);
            }
        }
    }
}
