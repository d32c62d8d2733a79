//! CPU twin of shaders/nn/conv2d.wgsl, the reference for tests: `Conv2d` in f64, as a matrix
//! product per sample: the input unfolded into columns (im2col: row i x k x k + tap, one column
//! per output pixel, zero where the tap falls in the padding), then `out[o, p] = bias[o] +
//! sum_r w[o, r] col[r, p]` over tiles of 4 output channels x 16 pixels held in registers. The
//! buffers are made once per call; nothing is allocated inside the loops.

use super::{check_layer, expect_channels, Activation};
use crate::error::{Error, Result};
use crate::nn::Conv2d;

/// Output channels per register tile.
const TILE_O: usize = 4;
/// Output pixels per register tile.
const TILE_P: usize = 16;

/// `out[b, o, y, x] = bias[o] + sum_{i, ky, kx} w[o, i, ky, kx] in[b, i, y s + ky - top,
/// x s + kx - left]`, zero outside the input.
pub fn forward(conv: &Conv2d, x: &Activation) -> Result<Activation> {
    expect_channels("conv2d", x, conv.in_channels)?;
    let [n, cin, h, w] = x.shape;
    let (oh, ow) = conv.output_size(h, w).ok_or_else(|| {
        Error::ShapeMismatch(format!(
            "a {h}x{w} input is smaller than the {0}x{0} kernel",
            conv.kernel
        ))
    })?;
    let (k, cout) = (conv.kernel, conv.out_channels);
    let (rows, pixels) = (cin * k * k, oh * ow);
    let sizes = conv.weight.len() == cout * rows && conv.bias.len() == cout;
    check_layer("conv2d", sizes)?;
    let mut out = Activation::zeros([n, cout, oh, ow])?;
    if rows == 0 || pixels == 0 || cout == 0 {
        return Ok(out);
    }
    // Weights as [r, o] in f64, so that one tile's TILE_O weights of a row are contiguous.
    let mut wt = vec![0.0; rows * cout];
    for (o, wo) in conv.weight.chunks_exact(rows).enumerate() {
        for (r, &v) in wo.iter().enumerate() {
            wt[r * cout + o] = v as f64;
        }
    }
    let mut cols = vec![0.0; rows * pixels];
    for b in 0..n {
        let src = &x.data[b * cin * h * w..][..cin * h * w];
        im2col(conv, src, (h, w), (oh, ow), &mut cols);
        let dst = &mut out.data[b * cout * pixels..][..cout * pixels];
        matmul(&wt, &cols, &conv.bias, (cout, rows, pixels), dst);
    }
    Ok(out)
}

/// cols[(i k + ky) k + kx, oy ow + ox] = in[i, oy s + ky - top, ox s + kx - left] or 0.
fn im2col(
    conv: &Conv2d,
    src: &[f64],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    cols: &mut [f64],
) {
    let (k, s) = (conv.kernel, conv.stride.max(1));
    let (top, left) = (conv.padding.top, conv.padding.left);
    for (r, col) in cols.chunks_exact_mut(oh * ow).enumerate() {
        let (i, ky, kx) = (r / (k * k), r / k % k, r % k);
        let plane = &src[i * h * w..][..h * w];
        for (oy, dst) in col.chunks_exact_mut(ow).enumerate() {
            match (oy * s + ky).checked_sub(top).filter(|&iy| iy < h) {
                None => dst.fill(0.0),
                Some(iy) => {
                    let row = &plane[iy * w..][..w];
                    for (ox, d) in dst.iter_mut().enumerate() {
                        let ix = (ox * s + kx).checked_sub(left).filter(|&ix| ix < w);
                        *d = ix.map_or(0.0, |ix| row[ix]);
                    }
                }
            }
        }
    }
}

/// dst[o, p] = bias[o] + sum_r wt[r, o] cols[r, p].
fn matmul(
    wt: &[f64],
    cols: &[f64],
    bias: &[f32],
    (cout, rows, pixels): (usize, usize, usize),
    dst: &mut [f64],
) {
    for p0 in (0..pixels).step_by(TILE_P) {
        let np = TILE_P.min(pixels - p0);
        for o0 in (0..cout).step_by(TILE_O) {
            let no = TILE_O.min(cout - o0);
            let mut acc = [[0.0f64; TILE_P]; TILE_O];
            if np == TILE_P && no == TILE_O {
                // The full tile: fixed lengths, so the compiler keeps acc in vector registers.
                for r in 0..rows {
                    let c = &cols[r * pixels + p0..][..TILE_P];
                    let wr = &wt[r * cout + o0..][..TILE_O];
                    for (a, &wv) in acc.iter_mut().zip(wr) {
                        for (av, &cv) in a.iter_mut().zip(c) {
                            *av += wv * cv;
                        }
                    }
                }
            } else {
                for r in 0..rows {
                    let c = &cols[r * pixels + p0..][..np];
                    let wr = &wt[r * cout + o0..][..no];
                    for (a, &wv) in acc.iter_mut().zip(wr) {
                        for (av, &cv) in a.iter_mut().zip(c) {
                            *av += wv * cv;
                        }
                    }
                }
            }
            for (j, a) in acc.iter().take(no).enumerate() {
                let o = o0 + j;
                let b = bias[o] as f64;
                for (d, &av) in dst[o * pixels + p0..][..np].iter_mut().zip(a) {
                    *d = b + av;
                }
            }
        }
    }
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

    #[test]
    fn inconsistent_inputs_are_errors_not_panics() {
        let c = conv(2, 1, 3, 1, Padding::uniform(1), vec![1.0; 9]); // 18 weights declared
        let x = Activation::new(vec![0.0; 8], [1, 2, 2, 2]).ok();
        assert!(x.is_some_and(|x| forward(&c, &x).is_err()));
        let short = Activation {
            data: vec![0.0; 3],
            shape: [1, 1, 2, 2],
        };
        let ok = conv(1, 1, 1, 1, Padding::uniform(0), vec![1.0]);
        assert!(forward(&ok, &short).is_err());
    }
}
