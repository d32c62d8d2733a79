//! What the samplers that call the model twice at one timestep ([`Heun`](super::Heun),
//! [`Pndm`](super::Pndm)) share: rows of the multistep kernel one per visit of their order
//! ([`Sampler::rows_by_visit`](super::Sampler::rows_by_visit)), the twin stepping by visit,
//! and the [`Sampler`](super::Sampler) impl each forwards to.

use super::{multistep, step_constants, CpuStep, Threshold, Visit};
use crate::chain::Chain;
use crate::cpu::kernels::multistep_step::{multistep_step, MultistepRow};
use crate::error::{Error, Result};
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;
use crate::options::ModelOptions;

/// A sampler as its visits: the timestep of each and its f64 row.
#[derive(Clone, Debug)]
pub(crate) struct VisitRows {
    pub name: &'static str,
    pub chain: Chain,
    pub model: ModelOptions,
    /// The training timestep of each visit, in order.
    pub order: Vec<usize>,
    /// The row of each visit.
    pub rows: Vec<MultistepRow>,
    /// x_T's scale ([`Sampler::init_scale`](super::Sampler::init_scale)).
    pub init_scale: f64,
    /// Its steps ([`Sampler::steps`](super::Sampler::steps)).
    pub steps: usize,
    /// The model's timesteps where they are not integers (`order` is then 0, 1, ..).
    pub times: Option<Vec<f64>>,
}

impl VisitRows {
    /// `rows` for `order` on the chain of the timesteps they visit, from `input`, the chain of
    /// the sampler's steps; refused where a row's coefficients are not finite.
    pub(crate) fn new(
        name: &'static str,
        input: &Chain,
        model: ModelOptions,
        (order, rows): (Vec<usize>, Vec<MultistepRow>),
        init_scale: f64,
    ) -> Result<Self> {
        let (rows, steps) = multistep::checked_visits(name, &order, rows)?;
        let chain = Chain::respaced(&input.train, &steps)?;
        Ok(VisitRows {
            name,
            chain,
            model,
            order,
            rows,
            init_scale,
            steps: input.len(),
            times: None,
        })
    }

    /// `rows` for visits at `times`, timesteps that need not be integers, on the training
    /// table `train`: the order is the visit indices and the model is called at the times.
    pub(crate) fn with_times(
        name: &'static str,
        (train, steps): (&crate::schedule::Tables, usize),
        model: ModelOptions,
        (times, rows): (Vec<f64>, Vec<MultistepRow>),
        init_scale: f64,
    ) -> Result<Self> {
        if times.len() != rows.len() || times.is_empty() {
            return Err(Error::ShapeMismatch(format!(
                "{name}: {} rows for {} visits",
                rows.len(),
                times.len()
            )));
        }
        let big_t = train.num_timesteps();
        if times.len() > big_t {
            return Err(Error::Unsupported(format!(
                "{name}: {} model evaluations at non-integer timesteps: at most T = {big_t}",
                times.len()
            )));
        }
        let order: Vec<usize> = (0..times.len()).collect();
        let rows = multistep::finite(name, &order, rows)?;
        Ok(VisitRows {
            name,
            chain: Chain::full(train),
            model,
            order,
            rows,
            init_scale,
            steps,
            times: Some(times),
        })
    }

    /// The twin's step at `at`.
    pub(crate) fn cpu_step(&self, at: Visit, step: CpuStep<'_>) -> Result<Vec<f64>> {
        let row = self
            .rows
            .get(at.index)
            .filter(|_| self.order.get(at.index) == Some(&at.t))
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "{} has no visit {} at timestep {}: it steps along its own order",
                    self.name, at.index, at.t
                ))
            })?;
        multistep_step(row, &self.model, step)
    }
}

/// `impl Sampler` for a struct whose field `rows` is a [`VisitRows`].
macro_rules! visit_sampler {
    ($ty:ty) => {
        impl $crate::sampler::Sampler for $ty {
            fn name(&self) -> &'static str {
                self.rows.name
            }
            fn chain(&self) -> &$crate::chain::Chain {
                &self.rows.chain
            }
            fn model(&self) -> &$crate::options::ModelOptions {
                &self.rows.model
            }
            fn threshold(&self) -> Option<$crate::sampler::Threshold> {
                None
            }
            fn order(&self) -> Vec<usize> {
                self.rows.order.clone()
            }
            fn steps(&self) -> usize {
                self.rows.steps
            }
            fn model_times(&self) -> Option<Vec<f64>> {
                self.rows.times.clone()
            }
            fn draws_noise(&self, _t: usize) -> bool {
                false
            }
            fn gpu_rows(&self) -> Vec<u8> {
                $crate::sampler::multistep::gpu_rows(&self.rows.rows)
            }
            fn rows_by_visit(&self) -> bool {
                true
            }
            fn gpu_kernels(
                &self,
            ) -> (
                $crate::gpu::runtime::shaders::Kernel,
                $crate::gpu::runtime::shaders::Kernel,
            ) {
                $crate::sampler::visit_rows::kernels()
            }
            fn gpu_constants(&self) -> $crate::gpu::runtime::params::PipelineConstants {
                $crate::sampler::visit_rows::constants(&self.rows.model)
            }
            fn init_scale(&self) -> f64 {
                self.rows.init_scale
            }
            fn state_slots(&self) -> usize {
                $crate::cpu::kernels::multistep_step::MultistepRow::state_slots(&self.rows.rows)
            }
            fn cpu_step(
                &self,
                at: $crate::sampler::Visit,
                step: $crate::sampler::CpuStep<'_>,
            ) -> $crate::error::Result<Vec<f64>> {
                self.rows.cpu_step(at, step)
            }
        }
    };
}
pub(crate) use visit_sampler;

/// The kernels (vec4, scalar).
pub(crate) fn kernels() -> (Kernel, Kernel) {
    multistep::KERNELS
}

/// The pipeline constants: no thresholding.
pub(crate) fn constants(model: &ModelOptions) -> PipelineConstants {
    step_constants(model, None::<Threshold>, false)
}

/// Check that `model` predicts one of `means` and does not ask for clipping unless `clips`,
/// naming `class` in the error.
pub(crate) fn check_model(
    class: &str,
    model: &ModelOptions,
    means: &[crate::options::MeanType],
    clips: bool,
) -> Result<()> {
    model.validate()?;
    if !means.contains(&model.mean_type) {
        return Err(Error::Unsupported(format!(
            "{class} reads {} model outputs, not {} (as diffusers' class)",
            means
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(" or "),
            model.mean_type
        )));
    }
    if model.clip_denoised && !clips {
        return Err(Error::Unsupported(format!(
            "{class} does not clip x_0 (diffusers' class has no clip_sample): set clipping off"
        )));
    }
    Ok(())
}
