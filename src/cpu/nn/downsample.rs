//! CPU twin of shaders/nn/downsample.wgsl, the reference for tests: `Downsample2D` in f64,
//! its stride-2 conv with the layer's per-side padding.

use super::{conv2d, Activation};
use crate::error::Result;
use crate::nn::Downsample2D;

/// The half-size activation.
pub fn forward(down: &Downsample2D, x: &Activation) -> Result<Activation> {
    conv2d::forward(&down.conv, x)
}
