//! CPU twin of shaders/nn/group_norm.wgsl, the reference for tests: `GroupNorm` in f64, one
//! (sample, group) at a time: mean, then the biased variance by a second pass, then
//! `(x - mean) / sqrt(var + eps) x weight[c] + bias[c]`.

use super::{expect_channels, Activation};
use crate::error::Result;
use crate::nn::GroupNorm;

/// The normalised activation, of x's shape.
pub fn forward(gn: &GroupNorm, x: &Activation) -> Result<Activation> {
    expect_channels("group_norm", x, gn.channels)?;
    let sizes = gn.num_groups > 0
        && gn.channels.is_multiple_of(gn.num_groups)
        && gn.weight.len() == gn.channels
        && gn.bias.len() == gn.channels;
    super::check_layer("group_norm", sizes)?;
    let per_group = gn.channels / gn.num_groups.max(1);
    let plane = x.plane();
    let len = per_group * plane;
    let mut out = x.clone();
    if len == 0 {
        return Ok(out);
    }
    for (gi, group) in out.data.chunks_exact_mut(len).enumerate() {
        let mean = group.iter().sum::<f64>() / len as f64;
        let var = group.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / len as f64;
        let inv = 1.0 / (var + gn.eps).sqrt();
        let c0 = (gi % gn.num_groups.max(1)) * per_group;
        for (j, channel) in group.chunks_exact_mut(plane).enumerate() {
            let (scale, shift) = (gn.weight[c0 + j] as f64, gn.bias[c0 + j] as f64);
            for v in channel {
                *v = (*v - mean) * inv * scale + shift;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_of_two_pixels() {
        // Channels 0 and 1 are their own groups, one pixel each side: [1, 3] has mean 2 and
        // variance 1, so it becomes [-1, 1] / sqrt(1 + eps); [5, 5] has variance 0 and becomes
        // 0 before the affine part. Scale 2 and shift 0.5 on channel 0, 1 and -1 on channel 1.
        let gn = GroupNorm {
            num_groups: 2,
            channels: 2,
            eps: 1e-5,
            weight: vec![2.0, 1.0],
            bias: vec![0.5, -1.0],
        };
        let x = Activation::new(vec![1.0, 3.0, 5.0, 5.0], [1, 2, 1, 2]).ok();
        let y = x
            .and_then(|x| forward(&gn, &x).ok())
            .map(|y| y.data)
            .unwrap_or_default();
        let s = 1.0 / (1.0f64 + 1e-5).sqrt();
        let want = [0.5 - 2.0 * s, 0.5 + 2.0 * s, -1.0, -1.0];
        assert_eq!(y.len(), 4);
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{y:?} vs {want:?}");
        }
    }
}
