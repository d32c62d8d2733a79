//! The named operations of `ddpm op`: input validation shared by both backends
//! (`validate.rs`), then the CPU twin (`cpu.rs`) or the GPU kernel (`gpu.rs`). Everything a user
//! can get wrong becomes a typed [`Error`](crate::Error) before any work is done.

mod cpu;
mod gpu;
mod validate;

pub use gpu::GpuOp;

use crate::chain::Chain;
use crate::error::Result;
use crate::gpu::Context;
use crate::npy::NpyArray;
use crate::options::{named_enum, LossType, ModelOptions};
use crate::sampler::{DdimOptions, Threshold};
use crate::schedule::Tables;
use std::collections::BTreeMap;
use validate::{validate, Inputs};

named_enum! {
    /// An operation of `GaussianDiffusion2`, by its CLI name.
    pub enum Op ("op") {
        /// x_start, t -> mean, variance, log_variance.
        QMeanVariance = "q-mean-variance",
        /// x_start, t, noise -> x_t.
        QSample = "q-sample",
        /// x_start, x_t, t -> posterior_mean, posterior_variance, posterior_log_variance_clipped.
        QPosteriorMeanVariance = "q-posterior-mean-variance",
        /// x, t, model_output [, model_var] -> model_mean, model_variance, model_log_variance, pred_xstart.
        PMeanVariance = "p-mean-variance",
        /// x, t, model_output [, model_var], noise -> sample, pred_xstart.
        PSample = "p-sample",
        /// mean1, logvar1, mean2, logvar2 -> kl.
        NormalKl = "normal-kl",
        /// x, means, log_scales -> log_probs.
        DiscretizedGaussianLogLikelihood = "discretized-gaussian-log-likelihood",
        /// x_start, x_t, t, model_output [, model_var] -> output \[B\], pred_xstart.
        VbTermsBpd = "vb-terms-bpd",
        /// x_start, t, noise, model_output [, model_var] -> losses \[B\].
        TrainingLosses = "training-losses",
        /// x_start -> prior_bpd \[B\].
        PriorBpd = "prior-bpd",
        /// x, t, model_output [, noise] -> prev_sample, pred_xstart: one DDIM step.
        DdimStep = "ddim-step",
        /// x, t, model_output -> next_sample, pred_xstart: one inverse DDIM step (eta 0).
        DdimReverseStep = "ddim-reverse-step",
    }
}

/// The optional input of the ops that take a model's output.
pub const MODEL_VAR: &str = "model_var";

impl Op {
    /// Required inputs besides `t`, in order; the first one's shape is the reference shape.
    pub fn tensor_inputs(self) -> &'static [&'static str] {
        match self {
            Op::QMeanVariance | Op::PriorBpd => &["x_start"],
            Op::QSample => &["x_start", "noise"],
            Op::QPosteriorMeanVariance => &["x_start", "x_t"],
            Op::PMeanVariance => &["x", "model_output"],
            Op::PSample => &["x", "model_output", "noise"],
            Op::NormalKl => &["mean1", "logvar1", "mean2", "logvar2"],
            Op::DiscretizedGaussianLogLikelihood => &["x", "means", "log_scales"],
            Op::VbTermsBpd => &["x_start", "x_t", "model_output"],
            Op::TrainingLosses => &["x_start", "noise", "model_output"],
            Op::DdimStep | Op::DdimReverseStep => &["x", "model_output"],
        }
    }

    /// Whether the op takes per-sample timesteps `t`.
    pub fn takes_t(self) -> bool {
        !matches!(
            self,
            Op::NormalKl | Op::DiscretizedGaussianLogLikelihood | Op::PriorBpd
        )
    }

    /// Whether the op takes a model's output.
    pub fn takes_model(self) -> bool {
        self.takes_model_var() || matches!(self, Op::DdimStep | Op::DdimReverseStep)
    }

    /// Whether the op reads a variance (and so `model_var` for the learned variance types).
    pub fn takes_model_var(self) -> bool {
        matches!(
            self,
            Op::PMeanVariance | Op::PSample | Op::VbTermsBpd | Op::TrainingLosses
        )
    }

    /// Whether the op steps along a chain, so that `--respace` applies to it.
    pub fn takes_respace(self) -> bool {
        matches!(
            self,
            Op::PMeanVariance | Op::PSample | Op::DdimStep | Op::DdimReverseStep
        )
    }

    /// Whether the op can divide pred_xstart by a dynamic threshold (`--thresholding`).
    pub fn takes_threshold(self) -> bool {
        matches!(self, Op::PSample | Op::DdimStep)
    }

    /// Whether the op needs a batch dimension (per-sample t or per-sample outputs).
    fn batched(self) -> bool {
        self.takes_t() || self == Op::PriorBpd
    }

    /// Every input name the op accepts.
    pub fn input_names(self) -> Vec<&'static str> {
        let mut v = self.tensor_inputs().to_vec();
        if self.takes_t() {
            v.push("t");
        }
        if self.takes_model_var() {
            v.push(MODEL_VAR);
        }
        if self == Op::DdimStep {
            v.push("noise");
        }
        v
    }

    /// Output names, in the order [`run`] returns them.
    pub fn outputs(self) -> &'static [&'static str] {
        match self {
            Op::QMeanVariance => &["mean", "variance", "log_variance"],
            Op::QSample => &["x_t"],
            Op::QPosteriorMeanVariance => &[
                "posterior_mean",
                "posterior_variance",
                "posterior_log_variance_clipped",
            ],
            Op::PMeanVariance => &[
                "model_mean",
                "model_variance",
                "model_log_variance",
                "pred_xstart",
            ],
            Op::PSample => &["sample", "pred_xstart"],
            Op::NormalKl => &["kl"],
            Op::DiscretizedGaussianLogLikelihood => &["log_probs"],
            Op::VbTermsBpd => &["output", "pred_xstart"],
            Op::TrainingLosses => &["losses"],
            Op::PriorBpd => &["prior_bpd"],
            Op::DdimStep => &["prev_sample", "pred_xstart"],
            Op::DdimReverseStep => &["next_sample", "pred_xstart"],
        }
    }

    /// Whether output `name` holds one value per sample (\[B\]) rather than x's shape.
    pub fn is_per_sample(self, name: &str) -> bool {
        matches!(
            (self, name),
            (Op::VbTermsBpd, "output") | (Op::TrainingLosses, "losses") | (Op::PriorBpd, _)
        )
    }

    /// The CLI's default for clip_denoised: on where sampling, off for the likelihood terms
    /// (as the original's `calc_bpd_loop` and `training_losses` call them).
    pub fn default_clip_denoised(self) -> bool {
        matches!(
            self,
            Op::PMeanVariance | Op::PSample | Op::DdimStep | Op::DdimReverseStep
        )
    }
}

/// Schedule and model options for running an op.
#[derive(Clone, Debug)]
pub struct OpSettings {
    /// The f64 tables of the schedule.
    pub tables: Tables,
    /// Mean type, variance type, clip_denoised.
    pub model: ModelOptions,
    /// The loss of `training-losses`.
    pub loss: LossType,
    /// Respacing, DDIM and thresholding options of the stepping ops.
    pub step: StepSettings,
}

impl OpSettings {
    /// Settings with no respacing, DDIM's defaults and no thresholding.
    pub fn new(tables: Tables, model: ModelOptions, loss: LossType) -> Self {
        OpSettings {
            tables,
            model,
            loss,
            step: StepSettings::default(),
        }
    }

    /// The chain the stepping ops run on: the respaced one, or every step.
    pub fn chain(&self) -> Result<Chain> {
        match &self.step.respace {
            Some(kept) => Chain::respaced(&self.tables, kept),
            None => Ok(Chain::full(&self.tables)),
        }
    }
}

/// Options of the ops that step along a chain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepSettings {
    /// The kept training timesteps of a respaced chain (`--respace`); `None`: every step. Each
    /// t must then be kept, and a step goes to the previous kept one.
    pub respace: Option<Vec<usize>>,
    /// eta, set_alpha_to_one, use_clipped_model_output of `ddim-step`.
    pub ddim: DdimOptions,
    /// Dynamic thresholding of pred_xstart (`p-sample`, `ddim-step`).
    pub threshold: Option<Threshold>,
}

/// Which implementation runs an op.
#[derive(Clone, Copy, Debug)]
pub enum Backend<'a> {
    /// The f64 CPU reference.
    Cpu,
    /// The WGSL kernels on this context's device.
    Gpu(&'a Context),
}

/// One output of an op: name, shape and values (f64 so CPU results keep their precision).
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The output's name (the file stem the CLI writes).
    pub name: &'static str,
    /// x's shape, or \[B\] for per-sample values.
    pub shape: Vec<usize>,
    /// The values, C order.
    pub data: Vec<f64>,
}

/// Validate `inputs` for `op` and run it on `backend`. Outputs come in [`Op::outputs`] order.
pub fn run(
    op: Op,
    settings: &OpSettings,
    inputs: &BTreeMap<String, NpyArray>,
    backend: Backend<'_>,
) -> Result<Vec<Output>> {
    let v = validate(op, settings, inputs)?;
    let datas = match backend {
        Backend::Cpu => cpu::run(op, settings, &v)?,
        Backend::Gpu(ctx) => gpu::run(ctx, op, settings, &v)?,
    };
    Ok(op
        .outputs()
        .iter()
        .zip(datas)
        .map(|(&name, data)| Output {
            name,
            shape: if op.is_per_sample(name) {
                vec![v.batch()]
            } else {
                v.shape.clone()
            },
            data,
        })
        .collect())
}
