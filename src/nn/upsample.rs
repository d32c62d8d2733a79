//! `Upsample2D` (use_conv): nearest-neighbour 2x, then a 3x3 conv with padding 1, its weights
//! under `conv`.

use super::conv2d::{Conv2d, Padding};
use super::weights::VarBuilder;
use crate::error::Result;

/// Doubles height and width.
#[derive(Clone, Debug, PartialEq)]
pub struct Upsample2D {
    /// channels -> channels, 3x3, stride 1, padding 1, on the 2x image.
    pub conv: Conv2d,
}

impl Upsample2D {
    /// Reads `conv` below `vb`.
    pub fn new(vb: &VarBuilder, channels: usize) -> Result<Self> {
        Ok(Upsample2D {
            conv: Conv2d::new(
                &vb.pp("conv"),
                channels,
                channels,
                3,
                1,
                Padding::uniform(1),
            )?,
        })
    }

    /// FLOPs of one sample for an input of (h, w) (the conv runs at 2h x 2w).
    pub fn flops(&self, h: usize, w: usize) -> u64 {
        self.conv.flops(h.saturating_mul(2), w.saturating_mul(2))
    }
}
