//! A class-conditional [`UNetDenoiser`]'s labels and classifier-free guidance: the labels of
//! the next `prepare` (and, rewritten in place, of the prepared run), the guidance scale and
//! null class, and what `prepare` plans from them.

use super::UNetDenoiser;
use crate::error::{Error, Result};
use crate::gpu::Context;
use crate::nn::Guidance;

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
    /// Refused: a model without class embeddings, a null class outside its rows, a scale or
    /// rescale [`Guidance::validate`] refuses.
    pub fn set_guidance(&mut self, guidance: Option<Guidance>, null_class: u32) -> Result<()> {
        let Some(g) = guidance else {
            self.guidance = None;
            return Ok(());
        };
        g.validate()?;
        let Some(n) = self.num_classes() else {
            return Err(Error::Unsupported(
                "guidance needs a class-conditional model (num_class_embeds)".into(),
            ));
        };
        if null_class as usize >= n {
            return Err(Error::Unsupported(format!(
                "null class {null_class} is outside [0, {n}) (num_class_embeds)"
            )));
        }
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

    /// The number of classes of a class-conditional model (`num_class_embeds`).
    pub fn num_classes(&self) -> Option<usize> {
        self.layers.time_embedding.class_table().map(|(_, n)| n)
    }

    /// Set a class-conditional model's labels, one per sample, for the next `prepare` (which
    /// needs them: each `prepare` takes the labels set since the last one) and, when their
    /// count is the prepared batch's, for the prepared run too: the label buffer is rewritten
    /// in place, so recording again takes the new labels without another `prepare`. Checked as
    /// [`crate::nn::check_class_labels`] checks them.
    pub fn set_class_labels(&mut self, ctx: &Context, labels: &[u32]) -> Result<()> {
        crate::nn::check_class_labels(self.num_classes(), labels.len(), Some(labels))?;
        self.labels_fresh = true;
        self.labels_host = labels.to_vec();
        if let Some(run) = self.guided.as_ref().filter(|r| r.batch() == labels.len()) {
            run.write_labels(ctx, labels)?;
        }
        match &self.class_labels {
            Some((buffer, n)) if *n == labels.len() => ctx.checked(|| {
                ctx.queue
                    .write_buffer(buffer, 0, bytemuck::cast_slice(labels))
            }),
            _ => {
                let buffer = upload_u32(ctx, "UNet class labels", labels)?;
                self.class_labels = Some((buffer, labels.len()));
                Ok(())
            }
        }
    }

    /// The class table, `labels` and the classes for a batch of b, checked.
    pub(super) fn class_of<'a>(
        &'a self,
        labels: Option<&'a wgpu::Buffer>,
        b: usize,
    ) -> Result<Option<(&'a wgpu::Buffer, &'a wgpu::Buffer, usize)>> {
        match (self.layers.time_embedding.class_table(), labels) {
            (Some((table, n)), Some(labels)) => Ok(Some((table, labels, n))),
            (None, None) => Ok(None),
            (classes, _) => {
                // The count is the batch's where labels exist: the check names what is wrong.
                let given = labels.map(|_| vec![0; b]);
                crate::nn::check_class_labels(classes.map(|(_, n)| n), b, given.as_deref())?;
                Err(Error::Unsupported(
                    "class labels do not match the model".into(),
                ))
            }
        }
    }
}

/// A storage buffer holding `data` (u32, at least 16 bytes), rewritable by the queue.
pub(super) fn upload_u32(ctx: &Context, label: &str, data: &[u32]) -> Result<wgpu::Buffer> {
    let mut bytes: Vec<u8> = bytemuck::cast_slice(data).to_vec();
    bytes.resize(bytes.len().max(16), 0);
    ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    })
}
