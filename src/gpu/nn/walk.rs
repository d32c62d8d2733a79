//! The forward of the whole UNet as a [`Graph`], in the order of `cpu::nn::unet::forward`.
//!
//! Skips are not copied: every up resnet reads one activation [hidden, skip] (torch.cat on
//! channels), and both halves are written there by their producers: the skip by its down-path
//! layer (the next down layer reads it from there), the hidden part by the layer before the up
//! resnet (mid block, previous up resnet or its attention, or the upsampler).

use super::blocks::UNetLayers;
use super::cast::{CastDirection, CastOp};
use super::conv2d_op::ConvOp;
use super::graph::{Graph, Home, View};
use super::group_norm::NormOp;
use super::resnet::GpuResnet;
use crate::error::{Error, Result};
use crate::gpu::runtime::Precision;

/// What conv_out writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// All out_channels into the loop's model_output ([B, out_channels, H, W]).
    Whole,
    /// The first in_channels into model_output; the rest into model_var when `var`, else
    /// nowhere (a learned-variance model under a fixed-variance sampler).
    Split { in_channels: usize, var: bool },
}

/// One layer after the down path.
enum Step<'m> {
    /// A resnet; an up resnet reads the concatenation of skip `k`.
    Resnet(&'m GpuResnet, Option<usize>),
    Attention(&'m super::attention::GpuAttention),
    Upsample(&'m super::conv2d::GpuConv2d),
}

/// The forward of `layers` on samples of `in_channels` x h x w (sizes already checked).
pub(crate) fn graph<'m>(
    layers: &'m UNetLayers,
    (in_channels, h, w): (usize, usize, usize),
    center: bool,
    output: Output,
) -> Result<Graph<'m>> {
    let mut g = Graph {
        precision: layers.precision,
        ..Graph::default()
    };
    layers.time_embedding.emit(&mut g);
    let xt = g.tensor("x_t", in_channels * h * w, Home::XT);
    let mut x = View {
        tensor: xt,
        offset: 0,
        channels: in_channels,
        h,
        w,
    };
    // Stored as f16: x_t converted into the UNet's storage first.
    if g.precision != Precision::F32 {
        let stored = g.activation("x_t (stored)", in_channels, h, w);
        g.push(CastOp {
            input: x,
            output: stored,
            direction: CastDirection::In,
            precision: g.precision,
        });
        x = stored;
    }
    // Skips in push order with their sizes, then the hidden channels each one's up resnet
    // concatenates before it.
    let mut skips = vec![(layers.conv_in.out_channels(), h, w)];
    let (mut lh, mut lw) = (h, w);
    for b in &layers.down_blocks {
        skips.extend(b.resnets.iter().map(|r| (r.out_channels(), lh, lw)));
        if let Some(d) = &b.downsampler {
            (lh, lw) = d.output_size(lh, lw).unwrap_or((0, 0));
            skips.push((d.out_channels(), lh, lw));
        }
    }
    let ups: Vec<&GpuResnet> = layers.up_blocks.iter().flat_map(|b| &b.resnets).collect();
    let n = skips.len();
    if ups.len() != n {
        return Err(Error::UnsupportedModel(format!(
            "{} up resnets for {n} skip activations",
            ups.len()
        )));
    }
    let mut cats = Vec::with_capacity(n);
    for (k, &(c, sh, sw)) in skips.iter().enumerate() {
        let consumer = ups[n - 1 - k];
        let hidden = consumer.in_channels().checked_sub(c).ok_or_else(|| {
            Error::UnsupportedModel(format!("skip {k} has more channels than its up resnet"))
        })?;
        let cat = g.activation(&format!("skip {k} [hidden, skip]"), hidden + c, sh, sw);
        cats.push((cat, hidden, c));
    }
    let skip = |k: usize| cats[k].0.channels(cats[k].1, cats[k].2);
    let hidden = |k: usize| cats[k].0.channels(0, cats[k].1);

    ConvOp {
        center,
        ..ConvOp::new(&layers.conv_in, x, skip(0))
    }
    .emit(&mut g);
    let mut cur = skip(0);
    let mut k = 1;
    // The last down layer, for a model without a mid block (see below).
    let mut last = None;
    for b in &layers.down_blocks {
        for (i, r) in b.resnets.iter().enumerate() {
            let attn = b.attentions.get(i);
            let dest = skip(k);
            emit_down(&mut g, r, attn, cur, dest)?;
            last = Some((r, attn, cur));
            cur = dest;
            k += 1;
        }
        if let Some(d) = &b.downsampler {
            ConvOp::new(d, cur, skip(k)).emit(&mut g);
            last = None;
            cur = skip(k);
            k += 1;
        }
    }

    let mut steps = Vec::new();
    match &layers.mid_block {
        Some(mid) => {
            for (i, r) in mid.resnets.iter().enumerate() {
                if i > 0 {
                    steps.extend(mid.attentions.get(i - 1).map(Step::Attention));
                }
                steps.push(Step::Resnet(r, None));
            }
        }
        None => {
            // diffusers concatenates the last down output with itself: it is already in the
            // first up resnet's skip half; compute it once more into the hidden half.
            let (r, attn, input) = last.ok_or_else(|| {
                Error::UnsupportedModel("no mid block and the last down block has no resnet".into())
            })?;
            emit_down(&mut g, r, attn, input, hidden(n - 1))?;
            cur = hidden(n - 1);
        }
    }
    let mut j = 0;
    for b in &layers.up_blocks {
        for (i, r) in b.resnets.iter().enumerate() {
            steps.push(Step::Resnet(r, Some(n - 1 - j)));
            j += 1;
            steps.extend(b.attentions.get(i).map(Step::Attention));
        }
        steps.extend(b.upsampler.as_ref().map(Step::Upsample));
    }
    for (s, step) in steps.iter().enumerate() {
        let next_skip = match steps.get(s + 1) {
            Some(Step::Resnet(_, Some(k))) => Some(*k),
            _ => None,
        };
        let input = match step {
            Step::Resnet(_, Some(k)) => cats[*k].0,
            _ => cur,
        };
        let (c, oh, ow) = match step {
            Step::Resnet(r, _) => (r.out_channels(), input.h, input.w),
            Step::Attention(_) => (input.channels, input.h, input.w),
            Step::Upsample(u) => (u.out_channels(), 2 * input.h, 2 * input.w),
        };
        let dest = match next_skip {
            Some(k) => hidden(k),
            None => g.activation(&format!("up path {s}"), c, oh, ow),
        };
        match step {
            Step::Resnet(r, _) => r.emit(&mut g, input, dest)?,
            Step::Attention(a) => a.emit(&mut g, input, dest)?,
            Step::Upsample(u) => {
                ConvOp {
                    upsample: true,
                    ..ConvOp::new(u, input, dest)
                }
                .emit(&mut g);
            }
        }
        cur = dest;
    }

    let normed = g.activation("conv_norm_out", cur.channels, cur.h, cur.w);
    g.push(NormOp {
        norm: &layers.conv_norm_out,
        input: cur,
        output: normed,
        silu: true,
        scale_shift: None,
    });
    let out_c = layers.conv_out.out_channels();
    let view = |g: &mut Graph<'m>, name: &str, c: usize, home| View {
        tensor: g.tensor(name, c * h * w, home),
        offset: 0,
        channels: c,
        h,
        w,
    };
    let mut op = match output {
        Output::Whole => ConvOp::new(
            &layers.conv_out,
            normed,
            view(&mut g, "model_output", out_c, Home::ModelOutput),
        ),
        Output::Split {
            in_channels: c,
            var,
        } => {
            let out = view(&mut g, "model_output", c, Home::ModelOutput);
            let mut op = ConvOp::new(&layers.conv_out, normed, out);
            op.keep = if var { out_c } else { c };
            if var {
                op.split = Some((c, view(&mut g, "model_var", out_c - c, Home::ModelVar)));
            }
            op
        }
    };
    op.keep = op.keep.min(out_c);
    if g.precision == Precision::F32 {
        op.emit(&mut g);
        return Ok(g);
    }
    // Stored as f16: conv_out writes the UNet's storage, converted into the loop's arrays.
    let ends = [Some(op.output), op.split.map(|s| s.1)];
    let kept = op.keep;
    let stored = g.activation("conv_out (stored)", kept, h, w);
    op.output = stored;
    op.split = None;
    op.emit(&mut g);
    let mut from = 0;
    for end in ends.into_iter().flatten() {
        g.push(CastOp {
            input: stored.channels(from, end.channels),
            output: end,
            direction: CastDirection::Out,
            precision: g.precision,
        });
        from += end.channels;
    }
    Ok(g)
}

/// A down resnet from `input` into `dest`, through its attention when it has one.
fn emit_down<'m>(
    g: &mut Graph<'m>,
    r: &'m GpuResnet,
    attn: Option<&'m super::attention::GpuAttention>,
    input: View,
    dest: View,
) -> Result<()> {
    match attn {
        Some(a) => {
            let t = g.activation(
                "down resnet before attention",
                r.out_channels(),
                input.h,
                input.w,
            );
            r.emit(g, input, t)?;
            a.emit(g, t, dest)
        }
        None => r.emit(g, input, dest),
    }
}
