//! From a [`Graph`] to dispatches: the sub-batch size (every activation buffer within one
//! storage binding), a buffer for every internal activation (reused once the activation it held
//! is dead: the smallest free buffer that fits, else a new one), and the stages of every
//! sub-batch, uniforms and bind groups made here once.

use super::graph::{BufView, Graph, Home, Places, View};
use super::{scratch_as, u32_of, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::tiles::{Choices, ConvKernel, ConvKey};
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
    /// A class-conditional model's class table, the labels and the classes.
    pub class: Option<(&'a wgpu::Buffer, &'a wgpu::Buffer, usize)>,
    /// Bound where a kernel's option is off.
    pub dummy: &'a wgpu::Buffer,
    /// The tuner's conv kernels by shape (a conv not in it runs on its own kernel).
    pub choices: Option<&'a Choices>,
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
    let bytes = big.per_sample as u64 * graph.precision.bytes();
    if bytes > limit {
        return Err(Error::BufferTooLarge {
            what: format!("{} (one sample)", big.name),
            bytes: u128::from(bytes),
            limit_name: "max_storage_buffer_binding_size",
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
    // (size in values, free) per buffer; tensors take the smallest free one that fits.
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
        .map(|(&(size, _), name)| {
            let name = format!("UNet activation ({name})");
            scratch_as(ctx, &name, size, graph.precision)
        })
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
            .map(|op| {
                let at = Placement {
                    graph,
                    plan: &plan,
                    ext,
                    first: start,
                    count,
                };
                op.stage(ctx, &at)
            })
            .collect::<Result<Vec<_>>>()?;
        plan.stages.push(stages);
        start += count;
    }
    Ok(plan)
}

/// Where a sub-batch's tensors live: the plan's buffers, or the loop's for x_t, model_output
/// and model_var, shifted to the sub-batch's first sample.
struct Placement<'a> {
    graph: &'a Graph<'a>,
    plan: &'a Plan,
    ext: &'a Externals<'a>,
    first: usize,
    count: usize,
}

impl Places for Placement<'_> {
    fn samples(&self) -> (usize, usize) {
        (self.first, self.count)
    }

    fn sub_batch(&self) -> usize {
        self.plan.sub_batch
    }

    fn per_sample(&self, t: usize) -> usize {
        self.graph.tensors.get(t).map_or(0, |d| d.per_sample)
    }

    fn place(&self, t: usize) -> Result<(&wgpu::Buffer, usize)> {
        let def = self
            .graph
            .tensors
            .get(t)
            .ok_or_else(|| Error::Unsupported(format!("tensor {t} is not in the graph")))?;
        let missing = || Error::Unsupported(format!("{}: no buffer was planned", def.name));
        let shift = self.first * def.per_sample;
        match def.home {
            Home::Internal => Ok((self.plan.buffer_of(t).ok_or_else(missing)?, 0)),
            Home::XT => Ok((self.ext.x_t, shift)),
            Home::ModelOutput => Ok((self.ext.model_output, shift)),
            Home::ModelVar => Ok((self.ext.model_var.ok_or_else(missing)?, shift)),
        }
    }

    fn view(&self, v: View) -> Result<BufView<'_>> {
        let (buffer, shift) = self.place(v.tensor)?;
        let name = &self.graph.tensors[v.tensor].name;
        Ok(BufView {
            buffer,
            offset: u32_of(name, shift + v.offset)?,
            bstride: u32_of(name, self.per_sample(v.tensor))?,
        })
    }

    fn temb(&self, column: Option<usize>) -> Result<Option<(&wgpu::Buffer, u32, u32)>> {
        match (column, self.graph.temb) {
            (Some(col), Some(tensor)) => {
                let (buffer, _) = self.place(tensor)?;
                Ok(Some((
                    buffer,
                    u32_of("temb", col)?,
                    u32_of("temb", self.per_sample(tensor))?,
                )))
            }
            _ => Ok(None),
        }
    }

    fn timestep_table(&self) -> (&wgpu::Buffer, &wgpu::Buffer, usize) {
        (self.ext.table, self.ext.timesteps, self.ext.num_timesteps)
    }

    fn class_table(&self) -> Option<(&wgpu::Buffer, &wgpu::Buffer, usize)> {
        self.ext.class
    }

    fn dummy(&self) -> &wgpu::Buffer {
        self.ext.dummy
    }

    fn conv_kernel(&self, key: &ConvKey) -> Option<ConvKernel> {
        self.ext.choices.and_then(|c| c.get(key)).copied()
    }
}

/// Where the first `count` samples of `plan`'s first sub-batch live (at most its sub-batch):
/// the tuner times a conv there.
pub(crate) fn placement<'a>(
    graph: &'a Graph<'a>,
    plan: &'a Plan,
    ext: &'a Externals<'a>,
    count: usize,
) -> impl Places + 'a {
    Placement {
        graph,
        plan,
        ext,
        first: 0,
        count: count.clamp(1, plan.sub_batch.max(1)),
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
        class: None,
        dummy: &dummy,
        choices: None,
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
        let mut bytes = graph.precision.encode(data);
        // Whole 4-byte words: an odd count of f16 pads into the buffer's rounded-up size.
        bytes.resize(bytes.len().next_multiple_of(4), 0);
        ctx.checked(|| ctx.queue.write_buffer(b, 0, &bytes))?;
    }
    for stages in &plan.stages {
        super::run_stages(ctx, stages)?;
    }
    let b = plan.buffer_of(output).ok_or_else(|| missing(output))?;
    // Whole 4-byte words (an odd count of f16 reads one more, dropped).
    let size = (len(output) as u64 * graph.precision.bytes()).next_multiple_of(4);
    let bytes = crate::gpu::runtime::tensor::read_buffer(ctx, b, size)?;
    let mut values = graph.precision.decode(&bytes);
    values.truncate(len(output));
    Ok(values)
}
