//! CPU twin of shaders/nn/resnet.wgsl, the reference for tests: `ResnetBlock2D` in f64.

use super::{conv2d, expect_channels, group_norm, linear, silu_in_place, Activation};
use crate::error::{Error, Result};
use crate::nn::{ResnetBlock2D, TimeEmbeddingNorm};

/// (shortcut(x) + conv2(silu(norm2'(conv1(silu(norm1(x))))))) / output_scale_factor, where
/// norm2' adds proj(silu(temb)) before norm2 (default) or applies (1 + scale), shift after it
/// (scale_shift). `temb` is [B, temb_channels].
pub fn forward(block: &ResnetBlock2D, x: &Activation, temb: &[f64]) -> Result<Activation> {
    expect_channels("resnet", x, block.in_channels)?;
    let n = x.batch();
    if temb.len() != n * block.time_emb_proj.in_features {
        return Err(Error::ShapeMismatch(format!(
            "resnet time embedding has {} values for {n} samples of {}",
            temb.len(),
            block.time_emb_proj.in_features
        )));
    }
    let proj_out = match block.time_embedding_norm {
        TimeEmbeddingNorm::Default => block.out_channels,
        TimeEmbeddingNorm::ScaleShift => 2 * block.out_channels,
    };
    let sizes = block.time_emb_proj.out_features == proj_out
        && block.conv1.out_channels == block.out_channels
        && block.conv2.in_channels == block.out_channels
        && block.conv2.out_channels == block.out_channels;
    super::check_layer("resnet", sizes)?;
    let mut h = group_norm::forward(&block.norm1, x)?;
    silu_in_place(&mut h.data);
    let mut h = conv2d::forward(&block.conv1, &h)?;
    let mut t = temb.to_vec();
    silu_in_place(&mut t);
    let t = linear::forward(&block.time_emb_proj, &t)?;
    let (c, plane) = (block.out_channels, h.plane());
    let per_sample = t.len() / n.max(1);
    match block.time_embedding_norm {
        TimeEmbeddingNorm::Default => {
            for (b, sample) in h.data.chunks_exact_mut(c * plane).enumerate() {
                for (ci, channel) in sample.chunks_exact_mut(plane).enumerate() {
                    let add = t[b * per_sample + ci];
                    channel.iter_mut().for_each(|v| *v += add);
                }
            }
            h = group_norm::forward(&block.norm2, &h)?;
        }
        TimeEmbeddingNorm::ScaleShift => {
            h = group_norm::forward(&block.norm2, &h)?;
            for (b, sample) in h.data.chunks_exact_mut(c * plane).enumerate() {
                for (ci, channel) in sample.chunks_exact_mut(plane).enumerate() {
                    let scale = 1.0 + t[b * per_sample + ci];
                    let shift = t[b * per_sample + c + ci];
                    channel.iter_mut().for_each(|v| *v = *v * scale + shift);
                }
            }
        }
    }
    silu_in_place(&mut h.data);
    let mut h = conv2d::forward(&block.conv2, &h)?;
    let shortcut = match &block.conv_shortcut {
        Some(conv) => conv2d::forward(conv, x)?,
        None => x.clone(),
    };
    if shortcut.shape != h.shape {
        return Err(Error::ShapeMismatch(format!(
            "resnet shortcut {:?} does not match its output {:?}",
            shortcut.shape, h.shape
        )));
    }
    let osf = block.output_scale_factor;
    for (v, s) in h.data.iter_mut().zip(&shortcut.data) {
        *v = (s + *v) / osf;
    }
    Ok(h)
}
