//! What [`DpmSolver`](super::DpmSolver) and [`UniPc`](super::UniPc) share as samplers: their
//! rows of the multistep kernel, one per visit of their order, placed as the loop reads them:
//! by training timestep, or, where a sigma schedule visits a timestep twice (Karras at 100 of
//! 1000 steps ends 1, 1, 0), by visit ([`Sampler::rows_by_visit`](super::Sampler::rows_by_visit)),
//! with the [`Sampler`](super::Sampler) impl each forwards to.

use super::{multistep, next_of, step_constants, CpuStep, Threshold, Visit};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{multistep_step, MultistepRow};
use crate::error::{Error, Result};
use crate::gpu::runtime::params::PipelineConstants;
use crate::options::ModelOptions;

/// A multistep sampler's model options, order and placed rows.
#[derive(Clone, Debug)]
pub(crate) struct PlacedRows {
    /// The chain of the timesteps it visits (each once).
    pub chain: Chain,
    pub model: ModelOptions,
    pub threshold: Option<Threshold>,
    /// The training timestep of each visit, in order.
    pub order: Vec<usize>,
    /// By training timestep (T rows, those not visited idle), or by visit where `by_visit`.
    pub rows: Vec<MultistepRow>,
    pub by_visit: bool,
}

impl PlacedRows {
    /// `rows`, one per visit of `order` (their `next_t` is set here), on `chain` where it
    /// holds exactly the visited timesteps, else on the chain of them over `chain`'s training
    /// table; refused where a row's coefficients are not finite.
    pub(crate) fn new(
        name: &str,
        chain: Chain,
        (model, threshold): (ModelOptions, Option<Threshold>),
        order: Vec<usize>,
        rows: Vec<MultistepRow>,
    ) -> Result<Self> {
        let (rows, steps) = multistep::checked_visits(name, &order, rows)?;
        let by_visit = steps.len() != order.len();
        let chain = match chain.steps == steps {
            true => chain,
            false => Chain::respaced(&chain.train, &steps)?,
        };
        let rows = match by_visit {
            true => (rows.into_iter().enumerate())
                .map(|(k, row)| MultistepRow {
                    next_t: *order.get(k + 1).unwrap_or(&order[k]),
                    ..row
                })
                .collect(),
            false => {
                let big_t = chain.num_train_timesteps();
                let next = next_of(&order, big_t);
                let mut by_t = vec![MultistepRow::IDLE; big_t];
                for (&t, row) in order.iter().zip(rows) {
                    by_t[t] = MultistepRow {
                        next_t: next[t] as usize,
                        ..row
                    };
                }
                by_t
            }
        };
        Ok(PlacedRows {
            chain,
            model,
            threshold,
            order,
            rows,
            by_visit,
        })
    }

    /// The row of the (first) visit at training timestep t.
    pub(crate) fn row(&self, t: usize) -> Option<&MultistepRow> {
        match self.by_visit {
            true => self.rows.get(self.order.iter().position(|&v| v == t)?),
            false => self.rows.get(t).filter(|_| self.order.contains(&t)),
        }
    }

    /// The twin's step at `at`: its row by visit index or by timestep.
    pub(crate) fn cpu_step(&self, at: Visit, step: CpuStep<'_>) -> Result<Vec<f64>> {
        if !self.by_visit {
            return multistep::cpu_step(&self.rows, &self.model, at.t, step);
        }
        let row = (self.rows.get(at.index))
            .filter(|_| self.order.get(at.index) == Some(&at.t))
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "no visit {} at timestep {}: a sampler whose order repeats a timestep \
                     steps along its own order",
                    at.index, at.t
                ))
            })?;
        let noise = step.noise.filter(|_| row.update[5] != 0.0);
        multistep_step(row, &self.model, CpuStep { noise, ..step })
    }

    /// The step kernels' pipeline constants.
    pub(crate) fn constants(&self) -> PipelineConstants {
        step_constants(&self.model, self.threshold, false)
    }
}

/// `impl Sampler` for a struct whose field `placed` is a [`PlacedRows`] and that has the
/// inherent methods `sampler_name(&self) -> &'static str` and `noise_at(&self, t) -> bool`.
macro_rules! placed_sampler {
    ($ty:ty) => {
        impl $crate::sampler::Sampler for $ty {
            fn name(&self) -> &'static str {
                self.sampler_name()
            }
            fn chain(&self) -> &$crate::chain::Chain {
                &self.placed.chain
            }
            fn model(&self) -> &$crate::options::ModelOptions {
                &self.placed.model
            }
            fn threshold(&self) -> Option<$crate::sampler::Threshold> {
                self.placed.threshold
            }
            fn order(&self) -> Vec<usize> {
                self.placed.order.clone()
            }
            fn draws_noise(&self, t: usize) -> bool {
                self.noise_at(t)
            }
            fn gpu_rows(&self) -> Vec<u8> {
                $crate::sampler::multistep::gpu_rows(&self.placed.rows)
            }
            fn rows_by_visit(&self) -> bool {
                self.placed.by_visit
            }
            fn gpu_kernels(
                &self,
            ) -> (
                $crate::gpu::runtime::shaders::Kernel,
                $crate::gpu::runtime::shaders::Kernel,
            ) {
                $crate::sampler::multistep::KERNELS
            }
            fn gpu_constants(&self) -> $crate::gpu::runtime::params::PipelineConstants {
                self.placed.constants()
            }
            fn state_slots(&self) -> usize {
                $crate::cpu::kernels::multistep_step::MultistepRow::state_slots(&self.placed.rows)
            }
            fn cpu_step(
                &self,
                at: $crate::sampler::Visit,
                step: $crate::sampler::CpuStep<'_>,
            ) -> $crate::error::Result<Vec<f64>> {
                self.placed.cpu_step(at, step)
            }
        }
    };
}
pub(crate) use placed_sampler;
