//! A class-conditional [`UNetDenoiser`]'s labels and classifier-free guidance: the labels of
//! the next `prepare` (and, rewritten in place, of the prepared run), the guidance scale and
//! null class, and what `prepare` plans from them.

use super::UNetDenoiser;
use crate::error::{Error, Result};
use crate::gpu::nn::class_embedding::{label_count, DeviceClasses, GpuClassEmbedding};
use crate::gpu::Context;
use crate::nn::{ClassKind, ClassLabels, Guidance};

/// How `prepare` runs a class-conditional model.
pub(super) enum Pass {
    /// As given: the labels set, or none for an unconditional model.
    Plain,
    /// Every sample with the null class (guidance scale 0).
    Null(u32),
    /// A guided forward of 2B samples.
    Guided(Guidance, u32),
}

impl UNetDenoiser {
    /// Guide a class-conditional model's sampling from the next `prepare` on (diffusers'
    /// classifier-free guidance): `Some(g)` with scale w runs the labelled samples and the
    /// same samples with the `null_class` as one forward of 2B and combines them (w = 1: the
    /// labelled pass alone; w = 0: the null class alone); `None`: the labels as given.
    /// Refused: a model without class embeddings, a null class outside its rows, an identity
    /// model (no null class: [`ClassKind::check_null_class`]), a scale or rescale
    /// [`Guidance::validate`] refuses. A timestep model takes any null label.
    pub fn set_guidance(&mut self, guidance: Option<Guidance>, null_class: u32) -> Result<()> {
        let Some(g) = guidance else {
            self.guidance = None;
            return Ok(());
        };
        g.validate()?;
        let Some(kind) = self.class_kind() else {
            return Err(Error::Unsupported(
                "guidance needs a class-conditional model (num_class_embeds)".into(),
            ));
        };
        kind.check_null_class(null_class)?;
        self.guidance = Some((g, null_class));
        Ok(())
    }

    /// How the next `prepare` runs the model.
    pub(super) fn pass(&self) -> Pass {
        match self.guidance {
            Some((g, null)) if g.scale == 0.0 => Pass::Null(null),
            Some((g, null)) if g.combines() => Pass::Guided(g, null),
            _ => Pass::Plain,
        }
    }

    /// The kind of a class-conditional model's class embedding (`None`: unconditional).
    pub fn class_kind(&self) -> Option<ClassKind> {
        self.layers
            .time_embedding
            .class()
            .map(GpuClassEmbedding::kind)
    }

    /// A class-conditional model's number of classes: a table's rows, or the timestep kind's
    /// `num_class_embeds` where the config gives it (see [`UNetDenoiser::class_kind`]).
    pub fn num_classes(&self) -> Option<usize> {
        match self.class_kind()? {
            ClassKind::Table { num_classes } => Some(num_classes),
            ClassKind::Timestep { num_class_embeds } => num_class_embeds,
            ClassKind::Identity { .. } => None,
        }
    }

    /// Set a class-conditional model's labels, one per sample, for the next `prepare` (which
    /// needs them: each `prepare` takes the labels set since the last one) and, when their
    /// count is the prepared batch's, for the prepared run too: the label buffers are
    /// rewritten in place, so recording again takes the new labels without another `prepare`.
    /// Checked as [`crate::nn::check_class_labels`] checks them.
    pub fn set_class_labels(&mut self, ctx: &Context, labels: &[u32]) -> Result<()> {
        self.set_classes(ctx, ClassLabels::Ids(labels))
    }

    /// [`UNetDenoiser::set_class_labels`] for labels of any kind: an identity model's rows
    /// \[B, width\] ([`ClassLabels::Rows`]) too.
    pub fn set_classes(&mut self, ctx: &Context, labels: ClassLabels<'_>) -> Result<()> {
        let n = label_count(labels);
        crate::nn::check_class_labels(self.class_kind(), n, Some(labels))?;
        let class = self.class()?;
        if let (Some(run), ClassLabels::Ids(ids)) = (self.guided.as_ref(), labels) {
            if run.batch() == n {
                run.write_labels(ctx, class, ids)?;
            }
        }
        match &self.class_inputs {
            Some(d) if d.count() == n => d.write(ctx, class, labels)?,
            _ => self.class_inputs = Some(DeviceClasses::new(ctx, class, labels)?),
        }
        self.labels_fresh = true;
        self.labels_host = match labels {
            ClassLabels::Ids(ids) => ids.to_vec(),
            ClassLabels::Rows { .. } => Vec::new(),
        };
        Ok(())
    }

    /// The model's class embedding; an error for an unconditional model.
    pub(super) fn class(&self) -> Result<&GpuClassEmbedding> {
        self.layers.time_embedding.class().ok_or_else(|| {
            Error::Unsupported("class labels for a model without class embedding".into())
        })
    }

    /// CLASS_ROW's table, index and rows for a batch of b with `inputs`, checked.
    pub(super) fn class_of<'a>(
        &'a self,
        inputs: Option<&'a DeviceClasses>,
        b: usize,
    ) -> Result<Option<(&'a wgpu::Buffer, &'a wgpu::Buffer, usize)>> {
        match (self.layers.time_embedding.class(), inputs) {
            (Some(class), Some(d)) if d.count() == b => Ok(Some(d.class_rows(class)?)),
            (None, None) => Ok(None),
            (class, d) => {
                // The check names what is wrong (missing, unexpected or of another count).
                let given = d.map(|d| vec![0; d.count()]);
                let kind = class.map(GpuClassEmbedding::kind);
                let ids = given.as_deref().map(ClassLabels::Ids);
                match kind {
                    Some(ClassKind::Identity { .. }) if ids.is_some() => {}
                    _ => crate::nn::check_class_labels(kind, b, ids)?,
                }
                Err(Error::ShapeMismatch(format!(
                    "class inputs for {} samples in a batch of {b}",
                    d.map_or(0, DeviceClasses::count)
                )))
            }
        }
    }
}
