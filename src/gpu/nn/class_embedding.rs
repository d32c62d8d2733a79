//! The class embedding on the device (CPU twin: src/cpu/nn/class_embedding.rs). Each kind ends
//! as rows that linear.wgsl's `CLASS_ROW` adds in the time embedding's linear_2 dispatch, row
//! `index[first + r]` of a table for sample first + r (so sub-batches read their own):
//! - a table (`class_embed_type` null): the weights, indexed by the labels themselves;
//! - `timestep`: a [B, width] buffer of each sample's class embedding, indexed by the sample's
//!   own index; when the labels are set their sinusoid is computed in f64 on the host (the
//!   argument rounded in f32 as diffusers forms it, as for the time table), uploaded, and the
//!   class MLP (linear_1, SiLU, linear_2) runs on it as linear.wgsl dispatches into that buffer.
//!   The class embedding depends on the labels alone, so it is computed once per label set
//!   rather than at every step (diffusers recomputes the same values each call);
//! - `identity`: the caller's rows uploaded into the same kind of buffer.
//!
//! Rewriting the labels (or rows) of the same count rewrites these buffers in place, so a
//! prepared forward takes them without another `prepare`.

use super::linear::{GpuLinear, Rows};
use super::{run_stages, scratch_as, upload_as};
use crate::cpu::nn::time_embedding::sinusoid_at;
use crate::error::{Error, Result};
use crate::gpu::runtime::Precision;
use crate::gpu::Context;
use crate::nn::{ClassEmbedding, ClassKind, ClassLabels, Timesteps};

/// The timestep kind's sinusoid and MLP on the device.
#[derive(Debug)]
pub(crate) struct ClassMlp {
    proj: Timesteps,
    linear_1: GpuLinear,
    linear_2: GpuLinear,
    num_class_embeds: Option<usize>,
    precision: Precision,
}

/// A model's class embedding on the device.
#[derive(Debug)]
pub(crate) enum GpuClassEmbedding {
    /// The table [num_classes, width].
    Table {
        table: wgpu::Buffer,
        num_classes: usize,
        precision: Precision,
    },
    /// The model's sinusoid and the class MLP (boxed: the other kinds are a few words).
    Timestep(Box<ClassMlp>),
    /// Rows of `width` from the caller.
    Identity { width: usize, precision: Precision },
}

impl GpuClassEmbedding {
    /// Upload `class`'s weights, stored as `precision` says, as its rows will be.
    pub(crate) fn new(ctx: &Context, class: &ClassEmbedding, precision: Precision) -> Result<Self> {
        Ok(match class {
            ClassEmbedding::Table(t) => GpuClassEmbedding::Table {
                table: upload_as(ctx, "class_embedding", &t.table, precision)?,
                num_classes: t.num_classes,
                precision,
            },
            ClassEmbedding::Timestep {
                mlp,
                num_class_embeds,
            } => GpuClassEmbedding::Timestep(Box::new(ClassMlp {
                proj: mlp.time_proj.clone(),
                linear_1: GpuLinear::stored_as(
                    ctx,
                    &mlp.linear_1,
                    "class_embedding.linear_1",
                    precision,
                )?,
                linear_2: GpuLinear::stored_as(
                    ctx,
                    &mlp.linear_2,
                    "class_embedding.linear_2",
                    precision,
                )?,
                num_class_embeds: *num_class_embeds,
                precision,
            })),
            ClassEmbedding::Identity { width } => GpuClassEmbedding::Identity {
                width: *width,
                precision,
            },
        })
    }

    /// How its weights and class rows are stored.
    fn precision(&self) -> Precision {
        match self {
            GpuClassEmbedding::Table { precision, .. }
            | GpuClassEmbedding::Identity { precision, .. } => *precision,
            GpuClassEmbedding::Timestep(mlp) => mlp.precision,
        }
    }

    /// The kind and its sizes.
    pub(crate) fn kind(&self) -> ClassKind {
        match self {
            GpuClassEmbedding::Table { num_classes, .. } => ClassKind::Table {
                num_classes: *num_classes,
            },
            GpuClassEmbedding::Timestep(mlp) => ClassKind::Timestep {
                num_class_embeds: mlp.num_class_embeds,
            },
            GpuClassEmbedding::Identity { width, .. } => ClassKind::Identity { width: *width },
        }
    }

    /// Width of a class row (the time embedding's); `None` for a table (its rows are the
    /// weights).
    fn row_width(&self) -> Option<usize> {
        match self {
            GpuClassEmbedding::Table { .. } => None,
            GpuClassEmbedding::Timestep(mlp) => Some(mlp.linear_2.out_features()),
            GpuClassEmbedding::Identity { width, .. } => Some(*width),
        }
    }

    /// Bytes of its weights on the device.
    pub(crate) fn device_bytes(&self) -> u64 {
        match self {
            GpuClassEmbedding::Table { table, .. } => table.size(),
            GpuClassEmbedding::Timestep(mlp) => {
                mlp.linear_1.device_bytes() + mlp.linear_2.device_bytes()
            }
            GpuClassEmbedding::Identity { .. } => 0,
        }
    }
}

/// One forward's class inputs on the device, for `count` samples: the u32 index CLASS_ROW
/// reads by sample (the labels for a table; the sample's own index otherwise) and, for the
/// timestep and identity kinds, the [count, width] class rows it indexes.
#[derive(Debug)]
pub(crate) struct DeviceClasses {
    index: wgpu::Buffer,
    rows: Option<wgpu::Buffer>,
    count: usize,
}

/// The number of samples `labels` are for (rows of `width`: their count).
pub(crate) fn label_count(labels: ClassLabels<'_>) -> usize {
    match labels {
        ClassLabels::Ids(l) => l.len(),
        ClassLabels::Rows { rows, width } => rows.len().checked_div(width).unwrap_or(0),
    }
}

impl DeviceClasses {
    /// The inputs of `labels` (checked by the caller against the model's kind).
    pub(crate) fn new(
        ctx: &Context,
        class: &GpuClassEmbedding,
        labels: ClassLabels<'_>,
    ) -> Result<Self> {
        let count = label_count(labels);
        let index: Vec<u32> = match (class, labels) {
            (GpuClassEmbedding::Table { .. }, ClassLabels::Ids(l)) => l.to_vec(),
            _ => (0..super::u32_of("class rows", count)?).collect(),
        };
        let rows = class
            .row_width()
            .map(|w| {
                scratch_as(
                    ctx,
                    "class embedding rows",
                    (count * w) as u64,
                    class.precision(),
                )
            })
            .transpose()?;
        let d = DeviceClasses {
            index: upload_u32(ctx, "class labels (index by sample)", &index)?,
            rows,
            count,
        };
        d.write_rows(ctx, class, labels)?;
        Ok(d)
    }

    /// Rewrite them in place with `labels` of the same count.
    pub(crate) fn write(
        &self,
        ctx: &Context,
        class: &GpuClassEmbedding,
        labels: ClassLabels<'_>,
    ) -> Result<()> {
        if label_count(labels) != self.count {
            return Err(Error::ShapeMismatch(format!(
                "{} class labels rewrite inputs of {}",
                label_count(labels),
                self.count
            )));
        }
        if let (GpuClassEmbedding::Table { .. }, ClassLabels::Ids(l)) = (class, labels) {
            ctx.checked(|| {
                ctx.queue
                    .write_buffer(&self.index, 0, bytemuck::cast_slice(l))
            })?;
        }
        self.write_rows(ctx, class, labels)
    }

    /// The class rows of the timestep and identity kinds (a table has none).
    fn write_rows(
        &self,
        ctx: &Context,
        class: &GpuClassEmbedding,
        labels: ClassLabels<'_>,
    ) -> Result<()> {
        let Some(out) = self.rows.as_ref().filter(|_| self.count > 0) else {
            return Ok(());
        };
        match (class, labels) {
            (GpuClassEmbedding::Timestep(mlp), ClassLabels::Ids(l)) => {
                let ClassMlp {
                    proj,
                    linear_1,
                    linear_2,
                    ..
                } = mlp.as_ref();
                // diffusers casts the labels to float32 inside get_timestep_embedding.
                let at: Vec<f32> = l.iter().map(|&v| v as f32).collect();
                let sin: Vec<f32> = sinusoid_at(proj, &at)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect();
                let precision = class.precision();
                let sin = upload_as(ctx, "class labels' sinusoid", &sin, precision)?;
                let width = linear_1.out_features();
                let n = (self.count * width) as u64;
                let hidden = scratch_as(ctx, "class MLP hidden", n, precision)?;
                let n = self.count;
                let first = linear_1.stage(ctx, (n, Rows::Buffer(&sin)), &hidden, None, true)?;
                let second = linear_2.stage(ctx, (n, Rows::Buffer(&hidden)), out, None, false)?;
                run_stages(ctx, &[first, second])
            }
            (GpuClassEmbedding::Identity { precision, .. }, ClassLabels::Rows { rows, .. }) => {
                let bytes = precision.encode(rows);
                ctx.checked(|| ctx.queue.write_buffer(out, 0, &bytes))
            }
            _ => Err(Error::Unsupported(
                "class labels do not match the model".into(),
            )),
        }
    }

    /// Samples.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// CLASS_ROW's table, index and table rows for `class` (the model these were made for).
    pub(crate) fn class_rows<'a>(
        &'a self,
        class: &'a GpuClassEmbedding,
    ) -> Result<(&'a wgpu::Buffer, &'a wgpu::Buffer, usize)> {
        match (class, &self.rows) {
            (
                GpuClassEmbedding::Table {
                    table, num_classes, ..
                },
                None,
            ) => Ok((table, &self.index, *num_classes)),
            (GpuClassEmbedding::Timestep(_) | GpuClassEmbedding::Identity { .. }, Some(r)) => {
                Ok((r, &self.index, self.count))
            }
            _ => Err(Error::Unsupported(
                "class inputs made for a model of another class embedding kind".into(),
            )),
        }
    }

    /// Bytes on the device.
    pub(crate) fn device_bytes(&self) -> u64 {
        self.index.size() + self.rows.as_ref().map_or(0, wgpu::Buffer::size)
    }
}

/// A storage buffer holding `data` (u32, at least 16 bytes), rewritable by the queue.
pub(crate) fn upload_u32(ctx: &Context, label: &str, data: &[u32]) -> Result<wgpu::Buffer> {
    let mut bytes: Vec<u8> = bytemuck::cast_slice(data).to_vec();
    bytes.resize(bytes.len().max(16), 0);
    ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    })
}
