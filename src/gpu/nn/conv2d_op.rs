//! The conv layer in the graph: `ConvOp`, a conv over views with its fused epilogue, which a
//! conv that runs as Winograd F(2x2, 3x3) becomes three ops of `winograd.rs` for; and
//! [`forward`], one conv run alone (tests, single layers).

use super::conv2d::{epilogue, ConvArgs, GpuConv2d};
use super::conv2d_tiled::{self, ConvKernel};
use super::graph::{Graph, Home, LayerOp, Places, View};
use super::winograd::{self, WinogradIn, WinogradOut, WinogradProducts};
use super::Stage;
use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::tiles::ConvKey;
use crate::gpu::runtime::Context;
use crate::nn::Conv2d;

/// A conv from `input` into `output`, with what the UNet fuses into it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvOp<'m> {
    pub conv: &'m GpuConv2d,
    pub input: View,
    pub output: View,
    /// Read the input as its nearest 2x enlargement (Upsample2D).
    pub upsample: bool,
    /// Read the input as 2 x - 1 (center_input_sample).
    pub center: bool,
    /// Column of the per-sample bias in the time projections.
    pub temb: Option<usize>,
    /// (residual, divisor).
    pub residual: Option<(View, f32)>,
    /// (first channel, view) of the second output.
    pub split: Option<(usize, View)>,
    /// Output channels written (the rest dropped: a learned-variance model sampled with a
    /// fixed variance).
    pub keep: usize,
}

impl<'m> ConvOp<'m> {
    /// `conv` from `input` into `output`, nothing fused, every output channel kept.
    pub fn new(conv: &'m GpuConv2d, input: View, output: View) -> Self {
        ConvOp {
            conv,
            input,
            output,
            upsample: false,
            center: false,
            temb: None,
            residual: None,
            split: None,
            keep: output.channels,
        }
    }

    /// Append the conv to `g`: itself, or where it runs as Winograd, its three ops, with the
    /// planes of its transformed input and products as activations of their own.
    pub fn emit(self, g: &mut Graph<'m>) {
        let Some(gemm) = self.conv.winograd() else {
            g.push(self);
            return;
        };
        let conv = self.conv;
        let (ty, tx) = winograd::tiles(self.output.h, self.output.w);
        let tiles = ty * tx;
        let v = g.tensor(
            "winograd input planes",
            16 * conv.in_channels() * tiles,
            Home::Internal,
        );
        let m = g.tensor(
            "winograd products",
            16 * conv.out_channels() * tiles,
            Home::Internal,
        );
        g.push(WinogradIn {
            conv,
            input: self.input,
            v,
            upsample: self.upsample,
            center: self.center,
            out: (self.output.h, self.output.w),
        });
        g.push(WinogradProducts { gemm, v, m, tiles });
        g.push(WinogradOut {
            conv,
            m,
            output: self.output,
            input: (self.input.h, self.input.w),
            temb: self.temb,
            residual: self.residual,
            split: self.split,
            keep: self.keep,
        });
    }
}

impl LayerOp for ConvOp<'_> {
    fn tensors(&self) -> Vec<usize> {
        let mut t = vec![self.input.tensor, self.output.tensor];
        t.extend(self.residual.map(|r| r.0.tensor));
        t.extend(self.split.map(|s| s.1.tensor));
        t
    }

    fn uses_temb(&self) -> bool {
        self.temb.is_some()
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let chosen = self.conv_key().and_then(|key| at.conv_kernel(&key));
        self.stage_on(ctx, at, chosen.unwrap_or(self.conv.conv_kernel()))
    }

    fn conv_key(&self) -> Option<ConvKey> {
        // Winograd convs are three ops of their own (`emit`); only direct runs have variants.
        if self.conv.winograd().is_some() {
            return None;
        }
        let (pt, pl) = self.conv.pads();
        let bits = [
            self.center,
            self.temb.is_some(),
            self.residual.is_some(),
            self.split.is_some(),
            self.keep < self.conv.out_channels(),
        ];
        Some(ConvKey {
            cin: self.conv.in_channels(),
            cout: self.conv.out_channels(),
            kernel: self.conv.kernel,
            stride: self.conv.stride,
            pad: (pt, pl),
            h: self.input.h,
            w: self.input.w,
            upsample: self.upsample,
            epilogue: bits
                .iter()
                .enumerate()
                .fold(0, |acc, (i, &on)| acc | (u8::from(on) << i)),
            f16: self.conv.precision == crate::gpu::runtime::Precision::F16,
        })
    }

    fn stage_on(&self, ctx: &Context, at: &dyn Places, kernel: ConvKernel) -> Result<Stage> {
        let (residual, split) = epilogue(at, self.residual, self.split)?;
        let args = ConvArgs {
            batch: at.samples().1,
            h: self.input.h,
            w: self.input.w,
            input: at.view(self.input)?,
            output: at.view(self.output)?,
            upsample: self.upsample,
            center: self.center,
            temb: at.temb(self.temb)?,
            residual,
            split,
            keep: self.keep,
            products: None,
            dummy: at.dummy(),
        };
        // The tiled kernel where chosen and able to run every option asked for; else the
        // direct one (never a dropped option).
        match (kernel, &self.conv.weights) {
            (ConvKernel::Tiled(shape), Some(w)) if conv2d_tiled::supports(&args) => {
                conv2d_tiled::stage(self.conv, ctx, &args, shape, w)
            }
            _ => self.conv.stage(ctx, &args),
        }
    }
}

/// What [`forward`] fuses into the conv, as in the UNet.
#[derive(Clone, Debug, Default)]
pub struct ConvOptions {
    /// Read the input as its nearest 2x enlargement (Upsample2D).
    pub upsample: bool,
    /// Read the input as 2 x - 1 (center_input_sample).
    pub center: bool,
    /// A per-sample bias [B, out_channels] added to every pixel.
    pub temb: Option<Vec<f32>>,
    /// (residual of the output's shape, s): the output is (residual + conv) / s.
    pub residual: Option<(Vec<f32>, f32)>,
    /// Run a 3x3 stride-1 conv as Winograd F(2x2, 3x3) (the UNet's choice) rather than directly.
    pub winograd: bool,
    /// The kernel of a direct run (`UNetOptions::conv`).
    pub kernel: ConvKernel,
    /// How the weights and activations are stored (`UNetOptions::precision`).
    pub precision: crate::gpu::runtime::Precision,
}

/// Run `conv` once on `x` ([B, C, H, W]) with `opts`, for tests and single-layer use: uploads,
/// runs, reads back [B, out_channels, OH, OW].
pub fn forward(
    ctx: &Context,
    conv: &Conv2d,
    x: &[f32],
    shape: [usize; 4],
    opts: &ConvOptions,
) -> Result<Vec<f32>> {
    let [n, c, h, w] = shape;
    let kernel = (opts.winograd, opts.kernel);
    let g = GpuConv2d::stored_as(ctx, conv, "conv2d", kernel, opts.precision)?;
    if c != g.in_channels() || x.len() != n * c * h * w || n == 0 {
        return Err(Error::ShapeMismatch(format!(
            "conv2d takes [B, {}, H, W], got shape {shape:?} with {} values",
            g.in_channels(),
            x.len()
        )));
    }
    let up = if opts.upsample { 2 } else { 1 };
    let (oh, ow) = g.output_size(h * up, w * up).ok_or_else(|| {
        Error::ShapeMismatch(format!("conv2d: input {h}x{w} is smaller than the kernel"))
    })?;
    let mut graph = Graph {
        precision: opts.precision,
        ..Graph::default()
    };
    let input = graph.activation("conv2d input", c, h, w);
    let output = graph.activation("conv2d output", g.out_channels(), oh, ow);
    let mut inputs: Vec<(usize, &[f32])> = vec![(input.tensor, x)];
    if let Some(t) = &opts.temb {
        let tensor = graph.tensor("conv2d temb", g.out_channels(), Home::Internal);
        graph.temb = Some(tensor);
        inputs.push((tensor, t));
    }
    let residual = match &opts.residual {
        Some((r, s)) => {
            let v = graph.activation("conv2d residual", g.out_channels(), oh, ow);
            inputs.push((v.tensor, r));
            Some((v, *s))
        }
        None => None,
    };
    ConvOp {
        upsample: opts.upsample,
        center: opts.center,
        temb: opts.temb.as_ref().map(|_| 0),
        residual,
        ..ConvOp::new(&g, input, output)
    }
    .emit(&mut graph);
    super::plan::run_layer(ctx, &graph, &inputs, output.tensor, n)
}
