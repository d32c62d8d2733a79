// Shared by every kernel: src/gpu/kernels.rs prepends this file to each shader in this folder.
// Structs here are mirrored by #[repr(C)] Rust types; tests/shader_layout.rs checks both agree.

// Invocations per workgroup. Keep in sync with `WG_SIZE` in src/gpu/kernels.rs.
const WG_SIZE: u32 = 256u;

// Mean types (`ElementParams.mean_type`). Keep in sync with `MeanType` codes in src/gpu/params.rs.
const MEAN_EPS: u32 = 0u;
const MEAN_XSTART: u32 = 1u;
const MEAN_XPREV: u32 = 2u;

// Variance types (`ElementParams.var_type`). Keep in sync with src/gpu/params.rs.
const VAR_FIXEDSMALL: u32 = 0u;
const VAR_FIXEDLARGE: u32 = 1u;
const VAR_LEARNED: u32 = 2u;
const VAR_LEARNED_RANGE: u32 = 3u;

// Loss types (`ElementParams.loss_type`). Keep in sync with src/gpu/params.rs.
const LOSS_MSE: u32 = 0u;
const LOSS_KL: u32 = 1u;

// One row of the schedule tables, per timestep, computed in f64 on the host and rounded once.
// Keep in sync with `StepCoefs` in src/gpu/tables.rs.
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
    _pad: f32,
}

// Launch parameters of every elementwise kernel. Keep in sync with `ElementParams` in
// src/gpu/params.rs.
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
    _pad0: u32,

    _pad1: u32,
    _pad2: u32,
}

// Parameters of the mixture denoiser's kernels. Keep in sync with `MixtureParams` in
// src/gpu/params.rs.
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

// The Gaussian denoiser's output for four elements x_t of one sample at row c: the exact
// E[x_0 | x_t] or eps of N(0, S^2 I) data (S^2 = p.data_var), written as p.mean_type wants. With
// v = abar S^2 + 1 - abar: x_0 = (sqrt(abar) S^2 / v) x_t and eps = (sqrt(1 - abar) / v) x_t.
// Shared by gaussian_denoiser_vec4.wgsl and the fused step sample_step_gaussian_vec4.wgsl, so
// both give the same bits.
fn gaussian_output4(p: MixtureParams, c: StepCoefs, xt: vec4<f32>) -> vec4<f32> {
    let abar = c.sqrt_abar * c.sqrt_abar;
    let v = abar * p.data_var + c.one_minus_abar;
    switch p.mean_type {
        case MEAN_XSTART: {
            return (c.sqrt_abar * p.data_var / v) * xt;
        }
        case MEAN_XPREV: {
            let x0 = (c.sqrt_abar * p.data_var / v) * xt;
            return c.posterior_mean_coef1 * x0 + c.posterior_mean_coef2 * xt;
        }
        default: { // MEAN_EPS
            return (c.sqrt_one_minus_abar / v) * xt;
        }
    }
}

// The exact denoisers' variance output for the learned types (Gaussian and mixture): the true
// posterior's log variance (VAR_LEARNED), or -1, the lower end of the interpolation
// (VAR_LEARNED_RANGE); both equal the fixedsmall choice.
fn gaussian_var4(p: MixtureParams, c: StepCoefs) -> vec4<f32> {
    if p.var_type == VAR_LEARNED {
        return vec4<f32>(c.posterior_log_variance_clipped);
    }
    return vec4<f32>(-1.0);
}

// The mixture denoiser's output for four elements x_t of one sample at row c, given
// mu = sum_m r_m d_m and v = abar S^2 + 1 - abar (S^2 = p.data_var):
//   E[x_0 | x_t] = ((1 - abar) / v) mu + (sqrt(abar) S^2 / v) x_t,
//   eps = (x_t - sqrt(abar) E) / sqrt(1 - abar) = sqrt(1 - abar) (x_t - sqrt(abar) mu) / v
// (the second form has no cancellation), written as p.mean_type wants: eps, x_0, or the
// posterior mean coef1 E + coef2 x_t. Shared by mixture_output.wgsl (one lane used) and
// mixture_output_vec4.wgsl, so both give the same bits.
fn mixture_output4(p: MixtureParams, c: StepCoefs, xt: vec4<f32>, mu: vec4<f32>) -> vec4<f32> {
    let abar = c.sqrt_abar * c.sqrt_abar;
    let v = abar * p.data_var + c.one_minus_abar;
    switch p.mean_type {
        case MEAN_XSTART: {
            return (c.one_minus_abar / v) * mu + (c.sqrt_abar * p.data_var / v) * xt;
        }
        case MEAN_XPREV: {
            let e = (c.one_minus_abar / v) * mu + (c.sqrt_abar * p.data_var / v) * xt;
            return c.posterior_mean_coef1 * e + c.posterior_mean_coef2 * xt;
        }
        default: { // MEAN_EPS
            return c.sqrt_one_minus_abar * (xt - c.sqrt_abar * mu) / v;
        }
    }
}

// Mixture responsibilities are stored point-major, [M, groups of four samples, 4]: weight r[b, m]
// at `weight_index`, so that mixture_output_vec4.wgsl loads one point's weights for four samples
// as one vec4 (on llvmpipe a load costs about the same for one float or four). Slots of samples
// past the batch stay 0.
fn sample_groups(batch: u32) -> u32 {
    return (batch + 3u) / 4u;
}

fn weight_index(p: MixtureParams, b: u32, m: u32) -> u32 {
    return m * sample_groups(p.batch) * 4u + b;
}

// Up to this many points the mixture's softmax (mixture_weights.wgsl) is done by one invocation
// per sample instead of one workgroup: a 256-wide workgroup over a few points is mostly idle.
// Keep in sync with `SHORT_REDUCTION` in src/gpu/mixture_denoiser.rs.
const SHORT_REDUCTION: u32 = 64u;

// Elements per partial sum of a mixture distance (mixture_distances.wgsl), one invocation each.
// Keep in sync with `DIST_CHUNK` in src/gpu/mixture_denoiser.rs.
const DIST_CHUNK: u32 = 256u;

// Partial sums per (sample, point) distance for samples of `sample_len` elements.
fn dist_chunks(sample_len: u32) -> u32 {
    return (sample_len + DIST_CHUNK - 1u) / DIST_CHUNK;
}

// The tile of mixture_distances_vec4.wgsl: each invocation sums one chunk for
// DIST_SAMPLES_VEC4 samples against DIST_POINTS_VEC4 points, so each x load serves four points
// and each point load four samples. Keep in sync with src/gpu/mixture_denoiser.rs.
const DIST_SAMPLES_VEC4: u32 = 4u;
const DIST_POINTS_VEC4: u32 = 4u;

// Which partial distances invocation k of mixture_distances(_vec4).wgsl sums, with a tile of
// `samples_per` samples by `points_per` points: chunk c of samples b .. b + samples_per - 1
// against points m .. m + points_per - 1 (those below batch and num_points), where k is
// ((b / samples_per) * point_groups + m / points_per) * chunks + c. `valid` is false past the
// last invocation.
struct DistPart {
    b: u32,
    m: u32,
    c: u32,
    valid: bool,
}

fn dist_part(p: MixtureParams, k: u32, samples_per: u32, points_per: u32) -> DistPart {
    let chunks = dist_chunks(p.sample_len);
    let point_groups = (p.num_points + points_per - 1u) / points_per;
    let sample_tiles = (p.batch + samples_per - 1u) / samples_per;
    let tile = k / chunks;
    let g = tile / point_groups;
    let m = (tile - g * point_groups) * points_per;
    return DistPart(g * samples_per, m, k - tile * chunks, k < sample_tiles * point_groups * chunks);
}

// How a vec4 kernel's invocations map to elements: the value of its `GRID` pipeline constant.
// Keep in sync with src/gpu/params.rs. Neither has a grid-stride loop (see `vec4_grid` in
// src/gpu/launch.rs for when each is used and why).
const GRID_FLAT: u32 = 0u;       // x then y rows over all vec4s of the batch
const GRID_PER_SAMPLE: u32 = 1u; // x over one sample's vec4s, y then z over samples

// vec4s per invocation in the vec4 kernels, WG_SIZE apart (lanes next to each other stay on
// neighbouring vec4s), set per kernel by the host (`Kernel::vec4s_per_invocation` in
// src/gpu/kernels.rs). On llvmpipe a load whose index is not a compile-time constant runs lane
// by lane, so the schedule row read per invocation costs about as much as a vec4 of data; two
// vec4s per invocation share it on the per-sample grid.
override VEC4S_PER_INVOCATION: u32 = 1u;

// (sample, vec4 within the sample) of this invocation's j-th vec4 on a per-sample grid: the
// sample is uniform over the workgroup and the same for every j (so are the timestep and
// schedule-row loads that depend on it) and nothing divides. Past the batch (the overhang of
// y * z) the sample index runs past B, and past the sample's end the vec4 index runs past len4:
// callers check both.
fn per_sample_at(j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let k = (wid.x * VEC4S_PER_INVOCATION + j) * WG_SIZE + lid.x;
    return vec2<u32>(wid.y + wid.z * nwg.y, k);
}

// The index of this invocation's j-th vec4 (or f16 group) over the whole batch on a flat grid.
fn flat_index(j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return ((wid.x + wid.y * nwg.x) * VEC4S_PER_INVOCATION + j) * WG_SIZE + lid.x;
}

// The same on a flat grid, for samples of len4 vec4s: one division per vec4, but every lane busy
// when samples are short. The sample may differ between j. Past the batch the sample index runs
// past B.
fn flat_at(len4: u32, j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let i = flat_index(j, lid, wid, nwg);
    let b = i / len4;
    return vec2<u32>(b, i - b * len4);
}

// The grid is a pipeline constant, not a uniform: with a run-time choice between the two the
// compiler must treat the sample as varying on both paths, and on llvmpipe that cost more than
// the per-sample grid gains (p_sample 0.37 of copy against 0.59). Only the vec4 kernels use it;
// the host sets it per pipeline (`vec4_grid` in src/gpu/launch.rs).
override GRID: u32 = GRID_PER_SAMPLE;

// (sample, vec4 within the sample) of this invocation's j-th vec4 on the pipeline's GRID, for
// samples of len4 vec4s. With GRID a constant only one branch survives compilation.
fn vec4_position(len4: u32, j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    if GRID == GRID_PER_SAMPLE {
        return per_sample_at(j, lid, wid, nwg);
    }
    return flat_at(len4, j, lid, wid, nwg);
}

// Whether the j-th vec4 of an invocation may be in another sample than its first: only on the
// flat grid. The kernels reload the schedule row only then.
fn sample_may_change(j: u32) -> bool {
    return GRID == GRID_FLAT && j > 0u;
}

// The model options of the reverse-step kernels (p_sample, the sampling loop's step, scalar and
// vec4) as pipeline constants, set by the host from the same ModelOptions as ElementParams
// (`PipelineConstants` in src/gpu/params.rs). llvmpipe runs every arm of an `if` or `switch`
// under a lane mask, whichever one a uniform picks, so with the options in a uniform each
// element paid for all four variance types (two exps) and all three mean types; as constants
// only the chosen arm is compiled: p_sample_vec4 from 0.51-0.52 to 0.68-0.69 of the copy
// kernel at 2^24 elements on lavapipe, the scalar p_sample from 0.11 to 0.16 (ddpm bench, two
// alternating runs). Real GPUs branch uniformly, but gain the smaller shader.
override MEAN_TYPE: u32 = MEAN_EPS;
override VAR_TYPE: u32 = VAR_FIXEDSMALL;
override CLIP_DENOISED: u32 = 0u;

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

fn posterior_mean(c: StepCoefs, x_start: f32, x_t: f32) -> f32 {
    return c.posterior_mean_coef1 * x_start + c.posterior_mean_coef2 * x_t;
}

struct MeanVar {
    mean: f32,
    variance: f32,
    log_variance: f32,
    pred_xstart: f32,
}

// p_mean_variance for one element. `model_var` is read only by the learned variance types.
fn p_mean_variance_elem(
    p: ElementParams, c: StepCoefs, x: f32, model_output: f32, model_var: f32
) -> MeanVar {
    var r: MeanVar;
    switch p.var_type {
        case VAR_FIXEDSMALL: {
            r.variance = c.posterior_variance;
            r.log_variance = c.posterior_log_variance_clipped;
        }
        case VAR_FIXEDLARGE: {
            r.variance = c.beta;
            r.log_variance = c.fixedlarge_log_variance;
        }
        case VAR_LEARNED: {
            r.log_variance = model_var;
            r.variance = exp(model_var);
        }
        default: { // VAR_LEARNED_RANGE
            let frac = (model_var + 1.0) * 0.5;
            r.log_variance = frac * c.log_beta + (1.0 - frac) * c.posterior_log_variance_clipped;
            r.variance = exp(r.log_variance);
        }
    }
    var x0: f32;
    switch p.mean_type {
        case MEAN_XPREV: {
            x0 = c.recip_coef1 * model_output - c.coef2_over_coef1 * x;
        }
        case MEAN_XSTART: {
            x0 = model_output;
        }
        default: { // MEAN_EPS
            x0 = c.sqrt_recip_abar * x - c.sqrt_recipm1_abar * model_output;
        }
    }
    if p.clip_denoised != 0u {
        x0 = clamp(x0, -1.0, 1.0);
    }
    r.pred_xstart = x0;
    if p.mean_type == MEAN_XPREV {
        r.mean = model_output;
    } else {
        r.mean = posterior_mean(c, x0, x);
    }
    return r;
}

// One reverse step of four elements of one sample at row c: x_{t-1} = mean + exp(0.5 logvar) z
// per element, z already zero where no noise is added (t == 0), and pred_xstart. Shared by the
// vec4 kernels of p_sample and the sampling loop, which differ only in where z comes from.
struct Step4 {
    sample: vec4<f32>,
    pred_xstart: vec4<f32>,
}

fn p_sample4(
    p: ElementParams, c: StepCoefs, x: vec4<f32>, model_output: vec4<f32>, model_var: vec4<f32>,
    z: vec4<f32>
) -> Step4 {
    var r: Step4;
    for (var e = 0u; e < 4u; e++) {
        let m = p_mean_variance_elem(p, c, x[e], model_output[e], model_var[e]);
        r.sample[e] = m.mean + exp(0.5 * m.log_variance) * z[e];
        r.pred_xstart[e] = m.pred_xstart;
    }
    return r;
}

// e^d - 1 - d without cancellation: where the direct form would lose digits (|d| < 2) the series
// d^2/2 (1 + d/3 (1 + d/4 (... (1 + d/16)))), whose truncation is below 1e-8 relative there.
fn expm1_minus_x(d: f32) -> f32 {
    if abs(d) < 2.0 {
        var s = 1.0;
        for (var k = 16u; k >= 3u; k = k - 1u) {
            s = 1.0 + d * s / f32(k);
        }
        return 0.5 * d * d * s;
    }
    return exp(d) - 1.0 - d;
}

// e^d - 1, accurate for small d (WGSL has no expm1).
fn expm1(d: f32) -> f32 {
    return d + expm1_minus_x(d);
}

// KL(N(m1, e^lv1) || N(m2, e^lv2)) in nats, given dm = m1 - m2. The original's
// -1 + lv2 - lv1 + e^(lv1 - lv2) is e^d - 1 - d with d = lv1 - lv2: both summands are >= 0, so
// nothing cancels.
fn normal_kl_dm(dm: f32, logvar1: f32, logvar2: f32) -> f32 {
    return 0.5 * (expm1_minus_x(logvar1 - logvar2) + dm * dm * exp(-logvar2));
}

fn normal_kl_elem(mean1: f32, logvar1: f32, mean2: f32, logvar2: f32) -> f32 {
    return normal_kl_dm(mean1 - mean2, logvar1, logvar2);
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;

// The tanh argument of the original's approx_standard_normal_cdf.
fn cdf_arg(y: f32) -> f32 {
    return SQRT_2_OVER_PI * (y + 0.044715 * y * y * y);
}

// 0.5 (1 + tanh(a)) is sigmoid(2a). We never call WGSL tanh (it returns NaN for large arguments
// on some implementations); the clamp keeps exp finite, and sigmoid(+-80) is already 0 / 1 to
// well below the 1e-12 floor the log-likelihood applies.
fn sigmoid(z: f32) -> f32 {
    return 1.0 / (1.0 + exp(-clamp(z, -80.0, 80.0)));
}

// log P(x's 8-bit bin) under N(mean, e^(2 log_scale)), with open edge bins below -0.999 and above
// 0.999, floored at 1e-12 as in the original. The bin mass cdf(a+) - cdf(a-) is formed without
// cancellation: for a bin narrow against the scale (2 (a+ - a-) < 1) as
// sigmoid(2a-) sigmoid(-2a+) expm1(2 (a+ - a-)), an identity; otherwise from the tails on the
// side away from the mean, where the smaller one is at most e^-1 of the larger.
fn discretized_gaussian_log_likelihood_elem(
    p: ElementParams, x: f32, mean: f32, log_scale: f32
) -> f32 {
    let inv_stdv = exp(-log_scale);
    let centered = x - mean;
    // (centered +- hi) is exact where it is small (Sterbenz), so adding lo then keeps the digits.
    let y_plus = inv_stdv * ((centered + p.bin_half_width_hi) + p.bin_half_width_lo);
    let y_min = inv_stdv * ((centered - p.bin_half_width_hi) - p.bin_half_width_lo);
    let a_plus = cdf_arg(y_plus);
    let a_min = cdf_arg(y_min);
    if x < -0.999 {
        return log(max(sigmoid(2.0 * a_plus), 1e-12));
    }
    if x > 0.999 {
        return log(max(sigmoid(-2.0 * a_min), 1e-12)); // 1 - cdf(a-)
    }
    // a+ - a- from y+ - y- = 2 inv_stdv / 255 exactly, not from the two rounded y's.
    let dy = inv_stdv * (2.0 * p.bin_half_width_hi);
    let da = SQRT_2_OVER_PI * (dy + 0.044715 * dy * (y_plus * y_plus + y_plus * y_min + y_min * y_min));
    var mass: f32;
    if 2.0 * da < 1.0 {
        mass = sigmoid(2.0 * a_min) * sigmoid(-2.0 * a_plus) * expm1(2.0 * da);
    } else if a_min >= 0.0 {
        mass = sigmoid(-2.0 * a_min) - sigmoid(-2.0 * a_plus);
    } else if a_plus <= 0.0 {
        mass = sigmoid(2.0 * a_plus) - sigmoid(2.0 * a_min);
    } else {
        mass = 1.0 - sigmoid(-2.0 * a_plus) - sigmoid(2.0 * a_min);
    }
    return log(max(mass, 1e-12));
}

// One element of _vb_terms_bpd before the mean, in nats: the decoder NLL at t = 0, else
// KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)). `m` is p_mean_variance at this element.
fn vb_term_elem(p: ElementParams, step: u32, c: StepCoefs, x_start: f32, x_t: f32, m: MeanVar) -> f32 {
    if step == 0u {
        return -discretized_gaussian_log_likelihood_elem(p, x_start, m.mean, 0.5 * m.log_variance);
    }
    // For eps / xstart both means are coef1 x0 + coef2 x_t, so their difference is
    // coef1 (x_0 - pred_xstart) exactly; subtracting the two rounded means instead loses all
    // digits where coef1 is small (t near T: coef1 ~ 1e-4 against coef2 ~ 1).
    var dm: f32;
    if p.mean_type == MEAN_XPREV {
        dm = posterior_mean(c, x_start, x_t) - m.mean;
    } else {
        dm = c.posterior_mean_coef1 * (x_start - m.pred_xstart);
    }
    return normal_kl_dm(dm, c.posterior_log_variance_clipped, m.log_variance);
}
