// Forward noising, four elements per invocation: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise.
// The same arithmetic per element as q_sample.wgsl (results are bit-identical); the host picks
// this kernel when sample_len is a multiple of 4, so that each vec4 lies inside one sample and
// one timestep lookup serves four elements. vec4 loads and stores tripled throughput on
// llvmpipe (ddpm bench) over the scalar kernel, which stays for other sample lengths.
// Prepended with common.wgsl. Host: src/gpu/q_sample.rs; CPU twin: src/cpu/q_sample.rs;
// test: tests/q_sample.rs.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<storage, read> coefs: array<StepCoefs>;
@group(0) @binding(2) var<storage, read> timesteps: array<u32>;
@group(0) @binding(3) var<storage, read> x_start: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> noise: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> x_t: array<vec4<f32>>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let n4 = params.n_elements / 4u;
    let sample_len4 = params.sample_len / 4u;
    // Grid-stride loop over vec4s, as in q_sample.wgsl.
    for (var i = gid.x; i < n4; i += nwg.x * WG_SIZE) {
        let c = coefs[step_index(timesteps[i / sample_len4], params.num_timesteps)];
        x_t[i] = c.sqrt_abar * x_start[i] + c.sqrt_one_minus_abar * noise[i];
    }
}
