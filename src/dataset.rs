//! Data for the mixture denoiser: the embedded default image set, .npy arrays and folders of
//! images. Points are f32 in [-1, 1]; images are [H, W, C] (the original's NHWC layout).

use crate::error::{Error, Result};
use crate::npy::{self, NpyData};
use std::path::Path;

/// A set of data points of one shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// The shape of one point, e.g. [H, W, C].
    pub point_shape: Vec<usize>,
    /// [M, point...], C order.
    pub points: Vec<f32>,
}

impl Dataset {
    /// M.
    pub fn len(&self) -> usize {
        self.points.len() / self.point_len().max(1)
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Elements per point.
    pub fn point_len(&self) -> usize {
        self.point_shape.iter().product()
    }
}

/// 3x5 glyphs of the digits 0-9, one row of three bits per line, top first.
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b011, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// The embedded default: the digits 0-9 drawn by the crate as 16x16 grayscale images
/// (white ink at +1 on black at -1, strokes 3 pixels wide), each at three horizontal offsets:
/// 30 points of shape [16, 16, 1].
pub fn default_digits() -> Dataset {
    const SIZE: usize = 16;
    let mut points = Vec::new();
    for glyph in DIGITS {
        for dx in [-2i32, 0, 2] {
            let mut img = vec![-1.0f32; SIZE * SIZE];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..3 {
                    if bits >> (2 - col) & 1 == 1 {
                        // Each glyph cell becomes a 3x3 block: 9x15 pixels per digit.
                        for y in 0..3 {
                            for x in 0..3 {
                                let px = 4 + dx + col * 3 + x;
                                let py = 1 + (row * 3 + y) as i32;
                                if (0..SIZE as i32).contains(&px) && (0..SIZE as i32).contains(&py)
                                {
                                    img[py as usize * SIZE + px as usize] = 1.0;
                                }
                            }
                        }
                    }
                }
            }
            points.extend(img);
        }
    }
    Dataset {
        point_shape: vec![SIZE, SIZE, 1],
        points,
    }
}

/// Points from an .npy array [M, ...] of float32 or float64 values in [-1, 1].
pub fn from_npy(path: &Path) -> Result<Dataset> {
    let arr = npy::read(path)?;
    let points: Vec<f32> = match arr.data {
        NpyData::F32(v) => v,
        NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        other => {
            return Err(Error::WrongDtype {
                name: path.display().to_string(),
                found: other.dtype().into(),
                expected: "float32 or float64",
            })
        }
    };
    if arr.shape.len() < 2 || points.is_empty() {
        return Err(Error::ShapeMismatch(format!(
            "{}: data must be a non-empty [M, ...] array, got shape {:?}",
            path.display(),
            arr.shape
        )));
    }
    if let Some(i) = points
        .iter()
        .position(|v| !(v.is_finite() && (-1.0..=1.0).contains(v)))
    {
        return Err(Error::NonFinite {
            name: format!("{} (values must be finite and in [-1, 1])", path.display()),
            index: i,
        });
    }
    Ok(Dataset {
        point_shape: arr.shape[1..].to_vec(),
        points,
    })
}

/// Every PNG/JPEG in `dir` (sorted by name), resized to `width` x `height` RGB and scaled to
/// [-1, 1]: points of shape [height, width, 3].
pub fn from_image_dir(dir: &Path, width: u32, height: u32) -> Result<Dataset> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::ShapeMismatch(format!(
            "{}: no .png or .jpg images in the folder",
            dir.display()
        )));
    }
    let mut points = Vec::new();
    for f in &files {
        let img = image::open(f).map_err(|e| Error::Npy {
            path: f.clone(),
            reason: format!("not a readable image: {e}"),
        })?;
        let rgb = image::imageops::resize(
            &img.to_rgb8(),
            width,
            height,
            image::imageops::FilterType::Triangle,
        );
        points.extend(rgb.as_raw().iter().map(|&v| v as f32 / 127.5 - 1.0));
    }
    Ok(Dataset {
        point_shape: vec![height as usize, width as usize, 3],
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_digits_are_distinct_images_in_range() {
        let d = default_digits();
        assert_eq!(d.len(), 30);
        assert_eq!(d.point_shape, vec![16, 16, 1]);
        assert!(d.points.iter().all(|&v| v == -1.0 || v == 1.0));
        let imgs: Vec<&[f32]> = d.points.chunks(256).collect();
        for i in 0..imgs.len() {
            let ink = imgs[i].iter().filter(|&&v| v > 0.0).count();
            assert!(ink >= 9 * 7, "image {i} has only {ink} ink pixels");
            for j in 0..i {
                assert_ne!(imgs[i], imgs[j], "images {i} and {j} are equal");
            }
        }
    }
}
