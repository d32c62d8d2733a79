//! The stage of each op of a [`Graph`] for one sub-batch: where its tensors live (the plan's
//! buffers, or the loop's for x_t, model_output and model_var, shifted to the sub-batch's first
//! sample), and the layer's stage over those views.

use super::attention::{matmul_stage, softmax_stage};
use super::conv2d::{BufView, ConvArgs};
use super::graph::{Graph, Home, Op, View};
use super::group_norm::NormArgs;
use super::linear::Rows;
use super::plan::{Externals, Plan};
use super::{u32_of, winograd, Stage};
use crate::error::{Error, Result};
use crate::gpu::Context;

/// The transforms' geometry for the planes tensor `planes` (16 planes of the planned
/// sub-batch) of a conv from (h, w) to `out`.
fn winograd_geometry(
    graph: &Graph<'_>,
    plan: &Plan,
    planes: usize,
    (batch, h, w): (usize, usize, usize),
    (oh, ow): (usize, usize),
) -> winograd::Geometry {
    winograd::Geometry {
        batch,
        h,
        w,
        oh,
        ow,
        xstride: plan.sub_batch * graph.tensors[planes].per_sample / 16,
    }
}

/// The buffer of tensor `t` and where sample `first` of it starts.
fn place<'a>(
    graph: &Graph<'_>,
    plan: &'a Plan,
    ext: &Externals<'a>,
    t: usize,
    first: usize,
) -> Result<(&'a wgpu::Buffer, usize)> {
    let def = &graph.tensors[t];
    let missing = || Error::Unsupported(format!("{}: no buffer was planned", def.name));
    let shift = first * def.per_sample;
    match def.home {
        Home::Internal => Ok((plan.buffer_of(t).ok_or_else(missing)?, 0)),
        Home::XT => Ok((ext.x_t, shift)),
        Home::ModelOutput => Ok((ext.model_output, shift)),
        Home::ModelVar => Ok((ext.model_var.ok_or_else(missing)?, shift)),
    }
}

fn view<'a>(
    graph: &Graph<'_>,
    plan: &'a Plan,
    ext: &Externals<'a>,
    v: View,
    first: usize,
) -> Result<BufView<'a>> {
    let (buffer, shift) = place(graph, plan, ext, v.tensor, first)?;
    let name = &graph.tensors[v.tensor].name;
    Ok(BufView {
        buffer,
        offset: u32_of(name, shift + v.offset)?,
        bstride: u32_of(name, graph.tensors[v.tensor].per_sample)?,
    })
}

/// The stage of `op` for samples `first .. first + count`.
pub(crate) fn op_stage(
    ctx: &Context,
    graph: &Graph<'_>,
    plan: &Plan,
    op: &Op<'_>,
    (first, count): (usize, usize),
    ext: &Externals<'_>,
) -> Result<Stage> {
    let temb_of = |t: Option<usize>, tensor: Option<usize>| -> Result<_> {
        match (t, tensor) {
            (Some(col), Some(tensor)) => {
                let (buffer, _) = place(graph, plan, ext, tensor, first)?;
                let stride = graph.tensors[tensor].per_sample;
                Ok(Some((
                    buffer,
                    u32_of("temb", col)?,
                    u32_of("temb", stride)?,
                )))
            }
            _ => Ok(None),
        }
    };
    match *op {
        Op::Conv {
            conv,
            input,
            output,
            upsample,
            center,
            temb,
            residual,
            split,
            keep,
        } => {
            let res = match residual {
                Some((r, s)) => Some((view(graph, plan, ext, r, first)?, s)),
                None => None,
            };
            let split = match split {
                Some((c, v)) => Some((u32_of("split", c)?, view(graph, plan, ext, v, first)?)),
                None => None,
            };
            let args = ConvArgs {
                batch: count,
                h: input.h,
                w: input.w,
                input: view(graph, plan, ext, input, first)?,
                output: view(graph, plan, ext, output, first)?,
                upsample,
                center,
                temb: temb_of(temb, graph.temb)?,
                residual: res,
                split,
                keep,
                products: None,
                dummy: ext.dummy,
            };
            conv.stage(ctx, &args)
        }
        Op::WinogradIn {
            conv,
            input,
            v,
            upsample,
            center,
            out,
        } => {
            let geometry = winograd_geometry(graph, plan, v, (count, input.h, input.w), out);
            let planes = place(graph, plan, ext, v, first)?.0;
            let input = view(graph, plan, ext, input, first)?;
            winograd::input_stage(ctx, conv, &geometry, input, planes, (upsample, center))
        }
        Op::Products { gemm, v, m, tiles } => {
            let (vb, mb) = (
                place(graph, plan, ext, v, first)?.0,
                place(graph, plan, ext, m, first)?.0,
            );
            let plane = |t: usize| graph.tensors[t].per_sample / 16;
            let xstride = |t: usize| u32_of("winograd planes", plan.sub_batch * plane(t));
            let buf = |buffer, t: usize| -> Result<BufView<'_>> {
                Ok(BufView {
                    buffer,
                    offset: 0,
                    bstride: u32_of("winograd planes", plane(t))?,
                })
            };
            let args = ConvArgs {
                batch: count,
                h: 1,
                w: tiles,
                input: buf(vb, v)?,
                output: buf(mb, m)?,
                upsample: false,
                center: false,
                temb: None,
                residual: None,
                split: None,
                keep: gemm.out_channels(),
                products: Some((xstride(v)?, xstride(m)?)),
                dummy: ext.dummy,
            };
            gemm.stage(ctx, &args)
        }
        Op::WinogradOut {
            conv,
            m,
            output,
            input,
            temb,
            residual,
            split,
            keep,
        } => {
            let geometry = winograd_geometry(
                graph,
                plan,
                m,
                (count, input.0, input.1),
                (output.h, output.w),
            );
            let res = match residual {
                Some((r, s)) => Some((view(graph, plan, ext, r, first)?, s)),
                None => None,
            };
            let split = match split {
                Some((c, v)) => Some((u32_of("split", c)?, view(graph, plan, ext, v, first)?)),
                None => None,
            };
            let args = winograd::OutputArgs {
                m: place(graph, plan, ext, m, first)?.0,
                output: view(graph, plan, ext, output, first)?,
                temb: temb_of(temb, graph.temb)?,
                residual: res,
                split,
                keep,
                dummy: ext.dummy,
            };
            winograd::output_stage(ctx, conv, &geometry, &args)
        }
        Op::Norm {
            norm,
            input,
            output,
            silu,
            scale_shift,
        } => {
            let args = NormArgs {
                batch: count,
                plane: input.h * input.w,
                input: view(graph, plan, ext, input, first)?,
                output: view(graph, plan, ext, output, first)?,
                silu,
                scale_shift: temb_of(scale_shift, graph.temb)?,
                dummy: ext.dummy,
            };
            norm.stage(ctx, &args)
        }
        Op::Linear {
            lin,
            input,
            output,
            silu,
        } => {
            let rows = match input {
                Some(t) => Rows::Buffer(place(graph, plan, ext, t, first)?.0),
                None => Rows::Gather {
                    table: ext.table,
                    timesteps: ext.timesteps,
                    t_offset: u32_of("timesteps", first)?,
                    num_timesteps: u32_of("timesteps", ext.num_timesteps)?,
                },
            };
            let out = place(graph, plan, ext, output, first)?.0;
            lin.stage(ctx, count, rows, out, silu)
        }
        Op::Matmul {
            dims,
            a,
            b,
            c,
            scale,
        } => {
            let operand = |(t, o): (usize, super::attention::MatOperand)| -> Result<_> {
                let (buffer, shift) = place(graph, plan, ext, t, first)?;
                let bstride = graph.tensors[t].per_sample;
                Ok((buffer, o.placed(shift, bstride)?))
            };
            matmul_stage(
                ctx,
                count,
                dims,
                [operand(a)?, operand(b)?, operand(c)?],
                scale,
            )
        }
        Op::Softmax {
            tensor,
            rows,
            len,
            scale,
        } => {
            let (buffer, _) = place(graph, plan, ext, tensor, first)?;
            softmax_stage(ctx, count * rows, len, scale, buffer)
        }
    }
}
