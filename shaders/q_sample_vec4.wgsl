// Forward noising, four elements per invocation: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise.
// The same arithmetic per element as q_sample.wgsl (results are bit-identical); the host picks
// this kernel when sample_len is a multiple of 4, so that each vec4 lies inside one sample and
// one timestep lookup serves four elements. vec4 loads and stores tripled throughput on
// llvmpipe (ddpm bench) over the scalar kernel, which stays for other sample lengths. One vec4
// per invocation without a grid-stride loop, on a per-sample grid when samples are long (no
// division, uniform timestep): from 0.65 to about 0.8 of the copy kernel's bandwidth on
// llvmpipe (see per_sample_at in common.wgsl).
// Prepended with common.wgsl. Host: src/gpu/q_sample.rs; CPU twin: src/cpu/q_sample.rs;
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
    let at = vec4_position(len4, lid, wid, nwg);
    let b = at.x; // the sample
    let k = at.y; // the vec4 within sample b
    let i = b * len4 + k;
    // Loaded before the bounds check: uniform over the workgroup that way (a sample past the
    // batch reads in bounds, as wgpu clamps indices, and writes nothing).
    let c = coefs[step_index(timesteps[b], params.num_timesteps)];
    // Past the end of the sample, or a sample past the batch (the overhang of y * z).
    if k < len4 && i < params.n_elements / 4u {
        x_t[i] = c.sqrt_abar * x_start[i] + c.sqrt_one_minus_abar * noise[i];
    }
}
