//! Placeholder until the dynamic-threshold kernel lands (same API).

use crate::error::{Error, Result};

/// s_b = clamp(quantile(|x0_b|, ratio), 1, max) per sample, in f64.
pub fn dynamic_threshold(
    values: &[f64],
    sample_len: usize,
    ratio: f64,
    max: f64,
) -> Result<Vec<f64>> {
    let _ = (values, sample_len, ratio, max);
    Err(Error::Unsupported(
        "dynamic thresholding is not available yet".into(),
    ))
}
