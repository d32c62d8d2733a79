//! The UNet forward as a list of layer ops over logical activations, written once per
//! `prepare` by walking the uploaded layer tree in the order of `cpu::nn::unet::forward`.
//! `plan.rs` then gives every activation a buffer and every op its stage. The graph knows the
//! layers only through [`LayerOp`]; each layer kind's op lives in the layer's file.

use super::Stage;
use crate::error::Result;
use crate::gpu::runtime::shaders::tiles::{ConvKernel, ConvKey};
use crate::gpu::runtime::Context;

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

/// A logical activation: `per_sample` values per sample (its batch stride).
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

/// What a layer op needs to know of where its tensors live for one sub-batch (the plan's
/// buffers, or the loop's for x_t, model_output and model_var, shifted to the sub-batch's first
/// sample). `plan.rs` implements it; a layer reads its tensors only through it.
pub(crate) trait Places {
    /// (first sample, samples) of the sub-batch.
    fn samples(&self) -> (usize, usize);
    /// Samples per sub-batch of the plan (the stride of planes stored sub-batch-major).
    fn sub_batch(&self) -> usize;
    /// Values per sample of tensor `t`.
    fn per_sample(&self, t: usize) -> usize;
    /// The buffer of tensor `t` and where the sub-batch's first sample starts in it.
    fn place(&self, t: usize) -> Result<(&wgpu::Buffer, usize)>;
    /// `v` in its buffer.
    fn view(&self, v: View) -> Result<BufView<'_>>;
    /// The time projections at `column`: (buffer, column, row length), if the op reads them.
    fn temb(&self, column: Option<usize>) -> Result<Option<(&wgpu::Buffer, u32, u32)>>;
    /// The time embedding's sinusoid table, the loop's timesteps and T, for a gathering linear.
    fn timestep_table(&self) -> (&wgpu::Buffer, &wgpu::Buffer, usize);
    /// The class table, the labels (one per sample of the whole batch) and the classes, for a
    /// class-conditional model's time embedding; `None` without labels.
    fn class_table(&self) -> Option<(&wgpu::Buffer, &wgpu::Buffer, usize)>;
    /// Bound where a kernel's option is off (never read then).
    fn dummy(&self) -> &wgpu::Buffer;
    /// The kernel the tuner chose for convs of shape `key`, if it chose one.
    fn conv_kernel(&self, key: &ConvKey) -> Option<ConvKernel>;
}

/// One layer op: a kind of layer over views of the graph's tensors. Each layer kind defines its
/// own in its file; the graph and the plan know them only through this.
pub(crate) trait LayerOp: std::fmt::Debug {
    /// The tensors this op reads and the one it writes (all of them for the liveness), but the
    /// time projections (see [`LayerOp::uses_temb`]).
    fn tensors(&self) -> Vec<usize>;

    /// Whether the op reads the graph's time projections.
    fn uses_temb(&self) -> bool {
        false
    }

    /// Its dispatch for the sub-batch whose tensors `at` places.
    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage>;

    /// The shape the tuner keys this op's kernel by: convs that run directly only.
    fn conv_key(&self) -> Option<ConvKey> {
        None
    }

    /// Its dispatch on `kernel` (a conv's variants, for the tuner; other ops have one).
    fn stage_on(&self, ctx: &Context, at: &dyn Places, _kernel: ConvKernel) -> Result<Stage> {
        self.stage(ctx, at)
    }
}

/// A view of an NCHW activation in a buffer: element (b, c, p) at offset + b bstride + c plane + p.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BufView<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub offset: u32,
    pub bstride: u32,
}

/// The forward: its activations and its ops in order.
#[derive(Debug, Default)]
pub(crate) struct Graph<'m> {
    pub tensors: Vec<TensorDef>,
    pub ops: Vec<Box<dyn LayerOp + 'm>>,
    /// The resnets' time projections [B, all columns], read by the TEMB and SCALE_SHIFT ops.
    pub temb: Option<usize>,
    /// How the internal activations are stored (the loop's own arrays are f32).
    pub precision: crate::gpu::runtime::Precision,
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

    /// Append `op`.
    pub fn push(&mut self, op: impl LayerOp + 'm) {
        self.ops.push(Box::new(op));
    }
}
