// Forward noising, four elements per invocation: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise.
// The same arithmetic per element as q_sample.wgsl (results are bit-identical); the host picks
// this kernel when sample_len is a multiple of 4, so that each vec4 lies inside one sample and
// one timestep lookup serves four elements. vec4 loads and stores tripled throughput on
// llvmpipe (ddpm bench) over the scalar kernel, which stays for other sample lengths. No
// grid-stride loop, on a per-sample grid when samples are long (no division, uniform timestep):
// from 0.65 to about 0.8 of the copy kernel's bandwidth on llvmpipe (see per_sample_at in
// common.wgsl); VEC4S_PER_INVOCATION vec4s per invocation sharing one schedule-row load, to
// 0.82-0.95.
// Prepended with common.wgsl. Host: src/gpu/kernels/q_sample.rs; CPU twin: src/cpu/kernels/q_sample.rs;
// test: tests/q_sample.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> noise: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> x_t: array<vec4<f32>>;

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let len4 = params.sample_len / 4u;
    // The first vec4's row, loaded before the bounds checks: uniform over the workgroup that
    // way on the per-sample grid (a sample past the batch reads in bounds, as wgpu clamps
    // indices, and writes nothing).
    let first = vec4_position(len4, 0u, lid, wid, nwg).x;
    var c = coefs[step_index(timesteps[first], params.num_timesteps)];
    for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
        let at = vec4_position(len4, j, lid, wid, nwg);
        let i = at.x * len4 + at.y;
        // Past the end of the sample, or a sample past the batch (the overhang of y * z).
        if at.y < len4 && i < params.n_elements / 4u {
            if sample_may_change(j) {
                c = coefs[step_index(timesteps[at.x], params.num_timesteps)];
            }
            x_t[i] = c.sqrt_abar * x_start[i] + c.sqrt_one_minus_abar * noise[i];
        }
    }
}
