//! Host side of shaders/nn/linear.wgsl (CPU twin: src/cpu/nn/linear.rs): a [`Linear`] uploaded
//! once, the stage that applies it to rows (optionally gathered from a table by timestep), and
//! the stacking of several linears that read the same rows into one (every resnet's time
//! projection in a single dispatch).

use super::graph::{LayerOp, Places};
use super::params::LinearParams;
use super::{grid_xz, u32_of, upload, upload_as, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::shaders::flags;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::Precision;
use crate::gpu::Context;
use crate::nn::Linear;

/// Invocations per workgroup of linear.wgsl.
const LINEAR_WG: usize = 64;

/// A linear layer on the device.
#[derive(Debug)]
pub struct GpuLinear {
    name: String,
    in_features: usize,
    out_features: usize,
    weight: wgpu::Buffer,
    bias: wgpu::Buffer,
    /// How its weights and the rows it reads and writes are stored.
    precision: Precision,
}

/// Where a linear's rows come from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rows<'a> {
    /// `rows` rows of in_features in this buffer.
    Buffer(&'a wgpu::Buffer),
    /// Row t[t_offset + r] of `table` ([T, in_features]) for each r.
    Gather {
        table: &'a wgpu::Buffer,
        timesteps: &'a wgpu::Buffer,
        t_offset: u32,
        num_timesteps: u32,
    },
}

/// A class table's rows added to a linear's outputs by label (`CLASS_ROW`): row
/// labels[offset + r] of `table` ([num_classes, out_features]) to output row r.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassRows<'a> {
    pub table: &'a wgpu::Buffer,
    pub labels: &'a wgpu::Buffer,
    pub offset: u32,
    pub num_classes: u32,
}

impl GpuLinear {
    /// Upload `lin` (`name` labels it).
    pub fn new(ctx: &Context, lin: &Linear, name: &str) -> Result<Self> {
        Self::stored_as(ctx, lin, name, Precision::F32)
    }

    /// [`GpuLinear::new`], its weights and the rows it reads and writes stored as `precision`
    /// (which the device must run).
    pub fn stored_as(
        ctx: &Context,
        lin: &Linear,
        name: &str,
        precision: Precision,
    ) -> Result<Self> {
        precision.check(ctx)?;
        let (i, o) = (lin.in_features, lin.out_features);
        if i == 0 || o == 0 || lin.weight.len() != i * o || lin.bias.len() != o {
            return Err(Error::ShapeMismatch(format!(
                "{name}: its weights do not match its declared sizes"
            )));
        }
        Ok(GpuLinear {
            name: name.to_string(),
            in_features: i,
            out_features: o,
            weight: upload_as(ctx, &format!("{name} weight"), &lin.weight, precision)?,
            bias: upload_as(ctx, &format!("{name} bias"), &lin.bias, precision)?,
            precision,
        })
    }

    /// The linears of `layers` (all of one input width) as one whose outputs are theirs side by
    /// side, and the column where each one's outputs start.
    pub fn stacked(
        ctx: &Context,
        layers: &[&Linear],
        name: &str,
        precision: Precision,
    ) -> Result<(Self, Vec<usize>)> {
        let width = layers.first().map_or(0, |l| l.in_features);
        let mut weight = Vec::new();
        let mut bias = Vec::new();
        let mut offsets = Vec::with_capacity(layers.len());
        for l in layers {
            if l.in_features != width || l.weight.len() != l.in_features * l.out_features {
                return Err(Error::ShapeMismatch(format!(
                    "{name}: the stacked linears do not share one input width"
                )));
            }
            offsets.push(bias.len());
            weight.extend_from_slice(&l.weight);
            bias.extend_from_slice(&l.bias);
        }
        let lin = Linear {
            in_features: width,
            out_features: bias.len(),
            weight,
            bias,
        };
        Ok((GpuLinear::stored_as(ctx, &lin, name, precision)?, offsets))
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Bytes of its weights on the device.
    pub fn device_bytes(&self) -> u64 {
        self.weight.size() + self.bias.size()
    }

    /// The stage applying this layer to `rows` rows from `input` into `output` ([rows,
    /// out_features]), plus a class row by label where `class` (not with gathered rows), then
    /// SiLU if `silu`.
    pub(crate) fn stage(
        &self,
        ctx: &Context,
        (rows, input): (usize, Rows<'_>),
        output: &wgpu::Buffer,
        class: Option<ClassRows<'_>>,
        silu: bool,
    ) -> Result<Stage> {
        let what = |s: &str| format!("{} {s}", self.name);
        let (src, timesteps, t_offset, num_timesteps, gather) = match (input, class) {
            (Rows::Buffer(b), None) => (b, b, 0, 0, false),
            (Rows::Buffer(b), Some(c)) => (b, c.labels, c.offset, c.num_classes, false),
            (
                Rows::Gather {
                    table,
                    timesteps,
                    t_offset,
                    num_timesteps,
                },
                None,
            ) => (table, timesteps, t_offset, num_timesteps, true),
            (Rows::Gather { .. }, Some(_)) => {
                return Err(Error::Unsupported(what("gathers its rows: no class rows")))
            }
        };
        let p = LinearParams {
            rows: u32_of(&what("rows"), rows)?,
            in_features: u32_of(&what("features"), self.in_features)?,
            out_features: u32_of(&what("features"), self.out_features)?,
            num_timesteps,
            t_offset,
            ..LinearParams::default()
        };
        let mut bits = self.precision.bits();
        if gather {
            bits |= flags::GATHER;
        }
        if silu {
            bits |= flags::SILU;
        }
        if class.is_some() {
            bits |= flags::CLASS_ROW;
        }
        let outputs = rows
            .checked_mul(self.out_features)
            .ok_or_else(|| Error::Unsupported(what("outputs")))?;
        let groups = u32_of(&what("workgroups"), outputs.div_ceil(LINEAR_WG))?;
        let grid = grid_xz(ctx, groups, 1)?;
        if grid.2 != 1 {
            return Err(Error::Unsupported(format!(
                "{}: {outputs} outputs exceed one row of workgroups",
                self.name
            )));
        }
        // Binding 6 is read only with CLASS_ROW; the bias stands in otherwise.
        let classes = class.map_or(&self.bias, |c| c.table);
        let buffers = [src, &self.weight, &self.bias, timesteps, output, classes];
        Stage::new(ctx, Kernel::Linear, bits, &p, &buffers, grid)
    }
}

/// The linear layer over the rows of tensor `input` (one per sample), or of the sinusoid
/// gathered by timestep when `input` is `None`, into tensor `output`, plus each sample's row
/// of the class table by its label where `class`, then SiLU if `silu`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinearOp<'m> {
    pub lin: &'m GpuLinear,
    pub input: Option<usize>,
    pub output: usize,
    pub class: bool,
    pub silu: bool,
}

impl LayerOp for LinearOp<'_> {
    fn tensors(&self) -> Vec<usize> {
        let mut t: Vec<usize> = self.input.iter().copied().collect();
        t.push(self.output);
        t
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let (first, count) = at.samples();
        let rows = match self.input {
            Some(t) => Rows::Buffer(at.place(t)?.0),
            None => {
                let (table, timesteps, num_timesteps) = at.timestep_table();
                Rows::Gather {
                    table,
                    timesteps,
                    t_offset: u32_of("timesteps", first)?,
                    num_timesteps: u32_of("timesteps", num_timesteps)?,
                }
            }
        };
        let out = at.place(self.output)?.0;
        let class = match (self.class, at.class_table()) {
            (false, _) => None,
            (true, Some((table, labels, num_classes))) => Some(ClassRows {
                table,
                labels,
                offset: u32_of("class labels", first)?,
                num_classes: u32_of("class labels", num_classes)?,
            }),
            (true, None) => {
                return Err(Error::MissingInput(
                    "class_labels (the model is class-conditional)".into(),
                ))
            }
        };
        self.lin.stage(ctx, (count, rows), out, class, self.silu)
    }
}

/// Run `lin` on the rows of `x` ([rows, in_features]), then SiLU if `silu`: uploads, runs,
/// reads back [rows, out_features].
pub fn forward(ctx: &Context, lin: &Linear, x: &[f32], silu: bool) -> Result<Vec<f32>> {
    forward_with_classes(ctx, lin, x, None, silu)
}

/// [`forward`] plus, where `classes` = (table [num_classes, out_features], one label per row),
/// each row's class row added before the SiLU (`CLASS_ROW`; labels clamped below
/// num_classes, as the time embedding reads them).
pub fn forward_with_classes(
    ctx: &Context,
    lin: &Linear,
    x: &[f32],
    classes: Option<(&[f32], &[u32])>,
    silu: bool,
) -> Result<Vec<f32>> {
    let g = GpuLinear::new(ctx, lin, "linear")?;
    if x.is_empty() || !x.len().is_multiple_of(lin.in_features) {
        return Err(Error::ShapeMismatch(format!(
            "linear takes rows of {}, got {} values",
            lin.in_features,
            x.len()
        )));
    }
    let rows = x.len() / lin.in_features;
    let input = upload(ctx, "linear input", x)?;
    let n = (rows * g.out_features) as u64;
    let out = super::scratch(ctx, "linear output", n)?;
    let class = match classes {
        None => None,
        Some((table, labels)) => {
            if labels.len() != rows
                || table.is_empty()
                || !table.len().is_multiple_of(g.out_features)
            {
                return Err(Error::ShapeMismatch(format!(
                    "{} labels and a class table of {} values for {rows} rows of {}",
                    labels.len(),
                    table.len(),
                    g.out_features
                )));
            }
            let labels: Vec<f32> = bytemuck::cast_slice(labels).to_vec();
            Some((
                upload(ctx, "class table", table)?,
                upload(ctx, "labels", &labels)?,
                table.len() / g.out_features,
            ))
        }
    };
    let class_rows = match &class {
        None => None,
        Some((table, labels, n)) => Some(ClassRows {
            table,
            labels,
            offset: 0,
            num_classes: u32_of("classes", *n)?,
        }),
    };
    let stage = g.stage(ctx, (rows, Rows::Buffer(&input)), &out, class_rows, silu)?;
    super::run_stages(ctx, &[stage])?;
    let bytes = crate::gpu::runtime::tensor::read_buffer(ctx, &out, n * 4)?;
    Ok(bytemuck::pod_collect_to_vec(&bytes))
}
