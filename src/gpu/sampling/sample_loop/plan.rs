//! A sampler made ready for the device once per run: its rows and the chain's tables uploaded,
//! its visiting order and where each visit's step kernel finds its row.

use crate::error::{Error, Result};
use crate::gpu::{Context, GpuTables, StepCoefs};
use crate::sampler::{check_order, next_of, Sampler};

/// A sampler made ready for the device once per run: its rows uploaded, the chain's tables by
/// training timestep uploaded for the denoiser, and the visiting order.
pub(crate) struct LoopPlan<'a> {
    pub sampler: &'a dyn Sampler,
    /// Training timesteps in visiting order (a timestep may repeat: `Sampler::rows_by_visit`).
    pub order: Vec<usize>,
    pub(crate) rows: wgpu::Buffer,
    /// Per visit, the range of `rows` its step kernel binds, (offset, size) in bytes; one range
    /// for all visits where the rows are by timestep.
    pub(crate) windows: Windows,
    /// What the denoiser reads: the chain's [`StepCoefs`] by training timestep.
    pub tables: GpuTables,
    /// The sampler's non-integer model times, one per visit (`Sampler::model_times`).
    pub times: Option<Vec<f64>>,
}

/// Each visit's (offset, size) in the rows buffer.
type Windows = Vec<(u64, u64)>;

/// Where each visit's row goes when the rows are by visit. The step kernels read
/// `rows[timesteps[b]]`, so visit k (at timestep t_k) binds a window of the rows buffer that
/// starts at an offset o_k (a multiple of the device's storage offset alignment) and holds its
/// row at o_k + t_k * stride: no kernel changes, nothing per step but the bind group. Rows are
/// placed greedily one after another; the buffer is about T + visits x (1 + alignment /
/// stride) rows. Returns (the buffer's bytes, each visit's window).
fn visit_windows(rows: &[u8], order: &[usize], align: u64) -> Result<(Vec<u8>, Windows)> {
    let stride = rows.len().checked_div(order.len()).unwrap_or(0);
    if stride == 0 || stride * order.len() != rows.len() || !stride.is_multiple_of(4) {
        return Err(Error::ShapeMismatch(format!(
            "{} bytes of rows for {} visits",
            rows.len(),
            order.len()
        )));
    }
    let (stride, align) = (stride as u64, align.max(4));
    let mut bytes: Vec<u8> = Vec::new();
    let mut windows = Vec::with_capacity(order.len());
    for (row, &t) in rows.chunks_exact(stride as usize).zip(order) {
        let before = t as u64 * stride;
        let end = bytes.len() as u64;
        let offset = end.saturating_sub(before).div_ceil(align) * align;
        let at = (offset + before) as usize;
        bytes.resize(at, 0);
        bytes.extend_from_slice(row);
        windows.push((offset, before + stride));
    }
    Ok((bytes, windows))
}

impl<'a> LoopPlan<'a> {
    pub(crate) fn new(ctx: &Context, sampler: &'a dyn Sampler) -> Result<Self> {
        let chain = sampler.chain();
        let big_t = chain.num_train_timesteps();
        let order = sampler.order();
        check_order(sampler, &order)?;
        let by_t = chain.by_timestep();
        let next = next_of(&order, big_t);
        let coefs: Vec<StepCoefs> = (0..big_t)
            .map(|t| StepCoefs {
                next_t: next[t],
                ..StepCoefs::from_tables(&by_t, t)
            })
            .collect();
        let tables = GpuTables::from_rows(ctx, &coefs, &by_t)?;
        let bytes = sampler.gpu_rows();
        let (bytes, windows) = if sampler.rows_by_visit() {
            let align = u64::from(ctx.limits().min_storage_buffer_offset_alignment);
            visit_windows(&bytes, &order, align)?
        } else {
            let all = (0, bytes.len() as u64);
            (bytes, vec![all])
        };
        let rows = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("sampler rows"),
            contents: &bytes,
            usage: wgpu::BufferUsages::STORAGE,
        })?;
        Ok(LoopPlan {
            sampler,
            order,
            rows,
            windows,
            tables,
            times: sampler.model_times(),
        })
    }

    /// The rows window of visit k.
    pub(crate) fn window(&self, k: usize) -> (u64, u64) {
        self.windows[k % self.windows.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::visit_windows;

    #[test]
    fn each_visit_finds_its_row_at_its_timestep() {
        // Heun's order at 4 steps of T = 1000: 999, 749, 749, 499, 499, 249, 249; 8-byte rows.
        let order = [999usize, 749, 749, 499, 499, 249, 249];
        let rows: Vec<u8> = (0..order.len() as u8).flat_map(|k| [k; 8]).collect();
        let (bytes, windows) = visit_windows(&rows, &order, 256).unwrap();
        for (k, (&t, &(offset, size))) in order.iter().zip(&windows).enumerate() {
            assert_eq!(offset % 256, 0);
            assert_eq!(size, (t as u64 + 1) * 8);
            let at = (offset + t as u64 * 8) as usize;
            assert_eq!(&bytes[at..at + 8], &[k as u8; 8], "visit {k}");
            assert!(offset + size <= bytes.len() as u64);
        }
        assert!(visit_windows(&rows[..9], &order, 256).is_err());
    }
}
