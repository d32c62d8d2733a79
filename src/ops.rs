//! The named operations of `ddpm op`: input validation shared by both backends, then the CPU
//! twin or the GPU kernel. Everything a user can get wrong becomes a typed [`Error`] before any
//! work is done.

use crate::cpu::{self, ModelOut};
use crate::error::{Error, Result};
use crate::gpu::{self, Context, GpuModelOut, GpuSteps, GpuTables, GpuTensor};
use crate::npy::{NpyArray, NpyData};
use crate::options::{named_enum, LossType, ModelOptions};
use crate::schedule::Tables;
use std::collections::BTreeMap;

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
        /// x_start, x_t, t, model_output [, model_var] -> output [B], pred_xstart.
        VbTermsBpd = "vb-terms-bpd",
        /// x_start, t, noise, model_output [, model_var] -> losses [B].
        TrainingLosses = "training-losses",
        /// x_start -> prior_bpd [B].
        PriorBpd = "prior-bpd",
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
        }
    }

    /// Whether the op takes per-sample timesteps `t`.
    pub fn takes_t(self) -> bool {
        !matches!(
            self,
            Op::NormalKl | Op::DiscretizedGaussianLogLikelihood | Op::PriorBpd
        )
    }

    /// Whether the op takes a model's output (and so `model_var` for learned variances).
    pub fn takes_model(self) -> bool {
        matches!(
            self,
            Op::PMeanVariance | Op::PSample | Op::VbTermsBpd | Op::TrainingLosses
        )
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
        if self.takes_model() {
            v.push(MODEL_VAR);
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
        }
    }

    /// Whether output `name` holds one value per sample ([B]) rather than x's shape.
    pub fn is_per_sample(self, name: &str) -> bool {
        matches!(
            (self, name),
            (Op::VbTermsBpd, "output") | (Op::TrainingLosses, "losses") | (Op::PriorBpd, _)
        )
    }

    /// The CLI's default for clip_denoised: on where sampling, off for the likelihood terms
    /// (as the original's `calc_bpd_loop` and `training_losses` call them).
    pub fn default_clip_denoised(self) -> bool {
        matches!(self, Op::PMeanVariance | Op::PSample)
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
    /// x's shape, or [B] for per-sample values.
    pub shape: Vec<usize>,
    /// The values, C order.
    pub data: Vec<f64>,
}

/// Validated inputs: f32 tensors by name, t as u32, the reference shape.
struct Inputs {
    tensors: BTreeMap<&'static str, Vec<f32>>,
    t: Vec<u32>,
    shape: Vec<usize>,
}

impl Inputs {
    fn get(&self, name: &str) -> &[f32] {
        self.tensors.get(name).map_or(&[], Vec::as_slice)
    }
    fn opt(&self, name: &str) -> Option<&[f32]> {
        self.tensors.get(name).map(Vec::as_slice)
    }
    fn batch(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }
    fn sample_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }
}

fn validate(op: Op, s: &OpSettings, given: &BTreeMap<String, NpyArray>) -> Result<Inputs> {
    let accepted = op.input_names();
    if let Some(name) = given.keys().find(|k| !accepted.contains(&k.as_str())) {
        return Err(Error::UnexpectedInput {
            op: op.name(),
            name: name.clone(),
            expected: accepted.join(", "),
        });
    }
    s.model.validate()?;
    if op == Op::TrainingLosses {
        cpu::training_losses::check_loss(&s.model, s.loss)?;
    }
    let learned = op.takes_model() && s.model.var_type.is_learned();
    if given.contains_key(MODEL_VAR) && !learned {
        return Err(Error::Unsupported(format!(
            "model_var is only used by the learned variance types, not {}",
            s.model.var_type
        )));
    }
    let mut names: Vec<&'static str> = op.tensor_inputs().to_vec();
    if learned {
        names.push(MODEL_VAR);
    }
    let mut tensors = BTreeMap::new();
    let mut shape: Option<Vec<usize>> = None;
    for name in names {
        let arr = given
            .get(name)
            .ok_or_else(|| Error::MissingInput(name.to_string()))?;
        let NpyData::F32(data) = &arr.data else {
            return Err(Error::WrongDtype {
                name: name.into(),
                found: arr.data.dtype().into(),
                expected: "float32",
            });
        };
        if let Some(index) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                name: name.into(),
                index,
            });
        }
        if data.is_empty() {
            return Err(Error::ShapeMismatch(format!(
                "'{name}' of shape {:?} is empty",
                arr.shape
            )));
        }
        match &shape {
            None => shape = Some(arr.shape.clone()),
            Some(s0) if *s0 != arr.shape => {
                return Err(Error::ShapeMismatch(format!(
                    "'{name}' has shape {:?} but '{}' has {:?}",
                    arr.shape,
                    op.tensor_inputs()[0],
                    s0
                )))
            }
            Some(_) => {}
        }
        tensors.insert(name, data.clone());
    }
    let shape = shape.unwrap_or_default();
    if op.batched() && shape.is_empty() {
        return Err(Error::ShapeMismatch(format!(
            "'{}' needs a batch dimension: shape [B, ...]",
            op.tensor_inputs()[0]
        )));
    }
    let t = if op.takes_t() {
        let arr = given
            .get("t")
            .ok_or_else(|| Error::MissingInput("t".into()))?;
        let values: Vec<i64> = match &arr.data {
            NpyData::I32(v) => v.iter().map(|&x| x as i64).collect(),
            NpyData::I64(v) => v.clone(),
            other => {
                return Err(Error::WrongDtype {
                    name: "t".into(),
                    found: other.dtype().into(),
                    expected: "int32 or int64",
                })
            }
        };
        if arr.shape.len() != 1 || arr.shape[0] != shape[0] {
            return Err(Error::ShapeMismatch(format!(
                "t has shape {:?} but the batch has {} samples: t must be [{}]",
                arr.shape, shape[0], shape[0]
            )));
        }
        let big_t = s.tables.num_timesteps();
        let values = values
            .iter()
            .enumerate()
            .map(|(index, &value)| {
                if value < 0 || value as u64 >= big_t as u64 {
                    Err(Error::TimestepOutOfRange {
                        index,
                        value,
                        num_timesteps: big_t,
                    })
                } else {
                    Ok(value as u32)
                }
            })
            .collect::<Result<Vec<u32>>>()?;
        // x_0 from eps divides by sqrt(abar_t), which is 0 at the end of a zero-terminal-SNR
        // schedule; the mse loss of eps needs no x_0.
        if op.takes_model() && !(op == Op::TrainingLosses && s.loss == LossType::Mse) {
            for &t in &values {
                s.tables.check_eps_defined(s.model.mean_type, t as usize)?;
            }
        }
        values
    } else {
        Vec::new()
    };
    Ok(Inputs { tensors, t, shape })
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
        Backend::Cpu => run_cpu(op, settings, &v)?,
        Backend::Gpu(ctx) => run_gpu(ctx, op, settings, &v)?,
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

fn run_cpu(op: Op, s: &OpSettings, v: &Inputs) -> Result<Vec<Vec<f64>>> {
    let (tb, m, t, d) = (&s.tables, &s.model, v.t.as_slice(), v.sample_len());
    let model = ModelOut {
        output: v.get("model_output"),
        var: v.opt(MODEL_VAR),
    };
    Ok(match op {
        Op::QMeanVariance => {
            let r = cpu::q_mean_variance(tb, t, d, v.get("x_start"))?;
            vec![r.mean, r.variance, r.log_variance]
        }
        Op::QSample => vec![cpu::q_sample(tb, t, d, v.get("x_start"), v.get("noise"))?],
        Op::QPosteriorMeanVariance => {
            let r = cpu::q_posterior_mean_variance(tb, t, d, v.get("x_start"), v.get("x_t"))?;
            vec![
                r.posterior_mean,
                r.posterior_variance,
                r.posterior_log_variance_clipped,
            ]
        }
        Op::PMeanVariance => {
            let r = cpu::p_mean_variance(tb, m, t, d, v.get("x"), model)?;
            vec![
                r.model_mean,
                r.model_variance,
                r.model_log_variance,
                r.pred_xstart,
            ]
        }
        Op::PSample => {
            let r = cpu::p_sample(tb, m, t, d, v.get("x"), model, v.get("noise"))?;
            vec![r.sample, r.pred_xstart]
        }
        Op::NormalKl => vec![cpu::normal_kl(
            v.get("mean1"),
            v.get("logvar1"),
            v.get("mean2"),
            v.get("logvar2"),
        )?],
        Op::DiscretizedGaussianLogLikelihood => {
            vec![cpu::discretized_gaussian_log_likelihood(
                v.get("x"),
                v.get("means"),
                v.get("log_scales"),
            )?]
        }
        Op::VbTermsBpd => {
            let r = cpu::vb_terms_bpd(tb, m, t, d, v.get("x_start"), v.get("x_t"), model)?;
            vec![r.output, r.pred_xstart]
        }
        Op::TrainingLosses => vec![cpu::training_losses(
            tb,
            m,
            s.loss,
            t,
            d,
            v.get("x_start"),
            v.get("noise"),
            model,
        )?],
        Op::PriorBpd => vec![cpu::prior_bpd(tb, v.batch(), d, v.get("x_start"))?],
    })
}

fn run_gpu(ctx: &Context, op: Op, s: &OpSettings, v: &Inputs) -> Result<Vec<Vec<f64>>> {
    let prepared = GpuOp::upload(ctx, op, s, v)?;
    let mut enc = ctx.encoder();
    let outs = prepared.record(ctx, &mut enc)?;
    ctx.submit(enc)?;
    outs.iter()
        .map(|o| Ok(o.to_vec(ctx)?.into_iter().map(f64::from).collect()))
        .collect()
}

/// An op with its inputs validated and uploaded once, recordable any number of times: what
/// `ddpm op` runs, and what the benches time without the upload and read-back.
pub struct GpuOp {
    op: Op,
    model: ModelOptions,
    loss: LossType,
    tables: GpuTables,
    steps: Option<GpuSteps>,
    tensors: BTreeMap<&'static str, GpuTensor>,
}

impl GpuOp {
    /// Validate `inputs` for `op` (as [`run`] does) and upload them to `ctx`'s device.
    pub fn new(
        ctx: &Context,
        op: Op,
        settings: &OpSettings,
        inputs: &BTreeMap<String, NpyArray>,
    ) -> Result<Self> {
        let v = validate(op, settings, inputs)?;
        Self::upload(ctx, op, settings, &v)
    }

    fn upload(ctx: &Context, op: Op, s: &OpSettings, v: &Inputs) -> Result<Self> {
        let tables = GpuTables::new(ctx, &s.tables)?;
        let steps = if op.takes_t() {
            Some(GpuSteps::new(ctx, &tables, &v.t)?)
        } else {
            None
        };
        let mut tensors = BTreeMap::new();
        for (&name, data) in &v.tensors {
            tensors.insert(name, GpuTensor::from_slice(ctx, &v.shape, data)?);
        }
        Ok(GpuOp {
            op,
            model: s.model,
            loss: s.loss,
            tables,
            steps,
            tensors,
        })
    }

    /// The op.
    pub fn op(&self) -> Op {
        self.op
    }

    /// Elements of x (the reference shape).
    pub fn elements(&self) -> usize {
        self.tensors.values().next().map_or(0, GpuTensor::len)
    }

    fn get(&self, name: &str) -> Result<&GpuTensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| Error::MissingInput(name.into()))
    }

    /// Record the op into `encoder`; outputs are new tensors in [`Op::outputs`] order.
    pub fn record(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Result<Vec<GpuTensor>> {
        let steps = || {
            self.steps
                .as_ref()
                .ok_or_else(|| Error::MissingInput("t".into()))
        };
        let model = || -> Result<GpuModelOut<'_>> {
            Ok(GpuModelOut {
                output: self.get("model_output")?,
                var: self.tensors.get(MODEL_VAR),
            })
        };
        let (tb, m, e, get) = (&self.tables, &self.model, encoder, |n| self.get(n));
        Ok(match self.op {
            Op::QMeanVariance => {
                let r = gpu::q_mean_variance(ctx, e, tb, steps()?, get("x_start")?)?;
                vec![r.mean, r.variance, r.log_variance]
            }
            Op::QSample => {
                vec![gpu::q_sample(
                    ctx,
                    e,
                    tb,
                    steps()?,
                    get("x_start")?,
                    get("noise")?,
                )?]
            }
            Op::QPosteriorMeanVariance => {
                let (x0, xt) = (get("x_start")?, get("x_t")?);
                let r = gpu::q_posterior_mean_variance(ctx, e, tb, steps()?, x0, xt)?;
                vec![
                    r.posterior_mean,
                    r.posterior_variance,
                    r.posterior_log_variance_clipped,
                ]
            }
            Op::PMeanVariance => {
                let r = gpu::p_mean_variance(ctx, e, tb, m, steps()?, get("x")?, model()?)?;
                vec![
                    r.model_mean,
                    r.model_variance,
                    r.model_log_variance,
                    r.pred_xstart,
                ]
            }
            Op::PSample => {
                let (x, noise) = (get("x")?, get("noise")?);
                let r = gpu::p_sample(ctx, e, tb, m, steps()?, x, model()?, noise)?;
                vec![r.sample, r.pred_xstart]
            }
            Op::NormalKl => vec![gpu::normal_kl(
                ctx,
                e,
                get("mean1")?,
                get("logvar1")?,
                get("mean2")?,
                get("logvar2")?,
            )?],
            Op::DiscretizedGaussianLogLikelihood => {
                vec![gpu::discretized_gaussian_log_likelihood(
                    ctx,
                    e,
                    get("x")?,
                    get("means")?,
                    get("log_scales")?,
                )?]
            }
            Op::VbTermsBpd => {
                let (x0, xt) = (get("x_start")?, get("x_t")?);
                let r = gpu::vb_terms_bpd(ctx, e, tb, m, steps()?, x0, xt, model()?)?;
                vec![r.output, r.pred_xstart]
            }
            Op::TrainingLosses => vec![gpu::training_losses(
                ctx,
                e,
                tb,
                m,
                self.loss,
                steps()?,
                get("x_start")?,
                get("noise")?,
                model()?,
            )?],
            Op::PriorBpd => vec![gpu::prior_bpd(ctx, e, tb, get("x_start")?)?],
        })
    }
}
