// The bindings of the vec4 sampling-step kernels (ddpm_step_vec4.wgsl,
// ddpm_step_gaussian_vec4.wgsl, ddim_step_vec4.wgsl): those of step_bindings.wgsl with the
// x-like arrays as vec4s, and the fused denoiser's parameters. Prepended by `Kernel::source`;
// binding 2 (`coefs`) is declared by each kernel, the entry point comes from
// step_vec4_entry.wgsl.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<uniform> noise: NoiseParams; // seed and the chunk's first sample
@group(0) @binding(3) var<storage, read> timesteps: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> model_output: array<vec4<f32>>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(6) var<storage, read> model_var: array<vec4<f32>>;
// pred_xstart, then (multistep_step only) the sampler's state: its ring of past predictions and
// last sample, n_elements each (Sampler::state_slots).
@group(0) @binding(7) var<storage, read_write> pred_xstart: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> next_timesteps: array<u32>;
// As in step_bindings.wgsl; params.aux_noise_offset is a multiple of 4.
@group(0) @binding(9) var<storage, read> aux: array<vec4<f32>>;
// A denoiser the step computes itself (ddpm_step_gaussian_vec4.wgsl); unused by the others.
@group(0) @binding(10) var<uniform> fused: MixtureParams;

fn threshold_scale(b: u32) -> f32 {
    if THRESHOLD != 0u {
        return aux[b / 4u][b % 4u];
    }
    return 1.0;
}

// The normals of vec4 k (flat vec4 index i) of sample b at step t, as step_noise does per element.
fn step_noise4(t: u32, b: u32, k: u32, i: u32) -> vec4<f32> {
    if NOISE_SOURCE == NOISE_AUX {
        return aux[params.aux_noise_offset / 4u + i];
    }
    let seed = vec2<u32>(noise.seed_lo, noise.seed_hi);
    return noise4_at(seed, STREAM_SAMPLE, t, noise.first_sample + b, 4u * k);
}
