//! Comparing a GPU result with the f64 reference: a bound per element of
//! `abs + rel * scale`, where the scale is either the element's own reference magnitude or the
//! largest reference magnitude in its sample (f32 rounding of a sum scales with its largest
//! term, not with the result).

/// How the relative part of a tolerance is scaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// |reference| of the element itself.
    Element,
    /// max |reference| over the element's sample (its run of `sample_len` elements).
    Sample,
    /// A forward-error scale per element supplied by the caller: the sum of the magnitudes of
    /// the terms the result is formed from (f32 rounding scales with those, and a clipped or
    /// cancelling result can be far smaller). Falls back to `Element` where none is given.
    Terms,
}

/// An error budget, with the reason for it written where it is defined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Absolute floor.
    pub abs: f64,
    /// Relative part, times the scale.
    pub rel: f64,
    /// What the relative part multiplies.
    pub scale: Scale,
}

/// The outcome of comparing one array.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// max |gpu - reference|.
    pub max_abs: f64,
    /// max |gpu - reference| / max(|reference|, 1e-30).
    pub max_rel: f64,
    /// The worst element relative to its bound: (index, gpu, reference, distance, bound).
    pub worst: Option<(usize, f64, f64, f64, f64)>,
    /// Whether every element is within its bound.
    pub pass: bool,
}

impl Tolerance {
    /// Compare `got` against `want` (same length), samples being runs of `sample_len`.
    /// Non-finite values pass only where both sides are the same non-finite value.
    pub fn compare(
        &self,
        got: &[f64],
        want: &[f64],
        sample_len: usize,
        terms: Option<&[f64]>,
    ) -> Comparison {
        let sample_len = sample_len.max(1);
        let sample_max: Vec<f64> = want
            .chunks(sample_len)
            .map(|c| c.iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .collect();
        let mut out = Comparison {
            max_abs: 0.0,
            max_rel: 0.0,
            worst: None,
            pass: got.len() == want.len(),
        };
        let mut worst_ratio = -1.0;
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            if !(g.is_finite() && w.is_finite()) {
                let same = (g.is_nan() && w.is_nan()) || g == w;
                if !same {
                    out.pass = false;
                    out.worst = Some((i, g, w, f64::INFINITY, 0.0));
                    worst_ratio = f64::INFINITY;
                }
                continue;
            }
            let dist = (g - w).abs();
            let scale = match self.scale {
                Scale::Element => w.abs(),
                Scale::Sample => sample_max[i / sample_len],
                Scale::Terms => terms
                    .and_then(|t| t.get(i))
                    .map_or(w.abs(), |t| t.max(w.abs())),
            };
            let bound = self.abs + self.rel * scale;
            out.max_abs = out.max_abs.max(dist);
            out.max_rel = out.max_rel.max(dist / w.abs().max(1e-30));
            let ratio = dist / bound;
            if ratio > worst_ratio {
                worst_ratio = ratio;
                out.worst = Some((i, g, w, dist, bound));
            }
            if dist > bound {
                out.pass = false;
            }
        }
        out
    }
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scale = match self.scale {
            Scale::Element => "|ref|",
            Scale::Sample => "max|ref| per sample",
            Scale::Terms => "sum|terms|",
        };
        write!(f, "{:.0e} + {:.0e} {scale}", self.abs, self.rel)
    }
}
