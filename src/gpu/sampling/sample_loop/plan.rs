//! A sampler made ready for the device once per run: its rows and the chain's tables uploaded,
//! its visiting order and each step's position in it.

use crate::error::Result;
use crate::gpu::{Context, GpuTables, StepCoefs};
use crate::sampler::{next_of, Sampler};

/// A sampler made ready for the device once per run: its rows uploaded, the chain's tables by
/// training timestep uploaded for the denoiser, and the visiting order.
pub(crate) struct LoopPlan<'a> {
    pub sampler: &'a dyn Sampler,
    /// Training timesteps in visiting order.
    pub order: Vec<usize>,
    /// Each training timestep's position in `order` (`usize::MAX` where not visited).
    position: Vec<usize>,
    pub(crate) rows: wgpu::Buffer,
    /// What the denoiser reads: the chain's [`StepCoefs`] by training timestep.
    pub tables: GpuTables,
}

impl<'a> LoopPlan<'a> {
    pub(crate) fn new(ctx: &Context, sampler: &'a dyn Sampler) -> Result<Self> {
        let chain = sampler.chain();
        let big_t = chain.num_train_timesteps();
        let order = sampler.order();
        let mut position = vec![usize::MAX; big_t];
        for (p, &t) in order.iter().enumerate() {
            if let Some(slot) = position.get_mut(t) {
                *slot = p;
            }
        }
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
        let rows = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("sampler rows"),
            contents: &bytes,
            usage: wgpu::BufferUsages::STORAGE,
        })?;
        Ok(LoopPlan {
            sampler,
            order,
            position,
            rows,
            tables,
        })
    }

    pub(crate) fn position(&self, t: usize) -> usize {
        self.position.get(t).copied().unwrap_or(0)
    }
}
