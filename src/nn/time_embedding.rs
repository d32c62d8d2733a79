//! The time embedding: diffusers' `Timesteps` (the sinusoid, no weights) followed by
//! `TimestepEmbedding` (linear_1, SiLU, linear_2). Weights under `time_embedding`.

use super::linear::Linear;
use super::weights::VarBuilder;
use crate::error::{Error, Result};

/// `Timesteps(num_channels, flip_sin_to_cos, downscale_freq_shift)`: half = num_channels / 2
/// frequencies freq_i = exp(-ln(10000) i / (half - shift)); the embedding of t is
/// [sin(t freq), cos(t freq)] ([cos, sin] when flipped), zero-padded to an odd width.
#[derive(Clone, Debug, PartialEq)]
pub struct Timesteps {
    /// Width of the sinusoid (`block_out_channels[0]`).
    pub num_channels: usize,
    /// [cos, sin] instead of [sin, cos].
    pub flip_sin_to_cos: bool,
    /// `freq_shift` of the config.
    pub downscale_freq_shift: f64,
}

impl Timesteps {
    /// num_channels / 2.
    pub fn half_dim(&self) -> usize {
        self.num_channels / 2
    }

    /// The frequencies as torch forms them in float32: the exponent -ln(10000) x i and its
    /// division by (half - shift) each rounded to f32, then exp, rounded to f32. Here exp is
    /// computed in f64 and rounded once (correctly rounded); torch's vectorised expf is within
    /// 1 ulp of that and differs for about 1% of (width, i) pairs (e.g. width 128 with shift
    /// 0 at i = 6 and 53; none for width 128 with shift 1, the cifar10 model).
    pub fn frequencies(&self) -> Vec<f32> {
        let ln = -(10000f64.ln()) as f32;
        let denom = (self.half_dim() as f64 - self.downscale_freq_shift) as f32;
        (0..self.half_dim())
            .map(|i| {
                let exponent = (ln * i as f32) / denom;
                (exponent as f64).exp() as f32
            })
            .collect()
    }
}

/// The sinusoid and the two-layer MLP that turn a timestep into the resnets' conditioning.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeEmbedding {
    /// The sinusoid's parameters.
    pub time_proj: Timesteps,
    /// num_channels -> time_embed_dim (`time_embedding.linear_1`).
    pub linear_1: Linear,
    /// time_embed_dim -> time_embed_dim (`time_embedding.linear_2`), after a SiLU.
    pub linear_2: Linear,
}

impl TimeEmbedding {
    /// Reads `linear_1` and `linear_2` below `vb` (the model's `time_embedding`).
    pub fn new(vb: &VarBuilder, time_proj: Timesteps, time_embed_dim: usize) -> Result<Self> {
        if time_proj.half_dim() > 0 && time_proj.half_dim() as f64 == time_proj.downscale_freq_shift
        {
            // diffusers would divide by zero and embed NaN.
            return Err(Error::UnsupportedModel(format!(
                "freq_shift {} equals half the sinusoid width {} (division by zero)",
                time_proj.downscale_freq_shift, time_proj.num_channels
            )));
        }
        let width = time_proj.num_channels;
        Ok(TimeEmbedding {
            time_proj,
            linear_1: Linear::new(&vb.pp("linear_1"), width, time_embed_dim)?,
            linear_2: Linear::new(&vb.pp("linear_2"), time_embed_dim, time_embed_dim)?,
        })
    }

    /// Width of the embedding the resnets take.
    pub fn out_dim(&self) -> usize {
        self.linear_2.out_features
    }

    /// FLOPs of one sample: the two linears.
    pub fn flops(&self) -> u64 {
        self.linear_1
            .flops(1)
            .saturating_add(self.linear_2.flops(1))
    }

    /// Weights and biases.
    pub fn num_parameters(&self) -> usize {
        self.linear_1.num_parameters() + self.linear_2.num_parameters()
    }
}
