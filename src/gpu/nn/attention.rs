//! Host side of shaders/nn/attention.wgsl and attention_softmax.wgsl (CPU twin:
//! src/cpu/nn/attention.rs): the UNet's spatial self-attention as five stages: the group norm,
//! q, k and v as one 1x1 conv (their weights stacked), per head the scores q^T k (attention.wgsl),
//! their softmax with the 1/sqrt(head_dim) scale (attention_softmax.wgsl), the mix of v by them
//! (attention.wgsl again) written into the heads' channels, and the output projection as a 1x1
//! conv whose epilogue adds the residual and divides by rescale_output_factor.
//!
//! The scores are materialised ([B, heads, N, N]): at the DDPM models' 16x16 attention that is
//! 256 KiB a sample, and a fused online softmax would recompute q^T k for every slice of the
//! head's channels an invocation can hold.

pub use super::attention_flash::AttentionKind;
use super::attention_flash::{FlashOp, FLASH_MAX_HEAD_DIM};
pub use super::attention_softmax::SoftmaxKind;
use super::attention_softmax::SoftmaxOp;
use super::conv2d::GpuConv2d;
use super::conv2d_op::ConvOp;
use super::conv2d_tiled::ConvSelection;
use super::graph::{Graph, Home, LayerOp, Places, View};
use super::group_norm::{GpuGroupNorm, NormOp};
use super::params::MatmulParams;
use super::{grid_xz, u32_of, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::Precision;
use crate::gpu::Context;
use crate::nn::{Attention, Conv2d, Padding};

/// Rows and columns of the tile of one invocation of attention.wgsl (`MM_TILE`).
pub const MM_TILE: usize = 8;
/// Invocations per workgroup of attention.wgsl and attention_softmax.wgsl (`MM_WG`).
pub const MM_WG: usize = 64;

/// How a matmul operand is laid out in its tensor: element (head, i, j) of a sample at
/// offset + head hstride + i s1 + j s2 (rows and k for a, k and columns for b, rows and
/// columns for c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MatOperand {
    pub offset: usize,
    pub hstride: usize,
    pub s1: usize,
    pub s2: usize,
}

/// An operand placed in its buffer: strides as the kernel takes them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placed([u32; 5]); // offset, bstride, hstride, s1, s2

impl MatOperand {
    /// This operand of a tensor whose sample 0 starts at `shift` with `bstride` per sample.
    pub fn placed(self, shift: usize, bstride: usize) -> Result<Placed> {
        let v = |n: usize| u32_of("attention operand", n);
        Ok(Placed([
            v(shift + self.offset)?,
            v(bstride)?,
            v(self.hstride)?,
            v(self.s1)?,
            v(self.s2)?,
        ]))
    }
}

/// The stage of c = scale a b over `batch` samples of `heads` heads; dims = [m, n, k, heads].
fn matmul_stage(
    ctx: &Context,
    batch: usize,
    [m, n, k, heads]: [usize; 4],
    [(a, pa), (b, pb), (c, pc)]: [(&wgpu::Buffer, Placed); 3],
    (scale, precision): (f32, Precision),
) -> Result<Stage> {
    let v = |x: usize| u32_of("attention size", x);
    let n_tiles = n.div_ceil(MM_TILE);
    let tiles = m.div_ceil(MM_TILE) * n_tiles;
    let [ao, ab, ah, am, ak] = pa.0;
    let [bo, bb, bh, bk, bn] = pb.0;
    let [co, cb, ch, cm, cn] = pc.0;
    let p = MatmulParams {
        m: v(m)?,
        n: v(n)?,
        k: v(k)?,
        heads: v(heads)?,
        batch: v(batch)?,
        a_offset: ao,
        a_bstride: ab,
        a_hstride: ah,
        a_mstride: am,
        a_kstride: ak,
        b_offset: bo,
        b_bstride: bb,
        b_hstride: bh,
        b_kstride: bk,
        b_nstride: bn,
        c_offset: co,
        c_bstride: cb,
        c_hstride: ch,
        c_mstride: cm,
        c_nstride: cn,
        n_tiles: v(n_tiles)?,
        scale,
        ..MatmulParams::default()
    };
    let z = v(batch * heads)?;
    let grid = grid_xz(ctx, v(tiles.div_ceil(MM_WG))?, z)?;
    if grid.2 != 1 {
        return Err(Error::Unsupported(format!(
            "attention over {m} x {n} tokens needs more than a row of workgroups"
        )));
    }
    let flops = 2 * (m * n * k * batch * heads) as u64;
    // Rows of tiles in whole subgroups of 8: the left operand shared across the subgroup.
    let kernel = if ctx.subgroup_size() == Some(8) && n_tiles.is_multiple_of(8) {
        Kernel::AttentionSubgroup
    } else {
        Kernel::Attention
    };
    let bits = precision.bits();
    Ok(Stage::new(ctx, kernel, bits, &p, &[a, b, c], grid)?.with_flops(flops))
}

/// c = scale a b for every (sample, head), see shaders/nn/attention.wgsl; dims = [m, n, k,
/// heads], each operand a tensor and its layout in it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatmulOp {
    pub dims: [usize; 4],
    pub a: (usize, MatOperand),
    pub b: (usize, MatOperand),
    pub c: (usize, MatOperand),
    pub scale: f32,
    pub precision: Precision,
}

impl LayerOp for MatmulOp {
    fn tensors(&self) -> Vec<usize> {
        vec![self.a.0, self.b.0, self.c.0]
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let operand = |(t, o): (usize, MatOperand)| -> Result<_> {
            let (buffer, shift) = at.place(t)?;
            Ok((buffer, o.placed(shift, at.per_sample(t))?))
        };
        matmul_stage(
            ctx,
            at.samples().1,
            self.dims,
            [operand(self.a)?, operand(self.b)?, operand(self.c)?],
            (self.scale, self.precision),
        )
    }
}

/// An attention layer on the device.
#[derive(Debug)]
pub struct GpuAttention {
    name: String,
    channels: usize,
    heads: usize,
    head_dim: usize,
    norm: Option<GpuGroupNorm>,
    /// q, k and v stacked: channels -> 3 x inner.
    qkv: GpuConv2d,
    /// to_out: inner -> channels.
    out: GpuConv2d,
    rescale: f32,
    /// Its softmax kernel ([`SoftmaxKind::auto`] unless set).
    softmax: SoftmaxKind,
    /// Scores materialised or one pass ([`AttentionKind::auto`] unless set).
    kind: AttentionKind,
    /// How its weights and activations are stored.
    precision: Precision,
}

fn as_conv(lins: &[&crate::nn::Linear]) -> Conv2d {
    let weight: Vec<f32> = lins.iter().flat_map(|l| l.weight.iter().copied()).collect();
    let bias: Vec<f32> = lins.iter().flat_map(|l| l.bias.iter().copied()).collect();
    Conv2d {
        in_channels: lins.first().map_or(0, |l| l.in_features),
        out_channels: bias.len(),
        kernel: 1,
        stride: 1,
        padding: Padding::uniform(0),
        weight,
        bias,
    }
}

impl GpuAttention {
    /// Upload `attn` (`name` labels it): the projections become 1x1 convs, run as `sel` says.
    pub fn new(ctx: &Context, attn: &Attention, name: &str, sel: ConvSelection) -> Result<Self> {
        let inner = attn.inner_dim();
        let proj =
            |l: &crate::nn::Linear| l.in_features == attn.channels && l.out_features == inner;
        let ok = attn.head_dim > 0
            && proj(&attn.to_q)
            && proj(&attn.to_k)
            && proj(&attn.to_v)
            && attn.to_out.in_features == inner
            && attn.to_out.out_features == attn.channels;
        if !ok {
            return Err(Error::ShapeMismatch(format!(
                "{name}: its weights do not match its declared sizes"
            )));
        }
        let qkv = as_conv(&[&attn.to_q, &attn.to_k, &attn.to_v]);
        Ok(GpuAttention {
            name: name.to_string(),
            channels: attn.channels,
            heads: attn.heads,
            head_dim: attn.head_dim,
            norm: attn
                .group_norm
                .as_ref()
                .map(|g| {
                    GpuGroupNorm::stored_as(ctx, g, &format!("{name}.group_norm"), sel.precision)
                })
                .transpose()?,
            qkv: sel.upload(ctx, &qkv, &format!("{name}.qkv"), false)?,
            out: sel.upload(
                ctx,
                &as_conv(&[&attn.to_out]),
                &format!("{name}.to_out"),
                false,
            )?,
            rescale: attn.rescale_output_factor as f32,
            softmax: SoftmaxKind::auto(ctx),
            kind: match sel.attention {
                Some(k) if !k.runs_on(ctx) => {
                    return Err(Error::Unsupported(format!(
                        "{name}: the attention path {k:?} does not run on this device"
                    )))
                }
                Some(k) => k,
                None => AttentionKind::auto(ctx),
            },
            precision: sel.precision,
        })
    }

    /// This layer on the path `kind` (which must run on the device: see
    /// [`AttentionKind::runs_on`]).
    pub fn with_kind(self, kind: AttentionKind) -> Self {
        GpuAttention { kind, ..self }
    }

    /// This layer with its softmax on `kind` (which must run on the device: see
    /// [`SoftmaxKind::runs_on`]).
    pub fn with_softmax(self, kind: SoftmaxKind) -> Self {
        GpuAttention {
            softmax: kind,
            ..self
        }
    }

    /// Bytes of its weights on the device.
    pub fn device_bytes(&self) -> u64 {
        self.norm.as_ref().map_or(0, GpuGroupNorm::device_bytes)
            + self.qkv.device_bytes()
            + self.out.device_bytes()
    }

    /// Append the layer's ops reading `x` and writing `out` (both of `channels`).
    pub(crate) fn emit<'m>(&'m self, g: &mut Graph<'m>, x: View, out: View) -> Result<()> {
        if x.channels != self.channels || out.channels != self.channels {
            return Err(Error::ShapeMismatch(format!(
                "{} takes {} channels, got {} into {}",
                self.name, self.channels, x.channels, out.channels
            )));
        }
        let (d, heads, n) = (self.head_dim, self.heads, x.h * x.w);
        let inner = d * heads;
        let normed = match &self.norm {
            Some(norm) => {
                let v = g.activation(&format!("{} norm", self.name), x.channels, x.h, x.w);
                g.push(NormOp {
                    norm,
                    input: x,
                    output: v,
                    silu: false,
                    scale_shift: None,
                });
                v
            }
            None => x,
        };
        let qkv = g.activation(&format!("{} qkv", self.name), 3 * inner, x.h, x.w);
        ConvOp::new(&self.qkv, normed, qkv).emit(g);
        let scale = (1.0 / (d as f64).sqrt()) as f32;
        let mixed = g.activation(&format!("{} mixed", self.name), inner, x.h, x.w);
        if self.kind == AttentionKind::Flash && d <= FLASH_MAX_HEAD_DIM {
            g.push(FlashOp {
                qkv: qkv.tensor,
                mixed: mixed.tensor,
                tokens: n,
                heads,
                head_dim: d,
                scale,
                precision: self.precision,
            });
        } else {
            self.emit_scores(g, qkv.tensor, mixed.tensor, [n, d, heads], scale);
        }
        ConvOp {
            residual: Some((x, self.rescale)),
            keep: self.channels,
            ..ConvOp::new(&self.out, mixed, out)
        }
        .emit(g);
        Ok(())
    }

    /// The scores of `qkv`, their softmax and p v into `mixed`: three ops, the scores a tensor.
    fn emit_scores<'m>(
        &'m self,
        g: &mut Graph<'m>,
        qkv: usize,
        mixed: usize,
        [n, d, heads]: [usize; 3],
        scale: f32,
    ) {
        let inner = d * heads;
        let scores = g.tensor(
            &format!("{} scores", self.name),
            heads * n * n,
            Home::Internal,
        );
        let operand = |offset, hstride, s1, s2| MatOperand {
            offset,
            hstride,
            s1,
            s2,
        };
        // scores[h, i, j] = sum_c q[h d + c, i] k[h d + c, j].
        g.push(MatmulOp {
            dims: [n, n, d, heads],
            a: (qkv, operand(0, d * n, 1, n)),
            b: (qkv, operand(inner * n, d * n, n, 1)),
            c: (scores, operand(0, n * n, n, 1)),
            scale: 1.0,
            precision: self.precision,
        });
        g.push(SoftmaxOp {
            tensor: scores,
            rows: heads * n,
            len: n,
            scale,
            kind: self.softmax,
            precision: self.precision,
        });
        // mixed[h d + c, i] = sum_j v[h d + c, j] p[h, i, j].
        g.push(MatmulOp {
            dims: [d, n, n, heads],
            a: (qkv, operand(2 * inner * n, d * n, n, 1)),
            b: (scores, operand(0, n * n, 1, n)),
            c: (mixed, operand(0, d * n, n, 1)),
            scale: 1.0,
            precision: self.precision,
        });
    }
}

/// Run `attn` once on `x` ([B, C, H, W]): uploads, runs, reads back (tests, single layers).
pub fn forward(ctx: &Context, attn: &Attention, x: &[f32], shape: [usize; 4]) -> Result<Vec<f32>> {
    let kinds = (AttentionKind::auto(ctx), SoftmaxKind::auto(ctx));
    forward_with(ctx, attn, x, shape, kinds)
}

/// [`forward`] on the path `path` with the softmax `softmax` (the scores path's), for tests of
/// each variant; refused where the device cannot run them.
pub fn forward_with(
    ctx: &Context,
    attn: &Attention,
    x: &[f32],
    shape: [usize; 4],
    (path, softmax): (AttentionKind, SoftmaxKind),
) -> Result<Vec<f32>> {
    if !softmax.runs_on(ctx) || !path.runs_on(ctx) {
        return Err(Error::Unsupported(format!(
            "the attention variant {path:?} with softmax {softmax:?} does not run on this device"
        )));
    }
    let [_, c, h, w] = shape;
    let layer = GpuAttention::new(ctx, attn, "attention", ConvSelection::default())?
        .with_softmax(softmax)
        .with_kind(path);
    let mut g = Graph::default();
    let input = g.activation("attention input", c, h, w);
    let output = g.activation("attention output", c, h, w);
    layer.emit(&mut g, input, output)?;
    super::plan::run_layer(ctx, &g, &[(input.tensor, x)], output.tensor, shape[0])
}
