//! One run of a conv on the device ([`ConvArgs`]): the input's size, the views in their buffers
//! and the fused options, with the flag bits and bindings every conv kernel (the direct, the
//! tiled, Winograd's products) shares; and where a conv's residual and split live
//! ([`epilogue`]).

use super::graph::{BufView, Places, View};
use crate::error::Result;
use crate::gpu::runtime::shaders::flags;

/// One run of a conv: the input's stored size and the views, and the fused options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvArgs<'a> {
    pub batch: usize,
    /// Input height and width as stored (before `upsample`).
    pub h: usize,
    pub w: usize,
    pub input: BufView<'a>,
    pub output: BufView<'a>,
    /// Read the input as its nearest 2x enlargement.
    pub upsample: bool,
    /// Read the input as 2 x - 1.
    pub center: bool,
    /// Per-sample bias: (projections, column, row length).
    pub temb: Option<(&'a wgpu::Buffer, u32, u32)>,
    /// (residual + conv) / scale.
    pub residual: Option<(BufView<'a>, f32)>,
    /// Channels from this one on go to the second view.
    pub split: Option<(u32, BufView<'a>)>,
    /// Output channels written; the rest are dropped.
    pub keep: usize,
    /// Winograd's 16 products in one dispatch: (input, output) elements between products.
    pub products: Option<(u32, u32)>,
    /// Bound where an option is off (never read then).
    pub dummy: &'a wgpu::Buffer,
}

impl<'a> ConvArgs<'a> {
    /// The flag bits of the read-through and epilogue options every conv kernel shares
    /// (UPSAMPLE, CENTER, TEMB, RESIDUAL, SPLIT).
    pub(crate) fn option_bits(&self) -> u32 {
        [
            (self.upsample, flags::UPSAMPLE),
            (self.center, flags::CENTER),
            (self.temb.is_some(), flags::TEMB),
            (self.residual.is_some(), flags::RESIDUAL),
            (self.split.is_some(), flags::SPLIT),
        ]
        .into_iter()
        .filter(|&(on, _)| on)
        .fold(0, |bits, (_, bit)| bits | bit)
    }

    /// The buffers of bindings 0-6 every conv kernel shares: input, `weights`, `bias`, the
    /// time projections, the residual, the output and the split's second output (the dummy
    /// where an option is off; without SPLIT the output again, since one buffer may not be
    /// bound both read-only, the dummy's other uses, and read-write in a dispatch).
    pub(crate) fn bindings(
        &self,
        weights: &'a wgpu::Buffer,
        bias: &'a wgpu::Buffer,
    ) -> [&'a wgpu::Buffer; 7] {
        [
            self.input.buffer,
            weights,
            bias,
            self.temb.map_or(self.dummy, |t| t.0),
            self.residual.map_or(self.dummy, |r| r.0.buffer),
            self.output.buffer,
            self.split.map_or(self.output.buffer, |s| s.1.buffer),
        ]
    }
}

/// The residual and the second output of an epilogue, placed.
pub(crate) type Epilogue<'a> = (Option<(BufView<'a>, f32)>, Option<(u32, BufView<'a>)>);

/// `residual` and `split` of a conv's epilogue in their buffers.
pub(crate) fn epilogue<'a>(
    at: &'a dyn Places,
    residual: Option<(View, f32)>,
    split: Option<(usize, View)>,
) -> Result<Epilogue<'a>> {
    let res = match residual {
        Some((r, s)) => Some((at.view(r)?, s)),
        None => None,
    };
    let split = match split {
        Some((c, v)) => Some((super::u32_of("split", c)?, at.view(v)?)),
        None => None,
    };
    Ok((res, split))
}
