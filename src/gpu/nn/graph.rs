//! The UNet forward as a list of layer ops over logical activations, written once per
//! `prepare` by walking the uploaded layer tree in the order of `cpu::nn::unet::forward`.
//! `plan.rs` then gives every activation a buffer and every op its stage.

use super::attention::MatOperand;
use super::conv2d::GpuConv2d;
use super::group_norm::GpuGroupNorm;
use super::linear::GpuLinear;

/// Where an activation lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Home {
    /// A buffer of the plan, reused once the activation is dead.
    Internal,
    /// The loop's x_t (read by conv_in).
    XT,
    /// The loop's model_output (written by conv_out).
    ModelOutput,
    /// The loop's model_var (learned variance: the second half of conv_out).
    ModelVar,
}

/// A logical activation: `per_sample` f32 per sample (its batch stride).
#[derive(Clone, Debug)]
pub(crate) struct TensorDef {
    pub name: String,
    pub per_sample: usize,
    pub home: Home,
}

/// Channels `offset / plane ..` of a tensor, as an NCHW activation of `channels` x h x w.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct View {
    pub tensor: usize,
    /// First element within a sample.
    pub offset: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
}

impl View {
    /// Channels `from ..` of this view, `channels` of them.
    pub fn channels(self, from: usize, channels: usize) -> View {
        View {
            offset: self.offset + from * self.h * self.w,
            channels,
            ..self
        }
    }
}

/// One layer op.
#[derive(Debug)]
pub(crate) enum Op<'m> {
    Conv {
        conv: &'m GpuConv2d,
        input: View,
        output: View,
        upsample: bool,
        center: bool,
        /// Column of the per-sample bias in the time projections.
        temb: Option<usize>,
        /// (residual, divisor).
        residual: Option<(View, f32)>,
        /// (first channel, view) of the second output.
        split: Option<(usize, View)>,
        /// Output channels written (the rest dropped: a learned-variance model sampled with a
        /// fixed variance).
        keep: usize,
    },
    Norm {
        norm: &'m GpuGroupNorm,
        input: View,
        output: View,
        silu: bool,
        /// Column of the scale in the time projections (scale_shift).
        scale_shift: Option<usize>,
    },
    /// Rows are samples: the input tensor's per-sample values (or the sinusoid gathered by
    /// timestep when `input` is `None`) to the output tensor's.
    Linear {
        lin: &'m GpuLinear,
        input: Option<usize>,
        output: usize,
        silu: bool,
    },
    /// c = scale a b for every (sample, head), see shaders/nn/attention.wgsl.
    Matmul {
        dims: [usize; 4], // m, n, k, heads
        a: (usize, MatOperand),
        b: (usize, MatOperand),
        c: (usize, MatOperand),
        scale: f32,
    },
    /// Winograd's input transform of `conv` from `input` into the 16 planes `v`.
    WinogradIn {
        conv: &'m GpuConv2d,
        input: View,
        v: usize,
        upsample: bool,
        center: bool,
        /// Output height and width of the conv.
        out: (usize, usize),
    },
    /// Winograd's 16 products: `gemm` (a 1x1 conv over the transformed weights) from the
    /// planes `v` into the planes `m`, `tiles` "pixels" each.
    Products {
        gemm: &'m GpuConv2d,
        v: usize,
        m: usize,
        tiles: usize,
    },
    /// Winograd's output transform of `conv` from the planes `m`, with the conv's epilogue.
    WinogradOut {
        conv: &'m GpuConv2d,
        m: usize,
        output: View,
        /// The input's stored size (before upsampling).
        input: (usize, usize),
        temb: Option<usize>,
        residual: Option<(View, f32)>,
        split: Option<(usize, View)>,
        keep: usize,
    },
    /// Softmax in place over rows of `len`, `rows` rows per sample.
    Softmax {
        tensor: usize,
        rows: usize,
        len: usize,
        scale: f32,
    },
}

impl Op<'_> {
    /// Whether the op reads the graph's time projections.
    pub fn uses_temb(&self) -> bool {
        matches!(
            self,
            Op::Conv { temb: Some(_), .. }
                | Op::WinogradOut { temb: Some(_), .. }
                | Op::Norm {
                    scale_shift: Some(_),
                    ..
                }
        )
    }

    /// The tensors this op reads and the one it writes (all of them for the liveness), but the
    /// time projections (see [`Op::uses_temb`]).
    pub fn tensors(&self) -> Vec<usize> {
        match self {
            Op::Conv {
                input,
                output,
                residual,
                split,
                ..
            } => {
                let mut t = vec![input.tensor, output.tensor];
                t.extend(residual.map(|r| r.0.tensor));
                t.extend(split.map(|s| s.1.tensor));
                t
            }
            Op::WinogradIn { input, v, .. } => vec![input.tensor, *v],
            Op::Products { v, m, .. } => vec![*v, *m],
            Op::WinogradOut {
                m,
                output,
                residual,
                split,
                ..
            } => {
                let mut t = vec![*m, output.tensor];
                t.extend(residual.map(|r| r.0.tensor));
                t.extend(split.map(|s| s.1.tensor));
                t
            }
            Op::Norm { input, output, .. } => vec![input.tensor, output.tensor],
            Op::Linear { input, output, .. } => {
                let mut t: Vec<usize> = input.iter().copied().collect();
                t.push(*output);
                t
            }
            Op::Matmul { a, b, c, .. } => vec![a.0, b.0, c.0],
            Op::Softmax { tensor, .. } => vec![*tensor],
        }
    }
}

/// The forward: its activations and its ops in order.
#[derive(Debug, Default)]
pub(crate) struct Graph<'m> {
    pub tensors: Vec<TensorDef>,
    pub ops: Vec<Op<'m>>,
    /// The resnets' time projections [B, all columns], read by the TEMB and SCALE_SHIFT ops.
    pub temb: Option<usize>,
}

impl<'m> Graph<'m> {
    /// A new activation of `per_sample` values.
    pub fn tensor(&mut self, name: &str, per_sample: usize, home: Home) -> usize {
        self.tensors.push(TensorDef {
            name: name.to_string(),
            per_sample,
            home,
        });
        self.tensors.len() - 1
    }

    /// A new internal activation of `channels` x h x w, viewed whole.
    pub fn activation(&mut self, name: &str, channels: usize, h: usize, w: usize) -> View {
        let tensor = self.tensor(name, channels * h * w, Home::Internal);
        View {
            tensor,
            offset: 0,
            channels,
            h,
            w,
        }
    }

    /// Append `op`; a conv that runs as Winograd becomes its three ops, with the planes of
    /// its transformed input and products as activations of their own.
    pub fn push(&mut self, op: Op<'m>) {
        let Op::Conv {
            conv,
            input,
            output,
            upsample,
            center,
            temb,
            residual,
            split,
            keep,
        } = op
        else {
            self.ops.push(op);
            return;
        };
        let Some(gemm) = conv.winograd() else {
            self.ops.push(op);
            return;
        };
        let (ty, tx) = super::winograd::tiles(output.h, output.w);
        let tiles = ty * tx;
        let v = self.tensor(
            "winograd input planes",
            16 * conv.in_channels() * tiles,
            Home::Internal,
        );
        let m = self.tensor(
            "winograd products",
            16 * conv.out_channels() * tiles,
            Home::Internal,
        );
        self.ops.push(Op::WinogradIn {
            conv,
            input,
            v,
            upsample,
            center,
            out: (output.h, output.w),
        });
        self.ops.push(Op::Products { gemm, v, m, tiles });
        self.ops.push(Op::WinogradOut {
            conv,
            m,
            output,
            input: (input.h, input.w),
            temb,
            residual,
            split,
            keep,
        });
    }
}
