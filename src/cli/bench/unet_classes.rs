//! The labels `ddpm bench --model` gives a class-conditional model's samples, and the null
//! class its guided rows use.

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::nn::ClassKind;

/// How a class-conditional model is benched: each sample's label and the null class.
pub(crate) struct Classes {
    /// The labels cycle over 0..cycle (`None`: an unconditional model, no labels).
    cycle: Option<usize>,
    /// The null class guided rows use.
    pub(crate) null: u32,
}

impl Classes {
    /// A table (or a `timestep` model with num_class_embeds) cycles over its rows before the
    /// last, the null class; a `timestep` model without it takes labels 0, 1, ... and cannot
    /// be guided (no null class); an `identity` model takes rows, not labels, and is refused.
    pub(crate) fn of(kind: Option<ClassKind>, guided: bool) -> Result<Self> {
        let refuse = |why: &str| Err(Error::Unsupported(why.to_string()));
        let (cycle, null) =
            match kind {
                None if guided => {
                    return refuse(
                        "--guidance-scale needs a class-conditional model (num_class_embeds); \
                     this one has no class embeddings",
                    )
                }
                None => (None, 0),
                Some(
                    ClassKind::Table { num_classes: k }
                    | ClassKind::Timestep {
                        num_class_embeds: Some(k),
                    },
                ) => (Some((k - 1).max(1)), (k - 1) as u32),
                Some(ClassKind::Timestep { .. }) if guided => {
                    return refuse(
                        "--guidance-scale on a class_embed_type timestep model without \
                     num_class_embeds: it has no null class to guide against",
                    )
                }
                Some(ClassKind::Timestep { .. }) => (Some(usize::MAX), 0),
                Some(ClassKind::Identity { .. }) => return refuse(
                    "ddpm bench on a class_embed_type identity model: it takes embedding rows, \
                     not labels (ddpm op unet runs it)",
                ),
            };
        Ok(Classes { cycle, null })
    }

    /// The label of each of `b` samples.
    pub(crate) fn labels(&self, b: usize) -> Option<Vec<u32>> {
        self.cycle.map(|c| (0..b).map(|i| (i % c) as u32).collect())
    }
}
