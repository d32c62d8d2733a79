// Shared by the dynamic thresholding kernels (dynamic_threshold.wgsl, the radix select over one
// workgroup per sample, and dynamic_threshold_short.wgsl, one short sample per invocation):
// their uniform, the keys, and the scale from the two order statistics. Appended to both by
// `Kernel::source` (src/gpu/runtime/shaders/mod.rs). Host: src/gpu/kernels/dynamic_threshold.rs; CPU twins:
// src/cpu/kernels/dynamic_threshold.rs, whose module doc says what torch computes.
//
// The interpolation fma(coef, b - a, base) and b - a itself are computed in integer arithmetic
// with one rounding to nearest even, as torch's lerp rounds: WGSL promises neither a fused fma()
// nor an unfused a * b + c (a driver may contract it). On lavapipe and llvmpipe (GL) both the
// builtin fma() and a * b + c rounded twice: with either, tests/dynamic_threshold.rs fails
// (unfused arithmetic missed torch's value in 6 of 10828 random cases).

// Keep in sync with `ThresholdParams` in src/gpu/kernels/dynamic_threshold.rs.
struct ThresholdParams {
    sample_len: u32,
    n_samples: u32,
    rank_lo: u32,    // 0-based rank of the lower order statistic
    rank_hi: u32,    // rank_lo or rank_lo + 1
    coef: f32,       // w (w < 0.5, from a) or w - 1 (from b): torch's two lerp branches
    base_is_hi: u32, // 1: the w - 1 branch
    max_value: f32,  // sample_max_value rounded to f32
    _pad: u32,
}

// |x| as bits: for non-negative floats the u32 patterns order like the values, and -0.0 becomes
// +0.0 as torch's abs makes it.
fn abs_key(v: f32) -> u32 {
    return bitcast<u32>(v) & 0x7fffffffu;
}

// s from the keys of the two order statistics: torch's lerp branch, then clamp(s, 1, max).
fn threshold_scale(p: ThresholdParams, lo_key: u32, hi_key: u32) -> f32 {
    let a = bitcast<f32>(lo_key);
    let b = bitcast<f32>(hi_key);
    let d = fma_rn(-1.0, a, b);
    let q = fma_rn(p.coef, d, select(a, b, p.base_is_hi == 1u));
    return min(max(q, 1.0), p.max_value);
}

// ---- One-rounding fma in integer arithmetic. 64-bit values are vec2(low word, high word).


fn shl64(v: vec2<u32>, n: u32) -> vec2<u32> {
    if n == 0u {
        return v;
    }
    if n >= 64u {
        return vec2(0u, 0u);
    }
    if n >= 32u {
        return vec2(0u, v.x << (n - 32u));
    }
    return vec2(v.x << n, (v.y << n) | (v.x >> (32u - n)));
}

fn shr64(v: vec2<u32>, n: u32) -> vec2<u32> {
    if n == 0u {
        return v;
    }
    if n >= 64u {
        return vec2(0u, 0u);
    }
    if n >= 32u {
        return vec2(v.y >> (n - 32u), 0u);
    }
    return vec2((v.x >> n) | (v.y << (32u - n)), v.y >> n);
}

fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

// a - b for a >= b.
fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    return vec2(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn less64(a: vec2<u32>, b: vec2<u32>) -> bool {
    return a.y < b.y || (a.y == b.y && a.x < b.x);
}

fn clz64(v: vec2<u32>) -> u32 {
    return select(32u + countLeadingZeros(v.x), countLeadingZeros(v.y), v.y != 0u);
}

// v >> n with the bits shifted out ORed into bit 0 (a sticky bit: enough for rounding once at
// least two bits lie between it and the result's last bit).
fn shr64_sticky(v: vec2<u32>, n: u32) -> vec2<u32> {
    let kept = shr64(v, n);
    let lost = any(shl64(kept, n) != v);
    return vec2(kept.x | select(0u, 1u, lost), kept.y);
}

// The 48-bit product of two 24-bit integers, from 16-bit halves.
fn mul24(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let mid = a0 * b1 + a1 * b0; // < 2^25
    let low = a0 * b0;
    let lo = low + (mid << 16u);
    return vec2(lo, a1 * b1 + (mid >> 16u) + select(0u, 1u, lo < low));
}

// A float's magnitude as mantissa * 2^exponent (denormals included).
fn mantissa(bits: u32) -> u32 {
    let f = bits & 0x7fffffu;
    return select(f | 0x800000u, f, (bits & 0x7f800000u) == 0u);
}

fn exponent(bits: u32) -> i32 {
    let e = i32((bits >> 23u) & 0xffu);
    return select(e - 150, -149, e == 0);
}

// m * 2^e rounded to the nearest f32, ties to even (denormals included).
fn round_f32(m_in: vec2<u32>, e_in: i32) -> f32 {
    if all(m_in == vec2(0u, 0u)) {
        return 0.0;
    }
    var m = m_in;
    var e = e_in;
    let top = e + 63 - i32(clz64(m)); // exponent of the leading bit
    if top > 127 {
        return bitcast<f32>(0x7f800000u);
    }
    let lsb = max(top - 23, -149); // exponent of the result's last bit
    var shift = lsb - e;
    if shift > 62 {
        // Far below the result: keep a sticky bit, which still rounds correctly.
        m = shr64_sticky(m, u32(shift - 62));
        e = lsb - 62;
        shift = 62;
    }
    var mant: u32;
    if shift <= 0 {
        mant = shl64(m, u32(-shift)).x;
    } else {
        let kept = shr64(m, u32(shift));
        let rest = sub64(m, shl64(kept, u32(shift)));
        let half = shl64(vec2(1u, 0u), u32(shift - 1));
        mant = kept.x;
        if less64(half, rest) || (all(rest == half) && (mant & 1u) == 1u) {
            mant += 1u;
        }
    }
    if top >= -126 {
        // mant in [2^23, 2^24]: rounding up to 2^24 carries into the exponent.
        return bitcast<f32>((u32(top + 126) << 23u) + mant);
    }
    return bitcast<f32>(mant); // denormal; 2^23 after rounding is the smallest normal
}

// c * d + base rounded once to nearest even, for d >= 0, base >= 0 and a non-negative result
// (both uses: b - a with b >= a, and torch's lerp branches). Inputs finite.
fn fma_rn(c: f32, d: f32, base: f32) -> f32 {
    let cb = bitcast<u32>(c);
    let db = bitcast<u32>(d);
    let bb = bitcast<u32>(base);
    let pm = mul24(mantissa(cb), mantissa(db));
    if all(pm == vec2(0u, 0u)) {
        return base;
    }
    let pe = exponent(cb) + exponent(db);
    let bm = mantissa(bb);
    if bm == 0u {
        return round_f32(pm, pe);
    }
    let be = exponent(bb);
    // Both operands on one fixed-point frame: the larger one's leading bit on bit 61 (two bits
    // of headroom for the carry), the smaller shifted right with a sticky bit if it must be.
    let top = max(pe + 63 - i32(clz64(pm)), be + 31 - i32(countLeadingZeros(bm)));
    let p = place(pm, pe, top);
    let b = place(vec2(bm, 0u), be, top);
    if (cb >> 31u) == 0u {
        return round_f32(add64(b, p), top - 61);
    }
    if less64(b, p) {
        return 0.0; // a negative result: outside the uses above
    }
    return round_f32(sub64(b, p), top - 61);
}

// m * 2^e on the frame where bit 61 stands for 2^top.
fn place(m: vec2<u32>, e: i32, top: i32) -> vec2<u32> {
    let s = e - top + 61;
    if s >= 0 {
        return shl64(m, u32(s));
    }
    return shr64_sticky(m, u32(-s));
}
