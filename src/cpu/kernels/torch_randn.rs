//! `torch.manual_seed(seed); torch.randn(n)` (float32, CPU generator) bit for bit, so that a
//! seed gives the same x_T and per-step noise as a diffusers pipeline run on the CPU.
//!
//! What torch 2.15 does, read from its x86-64 build (`NormalFill16<float, true>` and
//! `normal_kernel` in libtorch_cpu.so) and confirmed by `tests/reference/torch_noise.py --bulk`
//! (6 * 10^7 values over seven call sequences: 0 mismatching bits) and the fixtures of
//! `tests/torch_randn.rs`:
//!
//! - The generator is MT19937 seeded with `init_genrand(seed as u32)`: seeds of 2^32 and above
//!   keep only their low 32 bits. `torch.Generator().manual_seed(s)` and `torch.manual_seed(s)`
//!   give the same stream.
//! - `n >= 16`: every element first gets a uniform `(u32 & 0xFF_FFFF) / 2^24`, then each full
//!   block of 16 becomes Box-Muller normals (radius from elements 0..8, angle from 8..16, cos
//!   into the first half, sin into the second) computed by the Cephes polynomials of
//!   `avx_mathfun.h` in f32. If `n % 16 != 0`, the last 16 elements (overlapping the last full
//!   block) are refilled with 16 fresh uniforms and transformed again. Splitting one call into
//!   several therefore changes values exactly where this rule says (`randn(32)` equals two
//!   `randn(16)`, `randn(33)` does not equal `randn(17)` then `randn(16)`).
//! - `n < 16`: a scalar f64 Box-Muller per element from two 53-bit uniforms (each from two u32
//!   draws), returning the cosine and caching the sine in the generator; the next small draw
//!   (in this call or a later one) uses the cache first. Large draws neither use nor clear it;
//!   re-seeding clears it.
//!
//! The f32 polynomials repeat the compiled instruction sequence, each `vfmadd` as a
//! [`f32::mul_add`] (always one rounding), so the result does not depend on the host CPU.
//! torch's own output does: at its DEFAULT dispatch level (no AVX2, or
//! `ATEN_CPU_CAPABILITY=default`) it uses another formula, and 38% of 2^20 values from seed 0
//! then differ, by up to 2.3e-6; small (< 16) draws are the same at every level. This module
//! gives torch's AVX2 result, which its AVX-512 level shares (the same kernel).
//!
//! Speed: without `-C target-feature=+fma` each `mul_add` is a call to libm's `fmaf`, about
//! 19 M elements/s on one core; with it, about 128 M/s.

/// The MT19937 state size in words.
const MT_N: usize = 624;
/// The MT19937 middle offset.
const MT_M: usize = 397;

/// The 32-bit Mersenne Twister (Matsumoto and Nishimura 1998), as `std::mt19937`.
#[derive(Clone)]
struct Mt19937 {
    state: [u32; MT_N],
    /// The next word of `state` to temper; `MT_N` means the state must be regenerated.
    index: usize,
}

impl Mt19937 {
    /// The reference `init_genrand`: the same as numpy's `RandomState(seed)`.
    fn new(seed: u32) -> Self {
        let mut state = [0u32; MT_N];
        state[0] = seed;
        for j in 1..MT_N {
            let prev = state[j - 1];
            state[j] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(j as u32);
        }
        Self { state, index: MT_N }
    }

    /// Regenerates all 624 words at once (the reference `genrand_int32` refill).
    fn twist(&mut self) {
        for k in 0..MT_N {
            let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % MT_N] & 0x7FFF_FFFF);
            let mag = if y & 1 == 1 { 0x9908_B0DF } else { 0 };
            self.state[k] = self.state[(k + MT_M) % MT_N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= MT_N {
            self.twist();
        }
        let mut y = self.state[self.index % MT_N];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C_5680;
        y ^= (y << 15) & 0xEFC6_0000;
        y ^ (y >> 18)
    }
}

/// torch's CPU default generator, reduced to what `randn` of float32 uses.
#[derive(Clone)]
pub struct TorchGenerator {
    mt: Mt19937,
    /// The sine half of the last scalar Box-Muller pair, waiting for the next small draw
    /// (torch's `next_double_normal_sample`).
    cached_normal: Option<f64>,
}

impl TorchGenerator {
    /// `torch.manual_seed(seed)` (or `torch.Generator().manual_seed(seed)`). torch maps a
    /// negative Python seed s to `s + 2^64` first; pass that value here.
    pub fn new(seed: u64) -> Self {
        // Truncation is what torch does: its engine keeps `seed & 0xffffffff` as state[0].
        Self {
            mt: Mt19937::new(seed as u32),
            cached_normal: None,
        }
    }

    /// One `torch.randn(n)` call: only the element count matters, not the shape.
    pub fn randn(&mut self, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; n];
        self.randn_into(&mut out);
        out
    }

    /// `torch.randn(out.len())` written into `out`, advancing the generator as torch does.
    pub fn randn_into(&mut self, out: &mut [f32]) {
        if out.len() < 16 {
            for v in out.iter_mut() {
                *v = self.scalar_normal() as f32;
            }
            return;
        }
        for v in out.iter_mut() {
            *v = self.uniform_f32();
        }
        let mut blocks = out.chunks_exact_mut(16);
        for block in &mut blocks {
            normal_fill_16(block);
        }
        if !blocks.into_remainder().is_empty() {
            // torch redraws the last 16 elements rather than handling a short block.
            let start = out.len() - 16;
            if let Some(last) = out.get_mut(start..) {
                for v in last.iter_mut() {
                    *v = self.uniform_f32();
                }
                normal_fill_16(last);
            }
        }
    }

    /// `uniform_real_distribution<float>(0, 1)`: the low 24 bits of one draw, exact in f32.
    fn uniform_f32(&mut self) -> f32 {
        (self.mt.next_u32() & 0xFF_FFFF) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// `uniform_real_distribution<double>(0, 1)`: the low 53 bits of a 64-bit draw made of two
    /// words, the first one high.
    fn uniform_f64(&mut self) -> f64 {
        let hi = self.mt.next_u32() as u64;
        let lo = self.mt.next_u32() as u64;
        (((hi << 32) | lo) & ((1u64 << 53) - 1)) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// `normal_distribution<double>(0, 1)` with torch's cache of the second value. The libm
    /// calls are glibc's here as in torch; they round to f64 within an ulp and the result is then
    /// rounded to f32, so a platform libm could only differ in a value once in ~10^8.
    fn scalar_normal(&mut self) -> f64 {
        if let Some(v) = self.cached_normal.take() {
            // `val * std + mean` with std 1 and mean 0: only maps -0 to +0.
            return v + 0.0;
        }
        let u1 = self.uniform_f64();
        let u2 = self.uniform_f64();
        let r = (-2.0 * (-u2).ln_1p()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u1;
        self.cached_normal = Some(r * theta.sin());
        r * theta.cos() + 0.0
    }
}

// The constants of avx_mathfun.h (Cephes logf and sincosf), given by their bits as stored in
// libtorch_cpu.so: typed as decimals, one of them (LOG_P[2]) once rounded to the neighbouring
// f32, which made 1 value in 10^6 differ by an ulp.
const MIN_NORM_POS: u32 = 0x0080_0000;
const INV_MANT_MASK: u32 = !0x7F80_0000;
const SQRTHF: f32 = f32::from_bits(0x3F35_04F3); // sqrt(1/2)
const LOG_P: [f32; 9] = bits([
    0x3D90_21BB,
    0xBDEB_D1B8,
    0x3DEF_251A,
    0xBDFE_5D4F,
    0x3E11_E9BF,
    0xBE2A_AE50,
    0x3E4C_CEAC,
    0xBE7F_FFFC,
    0x3EAA_AAAA,
]);
const LOG_Q1: f32 = f32::from_bits(0xB95E_8083); // -2.12194440e-4
const LOG_Q2: f32 = f32::from_bits(0x3F31_8000); // 0.693359375
const FOPI: f32 = f32::from_bits(0x3FA2_F983); // 4 / pi
const DP: [f32; 3] = bits([0xBF49_0000, 0xB97D_A000, 0xB322_2169]); // -pi/4 in three parts
const SINCOF: [f32; 3] = bits([0xB94C_A1F9, 0x3C08_839E, 0xBE2A_AAA3]);
const COSCOF: [f32; 3] = bits([0x37CC_F5CE, 0xBAB6_061A, 0x3D2A_AAA5]);
const SIGN_MASK: u32 = 0x8000_0000;

/// f32 constants from their bit patterns.
const fn bits<const N: usize>(b: [u32; N]) -> [f32; N] {
    let mut out = [0.0; N];
    let mut i = 0;
    while i < N {
        out[i] = f32::from_bits(b[i]);
        i += 1;
    }
    out
}

/// `log256_ps` for one lane, in the order of the compiled code. The input is 1 - u in (0, 1],
/// so the invalid-input (x <= 0 gives NaN) branch of the original never fires and is left out.
fn cephes_log(x: f32) -> f32 {
    let x = x.max(f32::from_bits(MIN_NORM_POS));
    let bits = x.to_bits();
    // Exponent and mantissa in [0.5, 1).
    let mut e = ((bits >> 23) as i32 - 127) as f32 + 1.0;
    let mut x = f32::from_bits((bits & INV_MANT_MASK) | 0.5f32.to_bits());
    // Below sqrt(1/2), use 2x - 1 with exponent e - 1 (done with masks in the original).
    let small = x < SQRTHF;
    let tmp = if small { x } else { 0.0 };
    if small {
        e -= 1.0;
    }
    x = (x + -1.0) + tmp;
    let z = x * x;
    // The polynomial: the compiler fused each `y * x + p` into one vfmadd.
    let mut y = LOG_P[0].mul_add(x, LOG_P[1]);
    for p in &LOG_P[2..] {
        y = y.mul_add(x, *p);
    }
    y *= x;
    y = y.mul_add(z, e * LOG_Q1); // y * z + e * q1, fused
    y = (-z).mul_add(0.5, y); // y - z / 2, fused (vfnmadd)
    x += y;
    e.mul_add(LOG_Q2, x) // x + e * q2, fused
}

/// `a` where `mask` is all ones, +0 where it is zero: the original's `and` with a lane mask.
fn and_bits(a: f32, mask: u32) -> f32 {
    f32::from_bits(a.to_bits() & mask)
}

/// `sincos256_ps` for one lane: (sin, cos), in the order of the compiled code.
fn cephes_sincos(theta: f32) -> (f32, f32) {
    let mut x = f32::from_bits(theta.to_bits() & !SIGN_MASK);
    let mut sign_sin = theta.to_bits() & SIGN_MASK;
    // The octant j = (int(|x| * 4/pi) + 1) & !1, and the signs and polynomial it selects.
    let j1 = ((x * FOPI) as i32).wrapping_add(1);
    let j = j1 & !1;
    let y = j as f32;
    sign_sin ^= ((j1 & 4) as u32) << 29;
    let poly_mask = if j1 & 2 == 0 { u32::MAX } else { 0 };
    let sign_cos = ((!j.wrapping_sub(2) & 4) as u32) << 29;
    // Extended-precision reduction x - j * pi/4, each step one vfmadd.
    x = y.mul_add(DP[0], x);
    x = y.mul_add(DP[1], x);
    x = y.mul_add(DP[2], x);
    let z = x * x;
    // The cosine polynomial 1 - z/2 + z^2 * P(z); its last step fuses y * z - z / 2.
    let mut yc = COSCOF[0].mul_add(z, COSCOF[1]).mul_add(z, COSCOF[2]);
    yc *= z;
    yc = yc.mul_add(z, -(z * 0.5)) + 1.0;
    // The sine polynomial x + x * z * Q(z); its last step fuses x * (y * z) + x.
    let ys = SINCOF[0].mul_add(z, SINCOF[1]).mul_add(z, SINCOF[2]) * z;
    let ys = x.mul_add(ys, x);
    // The original's masked blend: subtract the part taken, add the rest (keeps its zero signs).
    let sin1 = and_bits(ys, poly_mask);
    let sin2 = and_bits(yc, !poly_mask);
    let cos_part = (ys - sin1) + (yc - sin2);
    let sin = f32::from_bits((sin1 + sin2).to_bits() ^ sign_sin);
    let cos = f32::from_bits(cos_part.to_bits() ^ sign_cos);
    (sin, cos)
}

/// `NormalFill16<float>` with mean 0 and std 1: 16 uniforms in, 16 normals out.
fn normal_fill_16(data: &mut [f32]) {
    let (lo, hi) = data.split_at_mut(8);
    for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
        let radius = (-2.0 * cephes_log(1.0 - *a)).sqrt();
        let (sin, cos) = cephes_sincos(std::f32::consts::TAU * *b);
        // `n * std + mean` is one vfmadd with std 1 and mean 0: it only maps -0 to +0.
        *a = radius * cos + 0.0;
        *b = radius * sin + 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference MT19937 known answer: the 10000th output of `std::mt19937` seeded 5489
    /// (C++11 [rand.predef]).
    #[test]
    fn mt19937_known_answer() {
        let mut mt = Mt19937::new(5489);
        let last = (0..10_000).map(|_| mt.next_u32()).last();
        assert_eq!(last, Some(4_123_659_995));
    }

    /// numpy's `RandomState(0).randint(0, 2**32, dtype=uint64)`'s first words come from the
    /// same init_genrand: 2357136044, 2546248239, 3071714933.
    #[test]
    fn init_genrand_matches_numpy() {
        let mut mt = Mt19937::new(0);
        let got: Vec<u32> = (0..3).map(|_| mt.next_u32()).collect();
        assert_eq!(got, [2_357_136_044, 2_546_248_239, 3_071_714_933]);
    }

    /// The reductions agree with libm within a few f32 ulps over the ranges Box-Muller uses.
    #[test]
    fn cephes_close_to_libm() {
        for k in 1..=1000 {
            let u = k as f32 / 1000.0;
            assert!((cephes_log(u) - u.ln()).abs() <= 4.0 * f32::EPSILON * u.ln().abs().max(1.0));
            let t = std::f32::consts::TAU * u;
            let (s, c) = cephes_sincos(t);
            assert!(
                (s - t.sin()).abs() < 1e-6 && (c - t.cos()).abs() < 1e-6,
                "{t}"
            );
        }
    }
}
