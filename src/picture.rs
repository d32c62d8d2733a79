//! Samples as pictures: a grid of images, and a strip of the denoising from x_T to x_0.
//! Values in [-1, 1] map to 0..255 (clamped). Samples must be [H, W] or [H, W, C] with C 1 or 3.

use crate::error::{Error, Result};
use std::path::Path;

/// (height, width, channels) of one sample of `shape`, if it is an image.
pub fn image_dims(shape: &[usize]) -> Result<(usize, usize, usize)> {
    match shape {
        [h, w] => Ok((*h, *w, 1)),
        [h, w, c] if *c == 1 || *c == 3 => Ok((*h, *w, *c)),
        _ => Err(Error::ShapeMismatch(format!(
            "samples of shape {shape:?} are not images ([H, W] or [H, W, 1|3]); write .npy instead"
        ))),
    }
}

/// Compose `rows` x `cols` tiles (row-major, each an image of `shape`, missing tiles black)
/// with a 1-pixel border into an RGB image.
pub fn grid(tiles: &[&[f32]], shape: &[usize], cols: usize) -> Result<image::RgbImage> {
    let (h, w, c) = image_dims(shape)?;
    let cols = cols.max(1);
    let rows = tiles.len().div_ceil(cols).max(1);
    let mut img = image::RgbImage::new((cols * (w + 1) + 1) as u32, (rows * (h + 1) + 1) as u32);
    for (k, tile) in tiles.iter().enumerate() {
        let (r, q) = (k / cols, k % cols);
        for y in 0..h {
            for x in 0..w {
                let px = |ch: usize| {
                    let v = tile[(y * w + x) * c + ch.min(c - 1)];
                    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
                };
                let at = ((q * (w + 1) + 1 + x) as u32, (r * (h + 1) + 1 + y) as u32);
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
