//! `Linear`: `nn.Linear(in, out)` with bias, applied to the last dimension.

use super::weights::VarBuilder;
use crate::error::Result;

/// y = W x + b over rows of `in_features`.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// `[out, in]`, C order (PyTorch's layout).
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
}

impl Linear {
    /// Reads `weight` and `bias` below `vb`.
    pub fn new(vb: &VarBuilder, in_features: usize, out_features: usize) -> Result<Self> {
        Ok(Linear {
            in_features,
            out_features,
            weight: vb.get(&[out_features, in_features], "weight")?,
            bias: vb.get(&[out_features], "bias")?,
        })
    }

    /// FLOPs for `rows` rows: 2 per multiply-add.
    pub fn flops(&self, rows: usize) -> u64 {
        [self.in_features, self.out_features, rows]
            .iter()
            .fold(2u64, |a, &d| a.saturating_mul(d as u64))
    }

    /// Weights and biases.
    pub fn num_parameters(&self) -> usize {
        self.weight.len() + self.bias.len()
    }
}
