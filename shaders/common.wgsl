// Shared by every kernel: src/gpu/runtime/shaders/mod.rs prepends this file, then shaders/shared/*.wgsl, to each
// kernel (`COMMON_WGSL` in src/gpu/runtime/shaders/mod.rs).
// Structs here are mirrored by #[repr(C)] Rust types; tests/shader_layout.rs checks both agree.

// Invocations per workgroup. Keep in sync with `WG_SIZE` in src/gpu/runtime/shaders/mod.rs.
const WG_SIZE: u32 = 256u;

// Mean types (`ElementParams.mean_type`). Keep in sync with `MeanType` codes in src/gpu/runtime/params.rs.
const MEAN_EPS: u32 = 0u;
const MEAN_XSTART: u32 = 1u;
const MEAN_XPREV: u32 = 2u;
const MEAN_V: u32 = 3u;     // v = sqrt(abar) eps - sqrt(1 - abar) x_0 (diffusers' v_prediction)

// Variance types (`ElementParams.var_type`). Keep in sync with src/gpu/runtime/params.rs.
const VAR_FIXEDSMALL: u32 = 0u;
const VAR_FIXEDLARGE: u32 = 1u;
const VAR_LEARNED: u32 = 2u;
const VAR_LEARNED_RANGE: u32 = 3u;

// Loss types (`ElementParams.loss_type`). Keep in sync with src/gpu/runtime/params.rs.
const LOSS_MSE: u32 = 0u;
const LOSS_KL: u32 = 1u;

// One row of the schedule tables, per timestep, computed in f64 on the host and rounded once.
// Keep in sync with `StepCoefs` in src/gpu/runtime/tables.rs.
struct StepCoefs {
    beta: f32,
    log_beta: f32,
    sqrt_abar: f32,
    one_minus_abar: f32,
    sqrt_one_minus_abar: f32,
    log_one_minus_abar: f32,
    sqrt_recip_abar: f32,
    sqrt_recipm1_abar: f32,
    posterior_variance: f32,
    posterior_log_variance_clipped: f32,
    posterior_mean_coef1: f32,
    posterior_mean_coef2: f32,
    recip_coef1: f32,
    coef2_over_coef1: f32,
    fixedlarge_log_variance: f32,
    // The timestep the sampling loop visits after this one (t - 1 on the full chain, the previous
    // kept step on a respaced one), or t itself at the chain's last step, where no noise is added.
    next_t: u32,
}

// One row of a DDIM chain (src/gpu/kernels/ddim_step.rs, rows built in f64 by src/sampler/ddim.rs), by
// the training timestep the loop calls the model with. Forward: x_0 and eps from the output at
// abar_t, then sqrt(abar_prev) x_0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z. Inverse: the
// same with abar_t the current step's and the target the next one's (sigma = 0).
struct DdimCoefs {
    sqrt_recip_abar: f32,           // sqrt(1 / abar_t): x_0 from eps
    sqrt_recipm1_abar: f32,         // sqrt(1 / abar_t - 1)
    sqrt_abar: f32,                 // sqrt(abar_t): x_0 from v, eps from x_0
    sqrt_one_minus_abar: f32,       // sqrt(1 - abar_t)
    recip_sqrt_one_minus_abar: f32, // 1 / sqrt(1 - abar_t): eps from x_0
    sqrt_abar_target: f32,          // sqrt(abar) of the step moved to
    direction: f32,                 // sqrt(1 - abar_target - sigma^2), from f64 (no cancellation)
    sigma: f32,                     // eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)
    next_t: u32,                    // as StepCoefs.next_t
    one_minus_abar: f32,            // 1 - abar_t, from f64 (the fused Gaussian denoiser's)
    _pad1: u32,
    _pad2: u32,
}

// One row of a linear multistep step (src/sampler/: DPM-Solver, UniPC; computed in f64), by
// training timestep. The model's output at abar_t (the first four, as DdimCoefs) gives x_0, and
// the history value m0: x_0 itself, eps where EPS_HISTORY is set in `flags`, or the model's
// output itself where OUTPUT_HISTORY is (PNDM, which combines raw outputs). Older history
// values m1..m3 are read from the ring (`ring` slots after pred_xstart; m_j lives in row byte j
// of `ring_rows` of the state buffer, m0 written there, pred_xstart being row 0). With CORRECT set in `flags`:
// xc = ax x + al last + a0 m0 + a1 m1 + a2 m2 + a3 m3 (UniPC's corrector; `last` is the slot
// after the ring, rewritten with xc), else xc = x. Then
// x <- bx xc + b0 m0 + b1 m1 + b2 m2 + b3 m3 + bz z. A zero coefficient reads nothing. Keep in
// sync with `MultistepCoefs` in src/gpu/kernels/multistep_step.rs.
struct MultistepCoefs {
    sqrt_recip_abar: f32,
    sqrt_recipm1_abar: f32,
    sqrt_abar: f32,
    sqrt_one_minus_abar: f32,
    ax: f32,
    al: f32,
    a0: f32,
    a1: f32,
    a2: f32,
    a3: f32,
    bx: f32,
    b0: f32,
    b1: f32,
    b2: f32,
    b3: f32,
    bz: f32, // 0 where the step draws no noise
    ring_rows: u32,
    ring: u32, // 0: no ring (a first-order sampler); m1..m3 are then never read
    next_t: u32,
    flags: u32, // MULTISTEP_EPS_HISTORY | MULTISTEP_CORRECT | MULTISTEP_OUTPUT_HISTORY
}

const MULTISTEP_EPS_HISTORY: u32 = 1u;
const MULTISTEP_CORRECT: u32 = 2u;
const MULTISTEP_OUTPUT_HISTORY: u32 = 4u;

// Launch parameters of every elementwise kernel. Keep in sync with `ElementParams` in
// src/gpu/runtime/params.rs.
struct ElementParams {
    n_elements: u32,     // B * sample_len: the flat length of every x-like binding
    sample_len: u32,     // elements per sample; sample b owns [b * sample_len, (b + 1) * sample_len)
    num_timesteps: u32,  // T: timesteps are clamped below it so a bad t cannot read out of bounds
    mean_type: u32,      // MEAN_*
    var_type: u32,       // VAR_*
    clip_denoised: u32,  // 1: clip pred_xstart to [-1, 1]
    loss_type: u32,      // LOSS_*
    // 1/255, half an 8-bit bin on [-1, 1], as an unevaluated sum hi + lo of two f32 (hi is 1/255
    // rounded, lo the rest). Where a mean sits on a bin edge, x - mean + 1/255 is tiny and a
    // plain f32 1/255 (off by 2.3e-10) moves it by up to 0.5% at the smallest scales. They come
    // from the host, not WGSL constants, because Mesa's optimiser reassociates additions of
    // constants and folded (c + hi) + lo back into c + hi (measured on llvmpipe).
    bin_half_width_hi: f32,
    bin_half_width_lo: f32,
    clip_range: f32,     // R: clip_denoised clips pred_xstart to [-R, R]
    // Where the step kernels' host-drawn noise starts in their `aux` binding, in floats (after
    // the per-sample threshold scales): see src/gpu/sampling/sample_loop/chunk.rs.
    aux_noise_offset: u32,
    _pad2: u32,
}

// Parameters of the mixture denoiser's kernels. Keep in sync with `MixtureParams` in
// src/gpu/runtime/params.rs.
struct MixtureParams {
    batch: u32,
    sample_len: u32,
    num_points: u32,
    num_timesteps: u32,
    mean_type: u32, // MEAN_*: what model_output holds
    var_type: u32,  // VAR_*: model_var is written for the learned types
    data_var: f32,  // S^2, the variance of each mixture component
    _pad: u32,
}

// The model options of the reverse-step kernels (p_sample, the sampling loop's step, scalar and
// vec4) as pipeline constants, set by the host from the same ModelOptions as ElementParams
// (`PipelineConstants` in src/gpu/runtime/params.rs). llvmpipe runs every arm of an `if` or `switch`
// under a lane mask, whichever one a uniform picks, so with the options in a uniform each
// element paid for all four variance types (two exps) and all three mean types; as constants
// only the chosen arm is compiled: p_sample_vec4 from 0.51-0.52 to 0.68-0.69 of the copy
// kernel at 2^24 elements on lavapipe, the scalar p_sample from 0.11 to 0.16 (ddpm bench, two
// alternating runs). Real GPUs branch uniformly, but gain the smaller shader.
override MEAN_TYPE: u32 = MEAN_EPS;
override VAR_TYPE: u32 = VAR_FIXEDSMALL;
override CLIP_DENOISED: u32 = 0u;

// The sampling-step kernels' options, pipeline constants for the same reason (only the sampling
// loop and the step ops set them; `PipelineConstants` in src/gpu/runtime/params.rs):
// where a step's noise comes from (NOISE_PHILOX: drawn in the shader; NOISE_AUX: drawn on the
// host, e.g. torch's stream, and uploaded into the `aux` binding), whether pred_xstart is divided
// by the per-sample dynamic threshold held in `aux` (THRESHOLD), and whether DDIM re-derives eps
// from the clipped or thresholded x_0 (CLIPPED_EPS, diffusers' use_clipped_model_output).
const NOISE_PHILOX: u32 = 0u;
const NOISE_AUX: u32 = 1u;
override NOISE_SOURCE: u32 = NOISE_PHILOX;
override THRESHOLD: u32 = 0u;
override CLIPPED_EPS: u32 = 0u;
// Whether the multistep step writes x_0 to pred_xstart: only where the loop keeps snapshots
// (nothing else reads it there), which saves a store per element.
override KEEP_XSTART: u32 = 1u;

// `p` with its model options replaced by the pipeline's constants, for the kernels above.
fn with_model_constants(p: ElementParams) -> ElementParams {
    var s = p;
    s.mean_type = MEAN_TYPE;
    s.var_type = VAR_TYPE;
    s.clip_denoised = CLIP_DENOISED;
    return s;
}

// The same for the mixture output kernels, whose MixtureParams carry the denoiser's mean and
// variance types: only mixture_output4's chosen arm and, for fixed variance types, no model_var
// write is compiled.
fn mixture_with_model_constants(p: MixtureParams) -> MixtureParams {
    var s = p;
    s.mean_type = MEAN_TYPE;
    s.var_type = VAR_TYPE;
    return s;
}

// The schedule row for timestep t; clamped so that a bad t from an embedder cannot read out of
// bounds (the host API validates t; this only keeps the GPU safe).
fn step_index(t: u32, num_timesteps: u32) -> u32 {
    return min(t, num_timesteps - 1u);
}
