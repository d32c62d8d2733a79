// Counter-based normal noise shared by the kernels that draw it: Philox4x32-10 (Salmon et al.
// 2011) and Box-Muller. Prepended after common.wgsl. Rust mirror: src/cpu/kernels/philox_bits.rs and
// src/cpu/kernels/noise.rs; bit-identity and statistics are tested in tests/philox_bits.rs, tests/noise.rs.
//
// A draw is keyed by (seed, stream, step, sample, element-in-sample): the same value whatever
// the batch chunking, dispatch size or workgroup size. Counter words: (element, step, stream,
// global sample); key: the 64-bit seed's two halves.

// Noise streams, so that the draws of different uses never coincide.
const STREAM_INIT: u32 = 0u;     // x_T of the sampler
const STREAM_SAMPLE: u32 = 1u;   // the reverse step's noise at step t
const STREAM_Q_SAMPLE: u32 = 2u; // forward noising in the likelihood loop at step t

// Parameters of the noise kernels. Keep in sync with `NoiseParams` in src/gpu/runtime/params.rs.
struct NoiseParams {
    n_elements: u32,
    sample_len: u32,
    first_sample: u32, // global index of the chunk's first sample
    stream: u32,       // STREAM_*
    step: u32,
    seed_lo: u32,
    seed_hi: u32,
    scale: f32, // noise.wgsl multiplies its draws by it (a sampler's x_T scale; 1 elsewhere)
}

// Written as plain literals; products wrap at run time (naga wraps u32 overflow in constant
// expressions silently, so no constant arithmetic on them).
const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The high 32 bits of a * b, from 16-bit halves (WGSL has no 64-bit integers).
fn mul_hi(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xFFFFu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xFFFFu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    // At most 0xFFFF + 0xFFFF + 0xFFFE0001 = 0xFFFFFFFF: no overflow.
    let cross = (lo_lo >> 16u) + (hi_lo & 0xFFFFu) + lo_hi;
    return a_hi * b_hi + (hi_lo >> 16u) + (cross >> 16u);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round = round + 1u) {
        if round > 0u {
            k = vec2<u32>(k.x + PHILOX_W0, k.y + PHILOX_W1);
        }
        let hi0 = mul_hi(PHILOX_M0, c.x);
        let lo0 = PHILOX_M0 * c.x;
        let hi1 = mul_hi(PHILOX_M1, c.z);
        let lo1 = PHILOX_M1 * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// (2k + 1) / 2^24 for the top 23 bits k of `bits`: uniform on (0, 1), never 0 or 1, and with
// 1 - u exact in f32.
fn open_unit(bits: u32) -> f32 {
    return f32(bits >> 9u) * 1.1920928955078125e-7 + 5.9604644775390625e-8;
}

// ln(x) for a positive normal f32 to a few ulps from basic operations (WGSL log on llvmpipe is
// off by up to 1.5e-7 absolute near 1): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
// ln m = 2 atanh(s) with s = (m - 1) / (m + 1), |s| <= 0.172, summed to s^15 (next term < 1e-13).
fn accurate_log(x: f32) -> f32 {
    let parts = frexp(x);
    var m = parts.fract; // [0.5, 1)
    var e = f32(parts.exp);
    if m < 0.70710678 {
        m = m * 2.0;
        e = e - 1.0;
    }
    let s = (m - 1.0) / (m + 1.0); // m - 1 is exact here
    let s2 = s * s;
    var p = 1.0 / 15.0;
    var k = 13;
    loop {
        p = 1.0 / f32(k) + s2 * p;
        k = k - 2;
        if k < 1 { break; }
    }
    return e * 0.6931471805599453 + 2.0 * s * p;
}

// cos(2 pi u) (quarter_turns = 0) or sin(2 pi u) = cos(2 pi u - pi / 2) (quarter_turns = 3, the
// same angle three quarter turns on) for u = (2k + 1) / 2^24, by exact quadrant reduction: 4u and
// its fraction f are exact, so only the final angle (pi / 2) f in [0, pi / 4] is rounded, and the
// result keeps a few ulps of accuracy near the zeros too (a plain cos(2 pi u) is off by ~4e-7
// absolute).
fn cos_two_pi_turned(u: f32, quarter_turns: f32) -> f32 {
    let v = 4.0 * u;
    var q = floor(v);
    var f = v - q;
    q = q + quarter_turns;
    if q >= 4.0 {
        q = q - 4.0;
    }
    // cos(pi / 2 (q + f)) is cos, -sin, -cos, sin of (pi / 2) f for q = 0, 1, 2, 3.
    var use_sin = q == 1.0 || q == 3.0;
    if f > 0.5 {
        f = 1.0 - f; // cos((pi/2) f) = sin((pi/2)(1 - f)) and vice versa
        use_sin = !use_sin;
    }
    let angle = 1.5707963267948966 * f;
    let magnitude = select(cos(angle), sin(angle), use_sin);
    return select(magnitude, -magnitude, q == 1.0 || q == 2.0);
}

// One standard normal from two 32-bit words (Box-Muller): the cosine branch (sine = 0) or the
// sine branch (sine = 1) of the same pair, which are independent normals. 1 - u is exact.
fn normal_from_bits(b0: u32, b1: u32, sine: u32) -> f32 {
    let radius = sqrt(-2.0 * accurate_log(1.0 - open_unit(b0)));
    return radius * cos_two_pi_turned(open_unit(b1), select(0.0, 3.0, sine == 1u));
}

// The normal draw for element `j` of global sample `sample` at `step` of `stream`. One Philox
// call gives four words, two Box-Muller pairs, four normals: elements 4m .. 4m + 3 share the
// counter (m, step, stream, sample), and j % 4 picks words (x, y) or (z, w) and cos or sin.
// The vec4 step kernel draws its four elements with one Philox call (noise4_at) instead of four:
// 1.17x the loop's steps/s at [16, 3, 32, 32] on lavapipe.
fn noise_at(seed: vec2<u32>, stream: u32, step: u32, sample: u32, j: u32) -> f32 {
    let bits = philox4x32_10(vec4<u32>(j >> 2u, step, stream, sample), seed);
    let lane = j & 3u;
    if lane < 2u {
        return normal_from_bits(bits.x, bits.y, lane);
    }
    return normal_from_bits(bits.z, bits.w, lane - 2u);
}

// The draws of elements j .. j + 3 for j a multiple of 4: noise_at of each, from one Philox call.
fn noise4_at(seed: vec2<u32>, stream: u32, step: u32, sample: u32, j: u32) -> vec4<f32> {
    let bits = philox4x32_10(vec4<u32>(j >> 2u, step, stream, sample), seed);
    return vec4<f32>(
        normal_from_bits(bits.x, bits.y, 0u),
        normal_from_bits(bits.x, bits.y, 1u),
        normal_from_bits(bits.z, bits.w, 0u),
        normal_from_bits(bits.z, bits.w, 1u),
    );
}
