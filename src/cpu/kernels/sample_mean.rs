//! CPU twin of `shaders/sample_mean.wgsl`: the per-sample mean (`nn.meanflat`) times a scale,
//! summed in f64 (the GPU's summation order does not matter at this precision).

/// The mean of each consecutive run of `sample_len` values, times `scale`.
pub fn sample_mean(values: &[f64], sample_len: usize, scale: f64) -> Vec<f64> {
    values
        .chunks(sample_len.max(1))
        .map(|c| c.iter().sum::<f64>() / sample_len as f64 * scale)
        .collect()
}
