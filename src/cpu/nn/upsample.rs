//! CPU twin of shaders/nn/upsample.wgsl, the reference for tests: `Upsample2D` in f64,
//! nearest-neighbour 2x (out[y, x] = in[y / 2, x / 2]) then the 3x3 conv.

use super::{conv2d, Activation};
use crate::error::Result;
use crate::nn::Upsample2D;

/// Nearest-neighbour 2x of every plane.
pub fn nearest_2x(x: &Activation) -> Result<Activation> {
    super::expect_channels("upsample", x, x.channels())?;
    let [n, c, h, w] = x.shape;
    let mut out = Activation::zeros([n, c, h * 2, w * 2])?;
    if w == 0 {
        return Ok(out);
    }
    for (src, dst) in x
        .data
        .chunks_exact(h * w)
        .zip(out.data.chunks_exact_mut(4 * h * w))
    {
        for (y, row) in src.chunks_exact(w).enumerate() {
            let (top, bottom) = dst[2 * y * 2 * w..][..4 * w].split_at_mut(2 * w);
            for (pair, &v) in top.chunks_exact_mut(2).zip(row) {
                pair.fill(v);
            }
            bottom.copy_from_slice(top);
        }
    }
    Ok(out)
}

/// The double-size activation.
pub fn forward(up: &Upsample2D, x: &Activation) -> Result<Activation> {
    conv2d::forward(&up.conv, &nearest_2x(x)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_copies_each_pixel_to_a_2x2_square() {
        let x = Activation::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 1, 2, 3]).ok();
        let y = x.and_then(|x| nearest_2x(&x).ok());
        let want = vec![
            1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, //
            4.0, 4.0, 5.0, 5.0, 6.0, 6.0, 4.0, 4.0, 5.0, 5.0, 6.0, 6.0,
        ];
        assert_eq!(y.map(|y| (y.shape, y.data)), Some(([1, 1, 4, 6], want)));
    }
}
