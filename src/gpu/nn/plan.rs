//! From a [`Graph`] to dispatches: the sub-batch size (every activation buffer within one
//! storage binding), a buffer for every internal activation (reused once the activation it held
//! is dead: the smallest free buffer that fits, else a new one), and the stages of every
//! sub-batch, uniforms and bind groups made here once.

use super::attention::{matmul_stage, softmax_stage};
use super::conv2d::{BufView, ConvArgs};
use super::graph::{Graph, Home, Op, View};
use super::group_norm::NormArgs;
use super::linear::Rows;
use super::{scratch, u32_of, winograd, Stage};
use crate::error::{Error, Result};
use crate::gpu::Context;

/// The buffers the loop owns, and the time embedding's table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Externals<'a> {
    pub x_t: &'a wgpu::Buffer,
    pub model_output: &'a wgpu::Buffer,
    pub model_var: Option<&'a wgpu::Buffer>,
    pub timesteps: &'a wgpu::Buffer,
    pub table: &'a wgpu::Buffer,
    pub num_timesteps: usize,
    /// Bound where a kernel's option is off.
    pub dummy: &'a wgpu::Buffer,
}

/// Buffers and stages of a prepared forward.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The stages of each sub-batch, in order.
    pub stages: Vec<Vec<Stage>>,
    /// The activation buffers.
    pub buffers: Vec<wgpu::Buffer>,
    /// Which buffer holds each tensor (`usize::MAX` for the loop's own).
    pub assigned: Vec<usize>,
    /// Samples per sub-batch.
    pub sub_batch: usize,
}

impl Plan {
    /// Bytes of the activation buffers and uniforms.
    pub fn device_bytes(&self) -> u64 {
        let buffers: u64 = self.buffers.iter().map(wgpu::Buffer::size).sum();
        buffers
            + self
                .stages
                .iter()
                .map(|s| super::uniform_bytes(s))
                .sum::<u64>()
    }

    /// The buffer of internal tensor `t`.
    pub fn buffer_of(&self, t: usize) -> Option<&wgpu::Buffer> {
        self.assigned.get(t).and_then(|&i| self.buffers.get(i))
    }
}

/// The largest sub-batch (at most `want`) whose every internal activation fits one storage
/// binding; an error naming the activation if not even one sample does.
pub(crate) fn sub_batch(ctx: &Context, graph: &Graph<'_>, want: usize) -> Result<usize> {
    let l = ctx.limits();
    let limit = l.max_storage_buffer_binding_size.min(l.max_buffer_size);
    let biggest = graph
        .tensors
        .iter()
        .filter(|t| t.home == Home::Internal)
        .max_by_key(|t| t.per_sample);
    let Some(big) = biggest else {
        return Ok(want.max(1));
    };
    let bytes = big.per_sample as u64 * 4;
    if bytes > limit {
        return Err(Error::BufferTooLarge {
            name: format!("{} (one sample)", big.name),
            bytes,
            limit,
        });
    }
    Ok(((limit / bytes.max(1)) as usize).min(want).max(1))
}

/// Buffers for `graph`'s internal tensors at `sub` samples and the stages of every sub-batch
/// of a `batch`-sample run. `pinned` tensors live from the first op to the last (inputs
/// uploaded before the run).
pub(crate) fn build(
    ctx: &Context,
    graph: &Graph<'_>,
    (batch, sub): (usize, usize),
    ext: &Externals<'_>,
    pinned: &[usize],
) -> Result<Plan> {
    let n = graph.tensors.len();
    let (mut first, mut last) = (vec![usize::MAX; n], vec![0; n]);
    for (i, op) in graph.ops.iter().enumerate() {
        let temb = graph.temb.filter(|_| op.uses_temb());
        for t in op.tensors().into_iter().chain(temb) {
            first[t] = first[t].min(i);
            last[t] = last[t].max(i);
        }
    }
    for &t in pinned {
        if let (Some(f), Some(l)) = (first.get_mut(t), last.get_mut(t)) {
            *f = 0;
            *l = graph.ops.len().saturating_sub(1);
        }
    }
    // (size in f32, free) per buffer; tensors take the smallest free one that fits.
    let mut pool: Vec<(u64, bool)> = Vec::new();
    let mut assigned = vec![usize::MAX; n];
    let mut names: Vec<String> = Vec::new();
    for i in 0..graph.ops.len() {
        for t in 0..n {
            let def = &graph.tensors[t];
            if first[t] != i || def.home != Home::Internal {
                continue;
            }
            let need = def.per_sample as u64 * sub as u64;
            let fit = pool
                .iter()
                .enumerate()
                .filter(|(_, &(size, free))| free && size >= need)
                .min_by_key(|(_, &(size, _))| size)
                .map(|(k, _)| k);
            let k = fit.unwrap_or_else(|| {
                pool.push((need, true));
                names.push(def.name.clone());
                pool.len() - 1
            });
            pool[k].1 = false;
            assigned[t] = k;
        }
        for t in 0..n {
            if last[t] == i && assigned[t] != usize::MAX {
                pool[assigned[t]].1 = true;
            }
        }
    }
    let buffers = pool
        .iter()
        .zip(&names)
        .map(|(&(size, _), name)| scratch(ctx, &format!("UNet activation ({name})"), size))
        .collect::<Result<Vec<_>>>()?;
    let mut plan = Plan {
        stages: Vec::new(),
        buffers,
        assigned,
        sub_batch: sub,
    };
    let mut start = 0;
    while start < batch {
        let count = sub.min(batch - start);
        let stages = graph
            .ops
            .iter()
            .map(|op| op_stage(ctx, graph, &plan, op, (start, count), ext))
            .collect::<Result<Vec<_>>>()?;
        plan.stages.push(stages);
        start += count;
    }
    Ok(plan)
}

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
fn op_stage(
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

/// Run a graph of one layer over `batch` samples: plan it (no loop buffers), upload each
/// `(tensor, data)` of `inputs`, run, and read `output` back. For tests and single layers.
pub(crate) fn run_layer(
    ctx: &Context,
    graph: &Graph<'_>,
    inputs: &[(usize, &[f32])],
    output: usize,
    batch: usize,
) -> Result<Vec<f32>> {
    let dummy = super::upload(ctx, "unused binding", &[0.0; 4])?;
    let ext = Externals {
        x_t: &dummy,
        model_output: &dummy,
        model_var: None,
        timesteps: &dummy,
        table: &dummy,
        num_timesteps: 1,
        dummy: &dummy,
    };
    let pinned: Vec<usize> = inputs.iter().map(|&(t, _)| t).collect();
    let plan = build(ctx, graph, (batch, batch), &ext, &pinned)?;
    let len = |t: usize| graph.tensors.get(t).map_or(0, |d| d.per_sample * batch);
    let missing = |t: usize| Error::Unsupported(format!("tensor {t} has no buffer"));
    for &(t, data) in inputs {
        if data.len() != len(t) {
            return Err(Error::ShapeMismatch(format!(
                "{}: {} values for {batch} samples of {}",
                graph.tensors.get(t).map_or("input", |d| d.name.as_str()),
                data.len(),
                len(t) / batch.max(1)
            )));
        }
        let b = plan.buffer_of(t).ok_or_else(|| missing(t))?;
        ctx.checked(|| ctx.queue.write_buffer(b, 0, bytemuck::cast_slice(data)))?;
    }
    for stages in &plan.stages {
        super::run_stages(ctx, stages)?;
    }
    let b = plan.buffer_of(output).ok_or_else(|| missing(output))?;
    let bytes = crate::gpu::tensor::read_buffer(ctx, b, len(output) as u64 * 4)?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}
