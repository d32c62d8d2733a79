//! CPU twin of the UNet blocks (shaders/nn/blocks.wgsl when it exists; today the blocks are
//! sequences of the layer kernels), the reference for tests, in f64.

use super::{attention, concat_channels, downsample, resnet, upsample, Activation};
use crate::error::{Error, Result};
use crate::nn::{DownBlock, MidBlock, UpBlock};

/// A down block: each resnet (then its attention) pushes its output on `skips`; the
/// downsampler's output is pushed too.
pub fn down(
    block: &DownBlock,
    x: Activation,
    temb: &[f64],
    skips: &mut Vec<Activation>,
) -> Result<Activation> {
    let mut h = x;
    for (i, r) in block.resnets.iter().enumerate() {
        h = resnet::forward(r, &h, temb)?;
        if let Some(a) = block.attentions.get(i) {
            h = attention::forward(a, &h)?;
        }
        skips.push(h.clone());
    }
    if let Some(d) = &block.downsampler {
        h = downsample::forward(d, &h)?;
        skips.push(h.clone());
    }
    Ok(h)
}

/// The mid block: `resnets[0]`, then `attentions[i]` (if any) and `resnets[i + 1]`.
pub fn mid(block: &MidBlock, x: Activation, temb: &[f64]) -> Result<Activation> {
    let Some((first, rest)) = block.resnets.split_first() else {
        return Ok(x);
    };
    let mut h = resnet::forward(first, &x, temb)?;
    for (i, r) in rest.iter().enumerate() {
        if let Some(a) = block.attentions.get(i) {
            h = attention::forward(a, &h)?;
        }
        h = resnet::forward(r, &h, temb)?;
    }
    Ok(h)
}

/// An up block: each resnet takes [hidden, skips.pop()] (then its attention); then the
/// upsampler.
pub fn up(
    block: &UpBlock,
    x: Activation,
    temb: &[f64],
    skips: &mut Vec<Activation>,
) -> Result<Activation> {
    let mut h = x;
    for (i, r) in block.resnets.iter().enumerate() {
        let skip = skips.pop().ok_or_else(|| {
            Error::ShapeMismatch("the up blocks ran out of skip activations".into())
        })?;
        h = resnet::forward(r, &concat_channels(&h, &skip)?, temb)?;
        if let Some(a) = block.attentions.get(i) {
            h = attention::forward(a, &h)?;
        }
    }
    if let Some(u) = &block.upsampler {
        h = upsample::forward(u, &h)?;
    }
    Ok(h)
}
