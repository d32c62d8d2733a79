//! The ops on the f64 CPU twins.

use super::{Inputs, Op, OpSettings, MODEL_VAR};
use crate::cpu::{self, ModelOut};
use crate::error::Result;
use crate::sampler::{self, CpuStep, Ddim, DdimReverse, Ddpm, Sampler};

pub(super) fn run(op: Op, s: &OpSettings, v: &Inputs) -> Result<Vec<Vec<f64>>> {
    let (tb, m, t, d) = (&v.tables, &s.model, v.t.as_slice(), v.sample_len());
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
        Op::PSample if s.step.threshold.is_some() => {
            let sampler = Ddpm::new(v.chain.clone(), *m, s.step.threshold)?;
            step(&sampler, v)?
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
        Op::DdimStep => {
            let sampler = Ddim::new(v.chain.clone(), *m, s.step.threshold, s.step.ddim)?;
            step(&sampler, v)?
        }
        Op::DdimReverseStep => {
            let clipped = s.step.ddim.use_clipped_model_output;
            step(
                &DdimReverse::with_clipped_eps(v.chain.clone(), *m, clipped)?,
                v,
            )?
        }
    })
}

/// One step of `sampler` with each sample at its own training timestep, the given noise, and
/// the thresholds of the raw pred_xstart when the sampler thresholds: (x, pred_xstart).
fn step(sampler: &dyn Sampler, v: &Inputs) -> Result<Vec<Vec<f64>>> {
    let wide = |name: &str| {
        v.opt(name)
            .map(|a| a.iter().map(|&e| f64::from(e)).collect())
    };
    let mut x: Vec<f64> = wide("x").unwrap_or_default();
    let output: Vec<f64> = wide("model_output").unwrap_or_default();
    let var: Option<Vec<f64>> = wide(MODEL_VAR);
    let noise: Option<Vec<f64>> = wide("noise");
    let scales = match sampler.threshold() {
        Some(th) => {
            let by_t = sampler.chain().by_timestep();
            let d = v.sample_len();
            let raw: Vec<f64> = x
                .iter()
                .zip(&output)
                .enumerate()
                .map(|(i, (&xi, &oi))| {
                    let t = v.train_t[i / d] as usize;
                    cpu::kernels::common::predict_xstart(
                        &by_t,
                        sampler.model().mean_type,
                        t,
                        xi,
                        oi,
                    )
                })
                .collect();
            Some(cpu::kernels::dynamic_threshold::dynamic_threshold(
                &raw, d, th.ratio, th.max,
            )?)
        }
        None => None,
    };
    let pred = sampler::cpu_step_per_sample(
        sampler,
        &v.train_t,
        CpuStep {
            sample_len: v.sample_len(),
            x: &mut x,
            output: &output,
            var: var.as_deref(),
            noise: noise.as_deref(),
            scales: scales.as_deref(),
            state: None,
        },
    )?;
    Ok(vec![x, pred])
}
