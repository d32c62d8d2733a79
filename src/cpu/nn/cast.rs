//! CPU twin of shaders/nn/cast.wgsl: an f32 value as the UNet stores it, exactly (f32 kept; f16
//! rounded to the nearest half, ties to even, past 65504 to infinity) and read back in f64.

use crate::gpu::runtime::Precision;

/// Each value of `x` through `precision`'s storage and back.
pub fn round_trip(x: &[f32], precision: Precision) -> Vec<f64> {
    x.iter()
        .map(|&v| match precision {
            Precision::F32 => f64::from(v),
            Precision::F16 => half::f16::from_f32(v).to_f64(),
        })
        .collect()
}
