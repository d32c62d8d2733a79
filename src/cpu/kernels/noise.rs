//! The normal draws of `shaders/philox.wgsl` (`noise_at`); CPU twin of `shaders/noise.wgsl`.
//! [`normal_f32`] repeats the shader's f32 steps; [`normal`] is the exact f64 value of the same
//! draw, the reference the CPU sampling loop uses.

use crate::cpu::kernels::philox_bits::philox_bits;

/// Noise streams (`STREAM_*` in shaders/philox.wgsl).
pub mod stream {
    /// x_T of the sampler.
    pub const INIT: u32 = 0;
    /// The reverse step's noise at step t.
    pub const SAMPLE: u32 = 1;
    /// Forward noising in the likelihood loop at step t.
    pub const Q_SAMPLE: u32 = 2;
}

/// (2k + 1) / 2^24 for the top 23 bits k: uniform on (0, 1), exact in f32 and f64.
pub fn open_unit(bits: u32) -> f64 {
    (2 * (bits >> 9) + 1) as f64 / (1u64 << 24) as f64
}

/// The exact Box-Muller normal of two words, in f64: the cosine branch.
pub fn normal_from_bits(b0: u32, b1: u32) -> f64 {
    (-2.0 * (1.0 - open_unit(b0)).ln()).sqrt() * (std::f64::consts::TAU * open_unit(b1)).cos()
}

/// The sine branch of the same pair: an independent normal.
pub fn sine_normal_from_bits(b0: u32, b1: u32) -> f64 {
    (-2.0 * (1.0 - open_unit(b0)).ln()).sqrt() * (std::f64::consts::TAU * open_unit(b1)).sin()
}

/// The shader's `accurate_log` in f32: exponent split and an atanh series.
pub fn accurate_log_f32(x: f32) -> f32 {
    // frexp for positive normal x: fract in [0.5, 1), x = fract 2^exp.
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xFF) as i32 - 126;
    let mut m = f32::from_bits((bits & 0x007F_FFFF) | (126 << 23));
    if m < 0.707_106_77 {
        m *= 2.0;
        e -= 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 1.0f32 / 15.0;
    for k in (1..=13).rev().step_by(2) {
        p = 1.0 / k as f32 + s2 * p;
    }
    e as f32 * std::f32::consts::LN_2 + 2.0 * s * p
}

/// The shader's `cos_two_pi_turned(u, 0)` in f32: exact quadrant reduction, then sin or cos of
/// [0, pi/4].
pub fn cos_two_pi_f32(u: f32) -> f32 {
    cos_two_pi_turned_f32(u, 0.0)
}

/// The shader's `cos_two_pi_turned` in f32: cos(2 pi u + quarter_turns pi / 2).
pub fn cos_two_pi_turned_f32(u: f32, quarter_turns: f32) -> f32 {
    let v = 4.0 * u;
    let mut q = v.floor();
    let mut f = v - q;
    q += quarter_turns;
    if q >= 4.0 {
        q -= 4.0;
    }
    let mut use_sin = q == 1.0 || q == 3.0;
    if f > 0.5 {
        f = 1.0 - f;
        use_sin = !use_sin;
    }
    let angle = std::f32::consts::FRAC_PI_2 * f;
    let magnitude = if use_sin { angle.sin() } else { angle.cos() };
    if q == 1.0 || q == 2.0 {
        -magnitude
    } else {
        magnitude
    }
}

/// The shader's f32 arithmetic for the cosine branch (no fused operations).
pub fn normal_from_bits_f32(b0: u32, b1: u32) -> f32 {
    pair_normal_f32(b0, b1, false)
}

/// The shader's `normal_from_bits` in f32: the cosine or the sine branch.
fn pair_normal_f32(b0: u32, b1: u32, sine: bool) -> f32 {
    let open = |b: u32| (b >> 9) as f32 * 1.192_092_9e-7 + 5.960_464_5e-8;
    let turns = if sine { 3.0 } else { 0.0 };
    (-2.0 * accurate_log_f32(1.0 - open(b0))).sqrt() * cos_two_pi_turned_f32(open(b1), turns)
}

/// The Philox words of element `j` and its lane: elements 4m .. 4m + 3 share the counter m
/// (`noise_at` in shaders/philox.wgsl); lane j % 4 takes words (0, 1) or (2, 3), cos or sin.
fn words_and_lane(seed: u64, stream: u32, step: u32, sample: u32, j: u32) -> ([u32; 2], bool) {
    let b = philox_bits(seed, stream, step, sample, j >> 2);
    let lane = j & 3;
    let words = if lane < 2 { [b[0], b[1]] } else { [b[2], b[3]] };
    (words, lane & 1 == 1)
}

/// The f64 normal for element `j` of global sample `sample` at `step` of `stream`.
pub fn normal(seed: u64, stream: u32, step: u32, sample: u32, j: u32) -> f64 {
    let ([b0, b1], sine) = words_and_lane(seed, stream, step, sample, j);
    if sine {
        sine_normal_from_bits(b0, b1)
    } else {
        normal_from_bits(b0, b1)
    }
}

/// The shader's f32 value of the same draw as [`normal`].
pub fn normal_f32(seed: u64, stream: u32, step: u32, sample: u32, j: u32) -> f32 {
    let ([b0, b1], sine) = words_and_lane(seed, stream, step, sample, j);
    pair_normal_f32(b0, b1, sine)
}

/// Normals for samples `first_sample ..` of `sample_len` elements each (the `noise` kernel).
pub fn noise(
    seed: u64,
    stream: u32,
    step: u32,
    first_sample: u32,
    batch: usize,
    sample_len: usize,
) -> Vec<f64> {
    (0..batch * sample_len)
        .map(|i| {
            let sample = first_sample + (i / sample_len) as u32;
            normal(seed, stream, step, sample, (i % sample_len) as u32)
        })
        .collect()
}
