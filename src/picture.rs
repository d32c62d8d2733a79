//! Samples as pictures: a grid of images, and a strip of the denoising from x_T to x_0.
//! Values in [-1, 1] map to 0..255 (clamped).
//!
//! A sample is an image when its shape is, with C in {1, 3}:
//! - `[H, W]`: grey;
//! - `[C, H, W]` with H > 3 and W > 3: channels first (PyTorch, diffusers, the U-Net);
//! - `[H, W, C]`: channels last (image files, numpy's HWC).
//!
//! The rule is unambiguous: channels first needs the last dimension above 3, channels last
//! needs it to be 1 or 3, and no shape has both. `[3, 3, 3]` and `[1, 4, 3]` are channels
//! last; `[3, 32, 32]` and `[1, 16, 16]` are channels first.

use crate::error::{Error, Result};
use std::path::Path;

/// The largest grid the pictures are drawn on, per side, before enlarging: far past any grid
/// worth looking at, and small enough that the image's allocation is always possible.
pub const MAX_SIDE: usize = 16384;

/// How one sample's values are laid out as an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageLayout {
    /// Height in pixels.
    pub h: usize,
    /// Width in pixels.
    pub w: usize,
    /// Channels: 1 (grey) or 3 (RGB).
    pub c: usize,
    /// `[C, H, W]` when true, `[H, W, C]` (or `[H, W]`) when false.
    pub channels_first: bool,
}

impl ImageLayout {
    /// The value of channel `ch` at pixel (y, x), if the sample holds it.
    fn value(&self, tile: &[f32], y: usize, x: usize, ch: usize) -> Option<f32> {
        let ch = ch.min(self.c - 1);
        let i = if self.channels_first {
            (ch * self.h + y) * self.w + x
        } else {
            (y * self.w + x) * self.c + ch
        };
        tile.get(i).copied()
    }
}

/// The layout of one sample of `shape`, if it is an image (see the module's rule).
pub fn image_layout(shape: &[usize]) -> Result<ImageLayout> {
    let color = |c: usize| c == 1 || c == 3;
    let layout = |h, w, c, channels_first| ImageLayout {
        h,
        w,
        c,
        channels_first,
    };
    match *shape {
        [h, w] => Ok(layout(h, w, 1, false)),
        [c, h, w] if color(c) && h > 3 && w > 3 => Ok(layout(h, w, c, true)),
        [h, w, c] if color(c) => Ok(layout(h, w, c, false)),
        _ => Err(Error::ShapeMismatch(format!(
            "samples of shape {shape:?} are not images ([H, W], [C, H, W] or [H, W, C] with C \
             1 or 3); write .npy instead"
        ))),
    }
}

/// (height, width, channels) of one sample of `shape`, if it is an image.
pub fn image_dims(shape: &[usize]) -> Result<(usize, usize, usize)> {
    image_layout(shape).map(|l| (l.h, l.w, l.c))
}

/// Compose `rows` x `cols` tiles (row-major, each an image of `shape`, missing tiles black)
/// with a 1-pixel border into an RGB image.
pub fn grid(tiles: &[&[f32]], shape: &[usize], cols: usize) -> Result<image::RgbImage> {
    let l = image_layout(shape)?;
    let cols = cols.max(1);
    let rows = tiles.len().div_ceil(cols).max(1);
    let side = |n: usize, d: usize| n.checked_mul(d + 1).and_then(|v| v.checked_add(1));
    let (width, height) = match (side(cols, l.w), side(rows, l.h)) {
        (Some(w), Some(h)) if w <= MAX_SIDE && h <= MAX_SIDE => (w, h),
        _ => {
            return Err(Error::Unsupported(format!(
                "a grid of {rows} x {cols} images of {} x {} is over {MAX_SIDE} pixels a side",
                l.h, l.w
            )))
        }
    };
    let mut img = image::RgbImage::new(width as u32, height as u32);
    for (k, tile) in tiles.iter().enumerate() {
        if tile.len() != l.h * l.w * l.c {
            return Err(Error::ShapeMismatch(format!(
                "image {k} has {} values, shape {shape:?} needs {}",
                tile.len(),
                l.h * l.w * l.c
            )));
        }
        let (r, q) = (k / cols, k % cols);
        for y in 0..l.h {
            for x in 0..l.w {
                let px = |ch: usize| {
                    let v = l.value(tile, y, x, ch).unwrap_or(-1.0);
                    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
                };
                let at = (
                    (q * (l.w + 1) + 1 + x) as u32,
                    (r * (l.h + 1) + 1 + y) as u32,
                );
                img.put_pixel(at.0, at.1, image::Rgb([px(0), px(1), px(2)]));
            }
        }
    }
    Ok(img)
}

/// Pictures are enlarged by a whole factor (nearest neighbour, at most 8) until their short side
/// is at least this many pixels: a grid of 16x16 digits is 69 pixels wide, too small to look at.
pub const MIN_SIDE: u32 = 256;

/// `img` enlarged by the whole factor that brings its short side to [`MIN_SIDE`] or more.
pub fn enlarged(img: &image::RgbImage) -> image::RgbImage {
    let short = img.width().min(img.height()).max(1);
    let k = MIN_SIDE.div_ceil(short).clamp(1, 8);
    image::imageops::resize(
        img,
        img.width() * k,
        img.height() * k,
        image::imageops::FilterType::Nearest,
    )
}

/// Save `img` enlarged ([`enlarged`]) as PNG at `path`, through a temporary file so that a
/// failure leaves nothing.
pub fn save_png(img: &image::RgbImage, path: &Path) -> Result<()> {
    let tmp = crate::npy::partial_path(path);
    let result = enlarged(img)
        .save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_rule_is_unambiguous() {
        let first = |s: &[usize]| image_layout(s).unwrap().channels_first;
        assert!(first(&[3, 32, 32]) && first(&[1, 16, 16]) && first(&[3, 4, 4]));
        assert!(!first(&[32, 32, 3]) && !first(&[3, 3, 3]) && !first(&[1, 4, 3]));
        assert!(!first(&[16, 16]) && !first(&[3, 4, 1]));
        assert_eq!(image_dims(&[3, 8, 5]).unwrap(), (8, 5, 3));
        for bad in [&[2, 8, 8][..], &[8, 8, 2], &[3, 8, 8, 1], &[12], &[]] {
            assert!(image_layout(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn grids_refuse_short_tiles_and_huge_sizes() {
        assert!(grid(&[&[0.0; 5]], &[2, 3], 1).is_err());
        let one = [0.0f32; 4];
        assert!(grid(&[&one], &[1, 4], 1).is_ok());
        let wide = vec![0.0f32; 20000];
        assert!(grid(&[&wide], &[1, 20000], 1).is_err());
    }
}
