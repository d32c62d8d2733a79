//! `ddpm bench --model DIR --variants`: per batch, every conv shape of the forward with each
//! kernel variant's time and GFLOP/s and the tuner's choice, then the forward with the tuner's
//! choices against the forward with the fixed rule's (`--tune off`), timed alternately in one
//! run so that a busy machine slows both alike.

use super::forward_time::time_forward;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::nn::tune::{Source, Tune, TuneRow};
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::runtime::timing::median;
use ddpm_wgpu::gpu::{Context, Denoiser, DenoiserIo, GpuSteps, GpuTables, GpuTensor, UNetDenoiser};
use ddpm_wgpu::nn::UNet2D;

/// One batch's variants and the tuned forward against the rule's.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VariantsBatch {
    /// Samples per forward.
    pub batch: usize,
    /// The tuning mode of the tuned forward (`--tune`).
    pub tune: &'static str,
    /// Every conv shape, largest first: each variant's time at `batch` and the choice.
    pub layers: Vec<TuneRow>,
    /// Seconds per forward with the fixed rule's kernels (median of the alternating trials).
    pub rule_seconds: f64,
    /// Seconds per forward with the tuner's kernels.
    pub tuned_seconds: f64,
    /// `tuned_seconds / rule_seconds` (at most about 1 where the tuner never picks worse).
    pub tuned_over_rule: f64,
}

/// What a variants run needs of the bench: the model, T, the sample's shape, its labels and
/// the trials.
pub struct VariantsRun<'a> {
    pub model: &'a UNet2D,
    pub big_t: usize,
    pub tables: &'a GpuTables,
    pub sample: (usize, usize, usize),
    pub trials: usize,
}

impl VariantsRun<'_> {
    /// The rows of `batch` for the tuned `den` (`opts` as it was made with), with `labels`
    /// set on both forwards for a class-conditional model.
    pub fn batch(
        &self,
        ctx: &Context,
        den: &mut UNetDenoiser,
        opts: UNetOptions,
        batch: usize,
        labels: Option<&[u32]>,
    ) -> Result<VariantsBatch> {
        let (c, h, w) = self.sample;
        let shape = [batch, c, h, w];
        let layers = den.variants(ctx, &shape)?;
        let rule_opts = UNetOptions {
            tune: Tune::Off,
            ..opts
        };
        let mut rule = UNetDenoiser::with_options(ctx, self.model, self.big_t, rule_opts)?;
        let x: Vec<f32> = Gen::new(5).vec(batch * c * h * w, |g| g.range(-1.0, 1.0));
        let x_t = GpuTensor::from_slice(ctx, &shape, &x)?;
        let model_output = GpuTensor::zeros(ctx, &shape)?;
        let t: Vec<u32> = (0..batch)
            .map(|i| ((i * 397) % self.big_t) as u32)
            .collect();
        let steps = GpuSteps::below(ctx, self.big_t, &t)?;
        let io = DenoiserIo {
            x_t: &x_t,
            timesteps: steps.buffer(),
            tables: self.tables,
            model_output: &model_output,
            model_var: None,
            times: None,
        };
        for d in [&mut *den, &mut rule] {
            if let Some(l) = labels {
                d.set_class_labels(ctx, l)?;
            }
            d.prepare(ctx, &io)?;
        }
        let (mut r, mut t) = (Vec::new(), Vec::new());
        for _ in 0..self.trials.max(5) {
            r.push(time_forward(ctx, &rule, &io, 1)?);
            t.push(time_forward(ctx, den, &io, 1)?);
        }
        let (rule_seconds, tuned_seconds) = (median(r), median(t));
        Ok(VariantsBatch {
            batch,
            tune: opts.tune.name(),
            layers,
            rule_seconds,
            tuned_seconds,
            tuned_over_rule: tuned_seconds / rule_seconds,
        })
    }
}

/// One conv shape's kernel, as the report lists them.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConvChoice {
    /// The shape (`3x3/1 64->128 16x16`).
    pub shape: String,
    /// The kernel.
    pub kernel: &'static str,
    /// Where it came from (forced, rule, cache, measured).
    pub source: Source,
}

impl ConvChoice {
    /// Every choice `den`'s tuner has made.
    pub fn all(den: &UNetDenoiser) -> Vec<ConvChoice> {
        den.tuner()
            .choices()
            .into_iter()
            .map(|(key, kernel, source)| ConvChoice {
                shape: key.to_string(),
                kernel: kernel.name(),
                source,
            })
            .collect()
    }
}
