//! CPU twin of the sampling loop (`src/gpu/sampling/sample_loop/`): any [`Sampler`] in f64 with the same
//! noise draws, the reference the GPU loop is measured against.

use crate::chain::Chain;
use crate::cpu::kernels::noise::{self, stream};
use crate::cpu::kernels::torch_randn::TorchGenerator;
use crate::error::{Error, Result};
use crate::options::ModelOptions;
use crate::sampler::{CpuStep, Ddpm, LoopOptions, NoiseSource, Sampler, Visit};
use crate::schedule::Tables;

/// A model on the CPU: model_output (and model_var for learned types) from x_t and t.
///
/// In a sampling loop over a respaced chain, a denoiser that reads schedule tables reads the
/// chain's by training timestep ([`Chain::by_timestep`]), as the GPU loop's denoiser does.
pub trait CpuDenoiser {
    /// Outputs for x ([B * sample_len]) at per-sample steps `t`.
    fn denoise(&self, t: &[u32], x: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>)>;

    /// Outputs at per-sample timesteps that need not be integers (a sampler with
    /// [`Sampler::model_times`]). Refused by default: a denoiser that reads schedule tables by
    /// integer timestep has no value between them.
    fn denoise_times(&self, t: &[f64], x: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        let _ = (t, x);
        Err(Error::Unsupported(
            "this denoiser takes integer timesteps only; the sampler calls the model at \
             non-integer ones"
                .into(),
        ))
    }

    /// Outputs at per-sample timesteps `t` (integers or not) with one class label per sample
    /// (a class-conditional model). Refused by default.
    fn denoise_labeled(
        &self,
        t: &[f64],
        x: &[f64],
        labels: &[u32],
    ) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        let _ = (t, x, labels);
        Err(Error::labels_refused())
    }
}

/// Samples of `batch` x `sample_len` with `sampler` and `denoiser`: x_T from the INIT stream at
/// step T (or `opts.x_t`), then for each training timestep t of the sampler's order the model,
/// the thresholds if asked, and the sampler's step with the SAMPLE stream's draws at step t.
pub fn sample_loop(
    sampler: &dyn Sampler,
    denoiser: &dyn CpuDenoiser,
    batch: usize,
    sample_len: usize,
    opts: &LoopOptions,
) -> Result<Vec<f64>> {
    let n = batch
        .checked_mul(sample_len)
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::ShapeMismatch(format!("{batch} samples of {sample_len}")))?;
    opts.check_first_sample(batch)?;
    let mut torch = (opts.noise == NoiseSource::Torch).then(|| TorchGenerator::new(opts.seed));
    let big_t = sampler.chain().num_train_timesteps();
    let wide = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
    let mut x = match (&opts.x_t, torch.as_mut()) {
        (Some(v), _) if v.len() == n => v.iter().map(|&a| f64::from(a)).collect(),
        (Some(v), _) => {
            return Err(Error::ShapeMismatch(format!(
                "x_t has {} values, the batch {n}",
                v.len()
            )))
        }
        (None, Some(g)) => wide(g.randn(n)),
        (None, None) => noise::noise(
            opts.seed,
            stream::INIT,
            big_t as u32,
            opts.first_sample,
            batch,
            sample_len,
        ),
    };
    // The sampler's x_T scale, rounded as the GPU loop applies it (f32 z times f32 scale).
    let scale = sampler.init_scale() as f32;
    if scale != 1.0 {
        x.iter_mut().for_each(|v| *v = f64::from(*v as f32 * scale));
    }
    let labels = opts.class_labels.as_deref();
    let by_t = sampler.chain().by_timestep();
    // A multistep sampler's state (the GPU loop keeps it after pred_xstart).
    let mut state = vec![0.0; sampler.state_slots() * n];
    let order = sampler.order();
    crate::sampler::check_order(sampler, &order)?;
    let times = sampler.model_times();
    for (index, &t) in order.iter().enumerate() {
        let (out, var) = match &times {
            Some(times) if labels.is_none() => {
                denoiser.denoise_times(&vec![times[index]; batch], &x)?
            }
            None if labels.is_none() => denoiser.denoise(&vec![t as u32; batch], &x)?,
            times => {
                let at = times.as_ref().map_or(t as f64, |times| times[index]);
                denoiser.denoise_labeled(&vec![at; batch], &x, labels.unwrap_or_default())?
            }
        };
        let scales = match sampler.threshold() {
            Some(th) => {
                let mean_type = sampler.model().mean_type;
                let raw: Vec<f64> = x
                    .iter()
                    .zip(&out)
                    .map(|(&xi, &oi)| {
                        crate::cpu::kernels::common::predict_xstart(&by_t, mean_type, t, xi, oi)
                    })
                    .collect();
                Some(crate::cpu::kernels::dynamic_threshold::dynamic_threshold(
                    &raw, sample_len, th.ratio, th.max,
                )?)
            }
            None => None,
        };
        let z: Option<Vec<f64>> = match (sampler.draws_noise(t), torch.as_mut()) {
            (false, _) => None,
            (true, Some(g)) => Some(wide(g.randn(n))),
            (true, None) => Some(
                (0..n)
                    .map(|i| {
                        let (b, j) = (i / sample_len, i % sample_len);
                        let sample = opts.first_sample + b as u32;
                        noise::normal(opts.seed, stream::SAMPLE, t as u32, sample, j as u32)
                    })
                    .collect(),
            ),
        };
        sampler.cpu_step(
            Visit { index, t },
            CpuStep {
                sample_len,
                x: &mut x,
                output: &out,
                var: var.as_deref(),
                noise: z.as_deref(),
                scales: scales.as_deref(),
                state: Some(&mut state),
            },
        )?;
    }
    Ok(x)
}

/// The original's `p_sample_loop` with seed `seed`: DDPM over all T steps of `tb`.
pub fn p_sample_loop(
    tb: &Tables,
    model: &ModelOptions,
    denoiser: &dyn CpuDenoiser,
    batch: usize,
    sample_len: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let sampler = Ddpm::new(Chain::full(tb), *model, None)?;
    let opts = LoopOptions {
        seed,
        ..LoopOptions::default()
    };
    sample_loop(&sampler, denoiser, batch, sample_len, &opts)
}
