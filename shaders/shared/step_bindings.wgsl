// The bindings every scalar sampling-step kernel (ddpm_step.wgsl, ddim_step.wgsl) declares, in
// the one explicit layout of src/gpu/runtime/step_layout.rs, prepended by `Kernel::source` after the
// common prefix. Binding 2, the sampler's rows `coefs` (StepCoefs or DdimCoefs), is declared by
// each kernel. Every binding is fixed for a whole sampling loop: the kernel writes the next
// step's timesteps (`next_t` of its row) into `next_timesteps`, and the host moves them into
// `timesteps` after the step (or swaps the two buffers), so nothing is made per step.

@group(0) @binding(0) var<uniform> params: ElementParams;
@group(0) @binding(1) var<uniform> noise: NoiseParams; // seed and the chunk's first sample
@group(0) @binding(3) var<storage, read> timesteps: array<u32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read> model_output: array<f32>;
// For fixed variance types the host binds model_output here again; it is never read then.
@group(0) @binding(6) var<storage, read> model_var: array<f32>;
// pred_xstart, then (multistep_step only) the sampler's state: its ring of past predictions and
// last sample, n_elements each (Sampler::state_slots).
@group(0) @binding(7) var<storage, read_write> pred_xstart: array<f32>;
// The next step's timesteps, written once per sample. Invocations of the same sample still read
// `timesteps` during this step, so it cannot be rewritten in place.
@group(0) @binding(8) var<storage, read_write> next_timesteps: array<u32>;
// [the B per-sample dynamic thresholds (THRESHOLD), padded to a multiple of 4 | host-drawn noise
// of the chunk (NOISE_AUX), from params.aux_noise_offset]; a small unused buffer otherwise.
@group(0) @binding(9) var<storage, read> aux: array<f32>;

// Sample b's dynamic threshold s (1 without THRESHOLD, where it is not used).
fn threshold_scale(b: u32) -> f32 {
    if THRESHOLD != 0u {
        return aux[b];
    }
    return 1.0;
}

// The normal of element j (flat index i) of sample b at step t: drawn in the shader keyed by
// (seed, STREAM_SAMPLE, t, global sample, j), or read from `aux`.
fn step_noise(t: u32, b: u32, j: u32, i: u32) -> f32 {
    if NOISE_SOURCE == NOISE_AUX {
        return aux[params.aux_noise_offset + i];
    }
    let seed = vec2<u32>(noise.seed_lo, noise.seed_hi);
    return noise_at(seed, STREAM_SAMPLE, t, noise.first_sample + b, j);
}
