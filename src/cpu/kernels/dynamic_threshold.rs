//! CPU twins of `shaders/dynamic_threshold.wgsl`: the per-sample scale of dynamic thresholding
//! (Imagen; diffusers' `thresholding=True`), the reference for tests.
//!
//! For each sample b of x_0 flattened to [B, L]:
//! `s_b = clamp(quantile(|x0_b|, ratio), min = 1, max)`; the sampler then uses
//! `clamp(x0, -s, s) / s`. Two twins:
//!
//! - [`dynamic_threshold`], the yardstick: exact order statistics, the rank `ratio (L - 1)` and
//!   the interpolation in f64.
//! - [`dynamic_threshold_torch_f32`]: what `torch.quantile` (linear interpolation) then
//!   `torch.clamp` return for float32 input, bit for bit, as measured against torch 2.15 (CPU,
//!   AVX-512 build) by tests/reference/threshold_fixtures.py and by hand on many inputs:
//!   1. the ratio is rounded to f32 (torch makes a float32 tensor of the Python float q);
//!   2. the rank `r = q32 (L - 1)` is formed in f64 (an f32 rank, or an f64 rank of the
//!      unrounded q, each missed torch's value in about a third of 9000 random cases);
//!   3. `lo = floor(r)`, `hi = ceil(r)`, weight `w = (r - lo)` rounded once to f32 (it can
//!      round to 1.0);
//!   4. torch's lerp, whose two branches both round once (its CPU kernel is compiled with FMA:
//!      the vectorised path calls fmadd, the scalar tail is contracted the same way; unfused
//!      arithmetic missed 6 of 10828 cases, in both paths): `w < 0.5: fma(w, b - a, a)`, else
//!      `fma(w - 1, b - a, b)`, with `b - a` rounded to f32 first (the first branch alone
//!      missed 1 case in 9 for w >= 0.5);
//!   5. `min(max(s, 1), f32(max))`.
//!
//! The GPU computes exactly this arithmetic ([`torch_rank`] on the host, the lerp in integer
//! arithmetic in the shader), so the two agree bit for bit.

use crate::error::{Error, Result};

/// The two order statistics torch.quantile interpolates between in a sample of `len` values,
/// and its weight: `q32 (L - 1)` in f64, floored and ceiled, the fraction rounded to f32.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TorchRank {
    /// 0-based rank of the lower order statistic.
    pub lo: usize,
    /// 0-based rank of the upper one: `lo` or `lo + 1`.
    pub hi: usize,
    /// The interpolation weight in [0, 1].
    pub weight: f32,
}

/// [`TorchRank`] for `ratio` (already rounded to f32, as torch does) and samples of `len >= 1`.
pub fn torch_rank(ratio: f32, len: usize) -> TorchRank {
    let last = len.saturating_sub(1);
    // f32 * (L - 1) is exact in f64 for L < 2^29; ratio <= 1 keeps r <= L - 1.
    let r = f64::from(ratio) * last as f64;
    let lo = r.floor();
    TorchRank {
        lo: (lo as usize).min(last),
        hi: (r.ceil() as usize).min(last),
        weight: (r - lo) as f32,
    }
}

/// torch's lerp of `a` towards `b` by `w` for f32 on its FMA CPU kernel: one rounding per branch.
pub fn torch_lerp(a: f32, b: f32, w: f32) -> f32 {
    let d = b - a;
    if w.abs() < 0.5 {
        w.mul_add(d, a)
    } else {
        (w - 1.0).mul_add(d, b)
    }
}

/// Check the parameters shared by both twins and the GPU: `ratio` in [0, 1], `max` finite and
/// at least 1.
pub fn check_params(ratio: f64, max: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Error::InvalidParameter {
            name: "dynamic thresholding ratio",
            value: ratio,
            expected: "a quantile in [0, 1]",
        });
    }
    if !(max.is_finite() && max >= 1.0) {
        return Err(Error::InvalidParameter {
            name: "dynamic thresholding sample max",
            value: max,
            expected: "finite and >= 1",
        });
    }
    Ok(())
}

/// Check that `len` values form whole, non-empty samples of `sample_len`.
fn check_layout(len: usize, sample_len: usize) -> Result<()> {
    if sample_len == 0 || len == 0 {
        return Err(Error::ShapeMismatch(format!(
            "dynamic thresholding needs non-empty samples (got {len} values in samples of \
             {sample_len})"
        )));
    }
    if !len.is_multiple_of(sample_len) {
        return Err(Error::ShapeMismatch(format!(
            "{len} values are not a whole number of samples of {sample_len}"
        )));
    }
    Ok(())
}

/// The flat index of the first non-finite value, as [`Error::NonFinite`]: the scale is defined
/// for the finite values of a sampling loop only (torch's NaN rule is not reproduced).
fn check_finite(finite: impl Iterator<Item = bool>) -> Result<()> {
    match finite.enumerate().find(|&(_, ok)| !ok) {
        Some((index, _)) => Err(Error::NonFinite {
            name: "x0".into(),
            index,
        }),
        None => Ok(()),
    }
}

/// The keys at 0-based ranks `lo` and `hi = lo or lo + 1` of `keys` (reordered in place).
fn order_pair<T: Ord + Copy>(keys: &mut [T], lo: usize, hi: usize) -> Option<(T, T)> {
    if lo >= keys.len() {
        return None;
    }
    let (_, &mut at_lo, above) = keys.select_nth_unstable(lo);
    let at_hi = if hi > lo {
        above.iter().copied().min()?
    } else {
        at_lo
    };
    Some((at_lo, at_hi))
}

/// The f64 yardstick: per sample of `sample_len` values, `clamp(quantile(|x|, ratio), 1, max)`
/// with exact order statistics and the rank `ratio (L - 1)` and the interpolation in f64.
pub fn dynamic_threshold(
    values: &[f64],
    sample_len: usize,
    ratio: f64,
    max: f64,
) -> Result<Vec<f64>> {
    check_params(ratio, max)?;
    check_layout(values.len(), sample_len)?;
    check_finite(values.iter().map(|v| v.is_finite()))?;
    let r = ratio * (sample_len - 1) as f64;
    let (lo, hi) = (r.floor(), r.ceil());
    let w = r - lo;
    let (lo, hi) = (lo as usize, (hi as usize).min(sample_len - 1));
    // |x| as bits, which order like the values for non-negative floats.
    let mut keys = vec![0u64; sample_len];
    values
        .chunks_exact(sample_len)
        .map(|sample| {
            for (k, v) in keys.iter_mut().zip(sample) {
                *k = v.abs().to_bits();
            }
            let (a, b) = order_pair(&mut keys, lo, hi).ok_or_else(|| rank_error(lo, sample_len))?;
            let (a, b) = (f64::from_bits(a), f64::from_bits(b));
            Ok((a + w * (b - a)).max(1.0).min(max))
        })
        .collect()
}

/// torch's float32 result, bit for bit (see the module doc): per sample of `sample_len` values,
/// `clamp(torch.quantile(|x|, ratio), min = 1, max)`.
pub fn dynamic_threshold_torch_f32(
    values: &[f32],
    sample_len: usize,
    ratio: f32,
    max: f32,
) -> Result<Vec<f32>> {
    check_params(f64::from(ratio), f64::from(max))?;
    check_layout(values.len(), sample_len)?;
    check_finite(values.iter().map(|v| v.is_finite()))?;
    let rank = torch_rank(ratio, sample_len);
    // |x| as bits: for non-negative floats the u32 patterns order like the values (as the
    // shader selects them), and -0.0 becomes +0.0 as torch's abs makes it.
    let mut keys = vec![0u32; sample_len];
    values
        .chunks_exact(sample_len)
        .map(|sample| {
            for (k, v) in keys.iter_mut().zip(sample) {
                *k = v.to_bits() & 0x7fff_ffff;
            }
            let (a, b) = order_pair(&mut keys, rank.lo, rank.hi)
                .ok_or_else(|| rank_error(rank.lo, sample_len))?;
            let q = torch_lerp(f32::from_bits(a), f32::from_bits(b), rank.weight);
            Ok(q.max(1.0).min(max))
        })
        .collect()
}

/// Unreachable for validated ratios (ranks stay below L); an error rather than a panic.
fn rank_error(rank: usize, sample_len: usize) -> Error {
    Error::ShapeMismatch(format!(
        "rank {rank} outside a sample of {sample_len} values"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_torch() {
        // L = 1: everything is the single value.
        assert_eq!(
            torch_rank(0.995, 1),
            TorchRank {
                lo: 0,
                hi: 0,
                weight: 0.0
            }
        );
        // ratio 1 lands on the last value exactly.
        let r = torch_rank(1.0, 3072);
        assert_eq!((r.lo, r.hi, r.weight), (3071, 3071, 0.0));
        // 0.995 as f32 is 0.99500000476837158203125: the f64 rank of 3071 values keeps the
        // digits an f32 rank (3055.645 rounded) would lose.
        let r = torch_rank(0.995, 3072);
        let exact = f64::from(0.995f32) * 3071.0;
        assert_eq!((r.lo, r.hi), (3055, 3056));
        assert_eq!(r.weight, (exact - 3055.0) as f32);
        assert_ne!(r.weight, (0.995f32 * 3071.0) - 3055.0);
        // A weight that rounds up to 1.0 (found with torch: L = 30, q = 0.13793103...).
        let r = torch_rank(0.137_931_03, 30);
        assert_eq!((r.lo, r.hi, r.weight), (3, 4, 1.0));
    }

    #[test]
    fn lerp_rounds_once_per_branch() {
        // w < 0.5 from a, w >= 0.5 from b; the end points are exact.
        assert_eq!(torch_lerp(2.0, 4.0, 0.25), 2.5);
        assert_eq!(torch_lerp(2.0, 4.0, 0.75), 3.5);
        assert_eq!(torch_lerp(2.0, 4.0, 1.0), 4.0);
        assert_eq!(torch_lerp(3.0, 3.0, 0.6), 3.0);
    }

    #[test]
    fn bad_arguments_are_typed_errors() {
        let v = [1.0f64; 6];
        for (ratio, max) in [(-0.1, 1.0), (1.5, 1.0), (f64::NAN, 1.0), (0.5, 0.5)] {
            assert!(matches!(
                dynamic_threshold(&v, 3, ratio, max),
                Err(Error::InvalidParameter { .. })
            ));
        }
        for max in [f64::NAN, f64::INFINITY] {
            assert!(dynamic_threshold(&v, 3, 0.5, max).is_err());
        }
        assert!(matches!(
            dynamic_threshold(&v, 0, 0.5, 1.0),
            Err(Error::ShapeMismatch(_))
        ));
        assert!(matches!(
            dynamic_threshold(&v, 4, 0.5, 1.0),
            Err(Error::ShapeMismatch(_))
        ));
        assert!(matches!(
            dynamic_threshold(&[], 4, 0.5, 1.0),
            Err(Error::ShapeMismatch(_))
        ));
        assert!(matches!(
            dynamic_threshold_torch_f32(&[1.0, f32::NAN], 2, 0.5, 1.0),
            Err(Error::NonFinite { index: 1, .. })
        ));
        assert!(dynamic_threshold_torch_f32(&[1.0, 2.0], 2, 1.5, 1.0).is_err());
    }

    #[test]
    fn both_twins_on_a_small_case() {
        // |x| sorted: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9; ratio 0.5 -> rank 4.5 -> 4.5.
        let x: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { i as f64 } else { -(i as f64) })
            .collect();
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        assert_eq!(dynamic_threshold(&x, 10, 0.5, 100.0).ok(), Some(vec![4.5]));
        assert_eq!(
            dynamic_threshold_torch_f32(&x32, 10, 0.5, 100.0).ok(),
            Some(vec![4.5])
        );
        // Clamped below at 1 and above at max.
        assert_eq!(dynamic_threshold(&x, 10, 0.0, 100.0).ok(), Some(vec![1.0]));
        assert_eq!(dynamic_threshold(&x, 10, 1.0, 2.0).ok(), Some(vec![2.0]));
        // -0.0 and ties.
        let t = [-0.0f32, 5.0, -5.0, 5.0];
        assert_eq!(
            dynamic_threshold_torch_f32(&t, 4, 0.5, 10.0).ok(),
            Some(vec![5.0])
        );
    }
}
