//! `Conv2d`: a 2-D convolution with a square kernel, a stride and explicit per-side zero
//! padding, so that diffusers' `downsample_padding = 0` (pad right and bottom by one, then an
//! unpadded stride-2 3x3 conv) is one layer.

use super::weights::VarBuilder;
use crate::error::Result;

/// Zero padding on each side, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Padding {
    /// Rows added above.
    pub top: usize,
    /// Rows added below.
    pub bottom: usize,
    /// Columns added on the left.
    pub left: usize,
    /// Columns added on the right.
    pub right: usize,
}

impl Padding {
    /// The same padding on every side (PyTorch's `padding=p`).
    pub fn uniform(p: usize) -> Self {
        Padding {
            top: p,
            bottom: p,
            left: p,
            right: p,
        }
    }
}

/// `nn.Conv2d(in, out, kernel, stride, padding)` with bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Zero padding per side.
    pub padding: Padding,
    /// `[out, in, kernel, kernel]`, C order.
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
}

impl Conv2d {
    /// Reads `weight` and `bias` below `vb`.
    pub fn new(
        vb: &VarBuilder,
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
    ) -> Result<Self> {
        Ok(Conv2d {
            in_channels,
            out_channels,
            kernel,
            stride: stride.max(1),
            padding,
            weight: vb.get(&[out_channels, in_channels, kernel, kernel], "weight")?,
            bias: vb.get(&[out_channels], "bias")?,
        })
    }

    /// Output (height, width) for an input of (h, w); `None` when the padded input is smaller
    /// than the kernel.
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let ph = h
            .checked_add(self.padding.top)?
            .checked_add(self.padding.bottom)?;
        let pw = w
            .checked_add(self.padding.left)?
            .checked_add(self.padding.right)?;
        let oh = ph.checked_sub(self.kernel)? / self.stride.max(1) + 1;
        let ow = pw.checked_sub(self.kernel)? / self.stride.max(1) + 1;
        Some((oh, ow))
    }

    /// FLOPs of one sample at input size (h, w): 2 per multiply-add (bias adds not counted).
    pub fn flops(&self, h: usize, w: usize) -> u64 {
        let (oh, ow) = self.output_size(h, w).unwrap_or((0, 0));
        [
            self.out_channels,
            self.in_channels,
            self.kernel,
            self.kernel,
            oh,
            ow,
        ]
        .iter()
        .fold(2u64, |a, &d| a.saturating_mul(d as u64))
    }

    /// Weights and biases.
    pub fn num_parameters(&self) -> usize {
        self.weight.len() + self.bias.len()
    }
}
