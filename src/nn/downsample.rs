//! `Downsample2D` (use_conv, name "op"): a stride-2 3x3 conv, its weights under `conv`. With
//! `downsample_padding = 1` an ordinary padded conv (out = ceil(H / 2)); with 0, one zero row
//! below and one column right, then no padding (out = floor(H / 2)).

use super::conv2d::{Conv2d, Padding};
use super::weights::VarBuilder;
use crate::error::Result;

/// Halves height and width.
#[derive(Clone, Debug, PartialEq)]
pub struct Downsample2D {
    /// channels -> channels, 3x3, stride 2, the padding above.
    pub conv: Conv2d,
}

impl Downsample2D {
    /// Reads `conv` below `vb`; `downsample_padding` is 0 or 1.
    pub fn new(vb: &VarBuilder, channels: usize, downsample_padding: usize) -> Result<Self> {
        let padding = if downsample_padding == 0 {
            Padding {
                top: 0,
                bottom: 1,
                left: 0,
                right: 1,
            }
        } else {
            Padding::uniform(downsample_padding)
        };
        Ok(Downsample2D {
            conv: Conv2d::new(&vb.pp("conv"), channels, channels, 3, 2, padding)?,
        })
    }
}
