//! The ops on the GPU kernels.

use super::{Inputs, Op, OpSettings, MODEL_VAR};
use crate::error::{Error, Result};
use crate::gpu::sampling::step_op::{step_once, StepInputs};
use crate::gpu::{self, Context, GpuModelOut, GpuSteps, GpuTables, GpuTensor};
use crate::npy::NpyArray;
use crate::options::{LossType, ModelOptions};
use crate::sampler::{Ddim, DdimReverse, Ddpm, Sampler};
use std::collections::BTreeMap;

/// Run `op` on the GPU. Inputs larger than one storage binding run in chunks of whole samples
/// (of elements, for the ops without samples), one after another like the sampling loop's, and
/// the outputs are joined: every kernel computes a sample on its own, so the bits are those of
/// one run. Only a single sample larger than a binding is an error.
pub(super) fn run(ctx: &Context, op: Op, s: &OpSettings, v: &Inputs) -> Result<Vec<Vec<f64>>> {
    let n = v.tensors.values().next().map_or(0, Vec::len);
    let limit = ctx.limits().max_storage_buffer_binding_size / 4;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX).min(1 << 30);
    if n <= limit {
        return run_whole(ctx, op, s, v);
    }
    let (batch, d) = if op.batched() {
        (v.batch(), v.sample_len())
    } else {
        (n, 1)
    };
    let per = limit / d.max(1);
    if per == 0 {
        return Err(Error::BufferTooLarge {
            what: format!("one sample of {} ({d} elements)", op.tensor_inputs()[0]),
            bytes: d as u128 * 4,
            limit_name: "max_storage_buffer_binding_size",
            limit: ctx.limits().max_storage_buffer_binding_size,
        });
    }
    let mut outs: Vec<Vec<f64>> = op.outputs().iter().map(|_| Vec::new()).collect();
    for first in (0..batch).step_by(per) {
        let size = per.min(batch - first);
        let part = chunk(op, v, first, size, d);
        for (whole, piece) in outs.iter_mut().zip(run_whole(ctx, op, s, &part)?) {
            whole.extend(piece);
        }
    }
    Ok(outs)
}

/// Samples `first .. first + size` of `v` (each `d` elements).
fn chunk(op: Op, v: &Inputs, first: usize, size: usize, d: usize) -> Inputs {
    let mut shape = v.shape.clone();
    match shape.first_mut() {
        Some(b) if op.batched() => *b = size,
        _ => shape = vec![size],
    }
    let steps = |t: &[u32]| {
        t.get(first..first + size)
            .map_or(Vec::new(), <[u32]>::to_vec)
    };
    Inputs {
        tensors: v
            .tensors
            .iter()
            .map(|(&k, data)| (k, data[first * d..(first + size) * d].to_vec()))
            .collect(),
        train_t: steps(&v.train_t),
        t: steps(&v.t),
        tables: v.tables.clone(),
        chain: v.chain.clone(),
        shape,
    }
}

fn run_whole(ctx: &Context, op: Op, s: &OpSettings, v: &Inputs) -> Result<Vec<Vec<f64>>> {
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
    /// The stepping ops' sampler and the training timesteps it indexes its rows by.
    stepper: Option<(Box<dyn Sampler>, GpuSteps)>,
    tensors: BTreeMap<&'static str, GpuTensor>,
}

impl std::fmt::Debug for GpuOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuOp")
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

impl GpuOp {
    /// Validate `inputs` for `op` (as [`run`](crate::ops::run) does) and upload them to `ctx`'s device.
    pub fn new(
        ctx: &Context,
        op: Op,
        settings: &OpSettings,
        inputs: &BTreeMap<String, NpyArray>,
    ) -> Result<Self> {
        let v = super::validate(op, settings, inputs)?;
        Self::upload(ctx, op, settings, &v)
    }

    fn upload(ctx: &Context, op: Op, s: &OpSettings, v: &Inputs) -> Result<Self> {
        let tables = GpuTables::new(ctx, &v.tables)?;
        let steps = if op.takes_t() {
            Some(GpuSteps::new(ctx, &tables, &v.t)?)
        } else {
            None
        };
        let mut tensors = BTreeMap::new();
        for (&name, data) in &v.tensors {
            tensors.insert(name, GpuTensor::from_slice(ctx, &v.shape, data)?);
        }
        let stepper = stepper(op, s, v)?
            .map(|sampler| -> Result<_> {
                let train = GpuSteps::below(ctx, s.tables.num_timesteps(), &v.train_t)?;
                Ok((sampler, train))
            })
            .transpose()?;
        Ok(GpuOp {
            op,
            model: s.model,
            loss: s.loss,
            tables,
            steps,
            stepper,
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
            Op::PSample | Op::DdimStep | Op::DdimReverseStep if self.stepper.is_some() => {
                let (out, pred) = self.record_step(ctx, e)?;
                vec![out, pred]
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
            Op::DdimStep | Op::DdimReverseStep => {
                return Err(Error::Unsupported(format!(
                    "{} without its sampler",
                    self.op
                )))
            }
        })
    }

    /// The stepping ops: the sampler's own step kernel once, with the thresholds of the raw
    /// pred_xstart first when it thresholds.
    fn record_step(
        &self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Result<(GpuTensor, GpuTensor)> {
        let (sampler, t) = self
            .stepper
            .as_ref()
            .ok_or_else(|| Error::Unsupported(format!("{} has no sampler", self.op)))?;
        let (x, model_output) = (self.get("x")?, self.get("model_output")?);
        let scales = match sampler.threshold() {
            Some(th) => Some(crate::gpu::sampling::sample_loop::record_thresholds(
                ctx,
                encoder,
                sampler.as_ref(),
                t,
                x,
                model_output,
                th,
            )?),
            None => None,
        };
        let inputs = StepInputs {
            t,
            x,
            model_output,
            model_var: self.tensors.get(MODEL_VAR),
            noise: self.tensors.get("noise"),
            scales: scales.as_ref(),
        };
        step_once(ctx, encoder, sampler.as_ref(), &inputs)
    }
}

/// The sampler a stepping op runs: DDIM, inverse DDIM, or DDPM for a thresholded p-sample.
fn stepper(op: Op, s: &OpSettings, v: &Inputs) -> Result<Option<Box<dyn Sampler>>> {
    let chain = || v.chain.clone();
    Ok(match op {
        Op::DdimStep => Some(Box::new(Ddim::new(
            chain(),
            s.model,
            s.step.threshold,
            s.step.ddim,
        )?)),
        Op::DdimReverseStep => Some(Box::new(DdimReverse::with_clipped_eps(
            chain(),
            s.model,
            s.step.ddim.use_clipped_model_output,
        )?)),
        Op::PSample if s.step.threshold.is_some() => {
            Some(Box::new(Ddpm::new(chain(), s.model, s.step.threshold)?))
        }
        _ => None,
    })
}
