//! CPU twin of the class embedding (src/nn/class_embedding.rs; on the device
//! src/gpu/nn/class_embedding.rs), the reference for tests: each sample's class row, added to
//! its time embedding in f64, as diffusers' `emb = emb + class_embedding(class_labels)`.

use super::time_embedding;
use crate::error::{Error, Result};
use crate::nn::{check_class_labels, ClassEmbedding, ClassLabels};

/// The class rows [n, width] of `labels` for a batch of n, checked
/// ([`crate::nn::check_class_labels`]): a table's rows by label; the timestep kind's MLP of
/// the model's sinusoid at each label cast to float32 (diffusers casts `class_labels` with
/// `.float()` inside `get_timestep_embedding`); the identity kind's rows as given.
pub fn rows(class: &ClassEmbedding, n: usize, labels: ClassLabels<'_>) -> Result<Vec<f64>> {
    check_class_labels(Some(class.kind()), n, Some(labels))?;
    match (class, labels) {
        (ClassEmbedding::Table(t), ClassLabels::Ids(labels)) => {
            let mut out = Vec::with_capacity(n * t.width);
            for &l in labels {
                let at = l as usize * t.width;
                let row = t.table.get(at..at + t.width).ok_or_else(|| {
                    Error::ShapeMismatch(format!("class label {l}: the table has no such row"))
                })?;
                out.extend(row.iter().map(|&v| f64::from(v)));
            }
            Ok(out)
        }
        (ClassEmbedding::Timestep { mlp, .. }, ClassLabels::Ids(labels)) => {
            let at: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
            time_embedding::forward(mlp, &at)
        }
        (ClassEmbedding::Identity { .. }, ClassLabels::Rows { rows, .. }) => {
            Ok(rows.iter().map(|&v| f64::from(v)).collect())
        }
        // check_class_labels refused every other pairing.
        _ => Err(Error::Unsupported(
            "class labels do not match the model".into(),
        )),
    }
}

/// temb [n, width] += each sample's class row ([`rows`]).
pub fn add(
    class: &ClassEmbedding,
    temb: &mut [f64],
    n: usize,
    labels: ClassLabels<'_>,
) -> Result<()> {
    let rows = rows(class, n, labels)?;
    if rows.len() != temb.len() {
        return Err(Error::ShapeMismatch(format!(
            "{} class embedding values for a time embedding of {}",
            rows.len(),
            temb.len()
        )));
    }
    temb.iter_mut().zip(rows).for_each(|(v, c)| *v += c);
    Ok(())
}
