//! CPU twin of shaders/nn/conv2d.wgsl, the reference for tests: `Conv2d` in f64. One output
//! plane per (sample, out channel), accumulated tap by tap over rows in order, so the
//! innermost loop runs over contiguous output pixels (no allocation inside).

use super::{expect_channels, Activation};
use crate::error::{Error, Result};
use crate::nn::Conv2d;

/// out[b, o, y, x] = bias[o] + sum_{i, ky, kx} w[o, i, ky, kx] in[b, i, y s + ky - top,
/// x s + kx - left], zero outside the input.
pub fn forward(conv: &Conv2d, x: &Activation) -> Result<Activation> {
    expect_channels("conv2d", x, conv.in_channels)?;
    let [n, cin, h, w] = x.shape;
    let (oh, ow) = conv.output_size(h, w).ok_or_else(|| {
        Error::ShapeMismatch(format!(
            "a {h}x{w} input is smaller than the {0}x{0} kernel",
            conv.kernel
        ))
    })?;
    let (k, s) = (conv.kernel, conv.stride.max(1));
    let (top, left) = (conv.padding.top, conv.padding.left);
    let cout = conv.out_channels;
    let mut out = Activation::zeros([n, cout, oh, ow])?;
    // Output columns whose input column x s + kx - left lies in [0, w): kx..=ox_hi per tap.
    let col_range = |kx: usize| -> (usize, usize) {
        let lo = left.saturating_sub(kx).div_ceil(s);
        let hi = (w + left).saturating_sub(kx).div_ceil(s).min(ow);
        (lo, hi.max(lo))
    };
    for b in 0..n {
        for o in 0..cout {
            let plane = &mut out.data[(b * cout + o) * oh * ow..][..oh * ow];
            plane.fill(conv.bias[o] as f64);
            for i in 0..cin {
                let src = &x.data[(b * cin + i) * h * w..][..h * w];
                let taps = &conv.weight[(o * cin + i) * k * k..][..k * k];
                for ky in 0..k {
                    for oy in 0..oh {
                        let Some(iy) = (oy * s + ky).checked_sub(top).filter(|&iy| iy < h) else {
                            continue;
                        };
                        let row = &src[iy * w..][..w];
                        let dst = &mut plane[oy * ow..][..ow];
                        for kx in 0..k {
                            let wt = taps[ky * k + kx] as f64;
                            let (lo, hi) = col_range(kx);
                            if lo >= hi {
                                continue;
                            }
                            let src_cols = &row[lo * s + kx - left..];
                            let dst_cols = &mut dst[lo..hi];
                            if s == 1 {
                                for (d, &r) in dst_cols.iter_mut().zip(src_cols) {
                                    *d += wt * r;
                                }
                            } else {
                                for (d, &r) in dst_cols.iter_mut().zip(src_cols.iter().step_by(s)) {
                                    *d += wt * r;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Padding;

    fn conv(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: Padding,
        weight: Vec<f32>,
    ) -> Conv2d {
        Conv2d {
            in_channels: cin,
            out_channels: cout,
            kernel: k,
            stride,
            padding,
            weight,
            bias: vec![0.5; cout],
        }
    }

    #[test]
    fn one_by_one_mixes_channels_per_pixel() {
        // out[o] = 0.5 + sum_i w[o, i] in[i]: w = [[1, 2], [-1, 0]].
        let c = conv(2, 2, 1, 1, Padding::uniform(0), vec![1.0, 2.0, -1.0, 0.0]);
        let x = Activation::new(vec![1.0, 2.0, 3.0, 4.0], [1, 2, 1, 2]).ok();
        let y = x.and_then(|x| forward(&c, &x).ok()).map(|y| y.data);
        assert_eq!(
            y,
            Some(vec![0.5 + 1.0 + 6.0, 0.5 + 2.0 + 8.0, 0.5 - 1.0, 0.5 - 2.0])
        );
    }

    #[test]
    fn padding_zero_pads_right_and_bottom_only() {
        // A 3x3 box filter, stride 2, padding (0, 1, 0, 1) on a 2x2 input: one output that
        // sums all four inputs; uniform padding 1 would give a 1x1 output of the same sum too,
        // so use a 4x4 input: outputs at (0, 0), (0, 2), (2, 0), (2, 2) windows.
        let pad = Padding {
            top: 0,
            bottom: 1,
            left: 0,
            right: 1,
        };
        let c = conv(1, 1, 3, 2, pad, vec![1.0; 9]);
        let x = Activation::new((0..16).map(f64::from).collect(), [1, 1, 4, 4]).ok();
        let y = x.and_then(|x| forward(&c, &x).ok());
        // Window at (0,0): rows 0-2, cols 0-2 of 0..16 = 0+1+2+4+5+6+8+9+10 = 45.
        // (0,2): cols 2-3 (col 4 is padding): 2+3+6+7+10+11 = 39. (2,0): rows 2-3: 8+9+10+12+13+14 = 66.
        // (2,2): 10+11+14+15 = 50.
        assert_eq!(
            y.map(|y| (y.shape, y.data)),
            Some(([1, 1, 2, 2], vec![45.5, 39.5, 66.5, 50.5]))
        );
    }
}
