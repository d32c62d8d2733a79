//! `GroupNorm`: `nn.GroupNorm(groups, channels, eps, affine=True)`.

use super::weights::VarBuilder;
use crate::error::{Error, Result};

/// Normalises each of `num_groups` channel groups of a sample over its channels and pixels
/// (biased variance), then scales and shifts per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupNorm {
    /// Groups; divides `channels`.
    pub num_groups: usize,
    /// Channels.
    pub channels: usize,
    /// Added to the variance.
    pub eps: f64,
    /// Per-channel scale `[channels]`.
    pub weight: Vec<f32>,
    /// Per-channel shift `[channels]`.
    pub bias: Vec<f32>,
}

impl GroupNorm {
    /// Reads `weight` and `bias` below `vb`; `channels` must split into `num_groups` groups
    /// (PyTorch refuses to build it otherwise).
    pub fn new(vb: &VarBuilder, num_groups: usize, channels: usize, eps: f64) -> Result<Self> {
        if num_groups == 0 || !channels.is_multiple_of(num_groups) {
            return Err(Error::UnsupportedModel(format!(
                "{}: {channels} channels do not split into {num_groups} groups",
                vb.prefix()
            )));
        }
        Ok(GroupNorm {
            num_groups,
            channels,
            eps,
            weight: vb.get(&[channels], "weight")?,
            bias: vb.get(&[channels], "bias")?,
        })
    }

    /// Weights and biases.
    pub fn num_parameters(&self) -> usize {
        self.weight.len() + self.bias.len()
    }
}
