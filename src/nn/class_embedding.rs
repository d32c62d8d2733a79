//! diffusers' `UNet2DModel.class_embedding`, whichever of its three kinds the config builds
//! (`class_embed_type`): null with `num_class_embeds`, an `nn.Embedding` table; `timestep`, the
//! label through the model's own `time_proj` and a `TimestepEmbedding` of its own; `identity`,
//! a float row per sample given by the caller. Each adds its row to the sample's time embedding
//! before the blocks. Also the labels a forward takes ([`ClassLabels`]) and their checks.

use super::time_embedding::TimeEmbedding;
use super::weights::VarBuilder;
use crate::error::{Error, Result};

/// `class_embed_type` of the config, where it is not null.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassEmbedType {
    /// `"timestep"`: `TimestepEmbedding(timestep_input_dim, time_embed_dim)` of `time_proj(label)`.
    Timestep,
    /// `"identity"`: `nn.Identity`, the caller's float rows of the time-embedding width.
    Identity,
}

/// diffusers' `nn.Embedding(num_class_embeds, time_embed_dim)` (`class_embed_type` null): the
/// row of each sample's label (`class_embedding.weight`).
#[derive(Clone, Debug, PartialEq)]
pub struct ClassTable {
    /// Rows (`num_class_embeds`): labels run from 0 to this - 1.
    pub num_classes: usize,
    /// Width of a row (the time embedding's).
    pub width: usize,
    /// [num_classes, width], row-major.
    pub table: Vec<f32>,
}

impl ClassTable {
    /// Reads `weight` [num_classes, width] below `vb` (the model's `class_embedding`).
    pub fn new(vb: &VarBuilder, num_classes: usize, width: usize) -> Result<Self> {
        Ok(ClassTable {
            num_classes,
            width,
            table: vb.get(&[num_classes, width], "weight")?,
        })
    }
}

/// A class-conditional model's `class_embedding`.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassEmbedding {
    /// `class_embed_type` null with `num_class_embeds`: a table of rows.
    Table(ClassTable),
    /// `class_embed_type` "timestep": `linear_2(silu(linear_1(time_proj(label))))`, the
    /// sinusoid the model's own (its `flip_sin_to_cos` and `freq_shift`), the label cast to
    /// float32 inside it as diffusers' `get_timestep_embedding` casts it. Weights
    /// `class_embedding.linear_1.*`, `class_embedding.linear_2.*`.
    Timestep {
        /// The sinusoid and the class MLP.
        mlp: TimeEmbedding,
        /// `num_class_embeds` if the config gives one: diffusers' model ignores it for this
        /// kind (any integer is a label); here it names the default null class
        /// (num_class_embeds - 1) and nothing else.
        num_class_embeds: Option<usize>,
    },
    /// `class_embed_type` "identity": no weights; the caller's row of this width per sample.
    Identity {
        /// The time-embedding width.
        width: usize,
    },
}

impl ClassEmbedding {
    /// The kind and its sizes, without the weights.
    pub fn kind(&self) -> ClassKind {
        match self {
            ClassEmbedding::Table(t) => ClassKind::Table {
                num_classes: t.num_classes,
            },
            ClassEmbedding::Timestep {
                num_class_embeds, ..
            } => ClassKind::Timestep {
                num_class_embeds: *num_class_embeds,
            },
            ClassEmbedding::Identity { width } => ClassKind::Identity { width: *width },
        }
    }

    /// Weights.
    pub fn num_parameters(&self) -> usize {
        match self {
            ClassEmbedding::Table(t) => t.table.len(),
            ClassEmbedding::Timestep { mlp, .. } => mlp.num_parameters(),
            ClassEmbedding::Identity { .. } => 0,
        }
    }

    /// FLOPs per sample: the timestep kind's MLP (a table row or an identity row: none).
    pub fn flops(&self) -> u64 {
        match self {
            ClassEmbedding::Timestep { mlp, .. } => mlp.flops(),
            _ => 0,
        }
    }
}

/// What a class-conditional model takes as labels, and what bounds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassKind {
    /// A table: integer labels in [0, num_classes).
    Table {
        /// `num_class_embeds`.
        num_classes: usize,
    },
    /// The timestep kind: any integer label (no table).
    Timestep {
        /// `num_class_embeds`, if the config gives it (the default null class only).
        num_class_embeds: Option<usize>,
    },
    /// The identity kind: a float row of `width` per sample.
    Identity {
        /// The time-embedding width.
        width: usize,
    },
}

impl ClassKind {
    /// The null class guidance and unconditional samples use when none is given: the last row
    /// (num_class_embeds - 1, DiT's convention) where num_class_embeds exists; `None` for a
    /// timestep model without it and for identity models.
    pub fn default_null_class(&self) -> Option<u32> {
        let last = |n: usize| u32::try_from(n.checked_sub(1)?).ok();
        match *self {
            ClassKind::Table { num_classes } => last(num_classes),
            ClassKind::Timestep { num_class_embeds } => num_class_embeds.and_then(last),
            ClassKind::Identity { .. } => None,
        }
    }

    /// Ok when `null` can stand for "no class" in classifier-free guidance: a table's row, any
    /// label of the timestep kind. An identity model is refused: its inputs are float rows and
    /// diffusers defines no null row for them.
    pub fn check_null_class(&self, null: u32) -> Result<()> {
        match *self {
            ClassKind::Table { num_classes } if null as usize >= num_classes => {
                Err(Error::Unsupported(format!(
                    "null class {null} is outside [0, {num_classes}) (num_class_embeds)"
                )))
            }
            ClassKind::Identity { width } => Err(Error::Unsupported(format!(
                "classifier-free guidance of a class_embed_type identity model: its class \
                 inputs are float rows of width {width}, with no null class to guide from"
            ))),
            _ => Ok(()),
        }
    }

    /// The kind in words, for errors.
    fn describe(&self) -> String {
        match *self {
            ClassKind::Table { num_classes } => format!("num_class_embeds {num_classes}"),
            ClassKind::Timestep { .. } => "class_embed_type timestep".into(),
            ClassKind::Identity { width } => {
                format!("class_embed_type identity, float rows of width {width}")
            }
        }
    }
}

/// One forward's class inputs, one per sample: diffusers' `class_labels`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClassLabels<'a> {
    /// Integer labels (a table's rows, or the timestep kind's labels).
    Ids(&'a [u32]),
    /// The identity kind's rows: [B, width], row-major.
    Rows {
        /// The values.
        rows: &'a [f32],
        /// Values per row.
        width: usize,
    },
}

/// Check `labels` for a batch of n of a model whose class embedding is of `kind` (`None`: it
/// has none): a class-conditional model needs one label (or row) per sample, integers below
/// the table's rows for a table, finite rows of the time-embedding width for identity; a
/// model without class embeddings takes none (diffusers raises in both cases).
pub fn check_class_labels(
    kind: Option<ClassKind>,
    n: usize,
    labels: Option<ClassLabels<'_>>,
) -> Result<()> {
    let (kind, labels) = match (kind, labels) {
        (None, None) => return Ok(()),
        (None, Some(_)) => {
            return Err(Error::UnexpectedInput {
                op: "unet",
                name: "class_labels".into(),
                expected: "x, t (the model has no class embedding)".into(),
            })
        }
        (Some(k), None) => {
            return Err(Error::MissingInput(format!(
                "class_labels (the model is class-conditional: {})",
                k.describe()
            )))
        }
        (Some(k), Some(l)) => (k, l),
    };
    match (kind, labels) {
        (ClassKind::Identity { .. }, ClassLabels::Ids(_)) => Err(Error::WrongDtype {
            name: "class_labels".into(),
            found: "integer labels".into(),
            expected: "float32 rows [B, time-embedding width] (class_embed_type identity)",
        }),
        (ClassKind::Identity { width }, ClassLabels::Rows { rows, width: w }) => {
            if w != width || rows.len() != n * width {
                return Err(Error::ShapeMismatch(format!(
                    "class_labels of {} values in rows of {w} for a batch of {n}: \
                     class_embed_type identity takes [{n}, {width}] (the time-embedding width)",
                    rows.len()
                )));
            }
            match rows.iter().position(|v| !v.is_finite()) {
                Some(index) => Err(Error::NonFinite {
                    name: "class_labels".into(),
                    index,
                }),
                None => Ok(()),
            }
        }
        (_, ClassLabels::Rows { .. }) => Err(Error::WrongDtype {
            name: "class_labels".into(),
            found: "float rows".into(),
            expected: "integer labels [B] (float rows are class_embed_type identity's)",
        }),
        (kind, ClassLabels::Ids(labels)) => {
            if labels.len() != n {
                return Err(Error::ShapeMismatch(format!(
                    "{} class labels for a batch of {n}",
                    labels.len()
                )));
            }
            let ClassKind::Table { num_classes: k } = kind else {
                // The timestep kind has no table: every u32 is a label.
                return Ok(());
            };
            match labels.iter().find(|&&l| l as usize >= k) {
                Some(l) => Err(Error::ShapeMismatch(format!(
                    "class label {l} is outside [0, {k}) (num_class_embeds {k})"
                ))),
                None => Ok(()),
            }
        }
    }
}
