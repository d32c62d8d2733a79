// The exact denoisers' element math (Gaussian and mixture). Part of the shared prefix of every
// kernel (`COMMON_WGSL` in src/gpu/runtime/shaders/mod.rs).

// The Gaussian denoiser's output for four elements x_t of one sample at row c: the exact
// E[x_0 | x_t] or eps of N(0, S^2 I) data (S^2 = p.data_var), written as p.mean_type wants. With
// v = abar S^2 + 1 - abar: x_0 = (sqrt(abar) S^2 / v) x_t and eps = (sqrt(1 - abar) / v) x_t.
// Shared by gaussian_denoiser_vec4.wgsl and the fused step ddpm_step_gaussian_vec4.wgsl, so
// both give the same bits.
fn gaussian_output4(p: MixtureParams, c: StepCoefs, xt: vec4<f32>) -> vec4<f32> {
    let coefs = vec4<f32>(c.sqrt_abar, c.one_minus_abar, c.sqrt_one_minus_abar, 0.0);
    let post = vec2<f32>(c.posterior_mean_coef1, c.posterior_mean_coef2);
    return gaussian_output4_at(p, coefs, post, xt);
}

// The same from (sqrt(abar), 1 - abar, sqrt(1 - abar), -) and the posterior coefficients, for
// rows of another struct (the fused DDIM step's DdimCoefs, which round the same f64 values).
fn gaussian_output4_at(p: MixtureParams, a: vec4<f32>, post: vec2<f32>, xt: vec4<f32>) -> vec4<f32> {
    let sqrt_abar = a.x;
    let abar = sqrt_abar * sqrt_abar;
    let v = abar * p.data_var + a.y;
    switch p.mean_type {
        case MEAN_XSTART: {
            return (sqrt_abar * p.data_var / v) * xt;
        }
        case MEAN_XPREV: {
            let x0 = (sqrt_abar * p.data_var / v) * xt;
            return post.x * x0 + post.y * xt;
        }
        case MEAN_V: { // sqrt(abar) eps - sqrt(1 - abar) x_0
            return (sqrt_abar * a.z * (1.0 - p.data_var) / v) * xt;
        }
        default: { // MEAN_EPS
            return (a.z / v) * xt;
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
        case MEAN_V: {
            // sqrt(abar) eps - sqrt(1 - abar) E = sqrt(1 - abar) (sqrt(abar) (1 - S^2) x_t - mu) / v.
            return c.sqrt_one_minus_abar * (c.sqrt_abar * (1.0 - p.data_var) * xt - mu) / v;
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
// Keep in sync with `SHORT_REDUCTION` in src/gpu/sampling/mixture_denoiser.rs.
const SHORT_REDUCTION: u32 = 64u;

// Elements per partial sum of a mixture distance (mixture_distances.wgsl), one invocation each.
// Keep in sync with `DIST_CHUNK` in src/gpu/sampling/mixture_denoiser.rs.
const DIST_CHUNK: u32 = 256u;

// Partial sums per (sample, point) distance for samples of `sample_len` elements.
fn dist_chunks(sample_len: u32) -> u32 {
    return (sample_len + DIST_CHUNK - 1u) / DIST_CHUNK;
}

// The tile of mixture_distances_vec4.wgsl: each invocation sums one chunk for
// DIST_SAMPLES_VEC4 samples against DIST_POINTS_VEC4 points, so each x load serves four points
// and each point load four samples. Keep in sync with src/gpu/sampling/mixture_denoiser.rs.
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
