//! The UNet's part of `ddpm bench --model DIR`: per batch size, the forward's time (ms),
//! GFLOP/s by [`UNet2D::flops`] (2 per multiply-add of every conv, linear and attention
//! product), forwards/s and samples/s; a DDIM and a DDPM sampling loop's steps/s and samples/s;
//! device memory (weights, and activations as planned for the batch); optionally where one
//! forward's time goes, by kind of dispatch. A class-conditional model runs each sample with a
//! class (0, 1, ... cycled over the classes before the null class); with a guidance scale every
//! forward and loop row is measured unguided and guided, and the guided rows say how many times
//! the unguided time they took (the bound: 2.1x, one forward of 2B plus the combine).
//!
//! A forward is timed from submit to completion of its recorded dispatches (uniforms and bind
//! groups made beforehand by `prepare`, as in the loop), the median of `trials` after one
//! warm-up. The loops are timed once each, whole (allocation, every step, read-back).

use super::forward_time::time_forward;
use super::unet_classes::Classes;
use super::unet_variants::{ConvChoice, VariantsBatch, VariantsRun};
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::nn::{StageTime, UNetOptions};
use ddpm_wgpu::gpu::sampling::sample_loop::{sample_loop, LoopOptions};
use ddpm_wgpu::gpu::{
    self, Context, Denoiser, DenoiserIo, GpuSteps, GpuTables, GpuTensor, UNetDenoiser,
};
use ddpm_wgpu::nn::{Guidance, UNet2D};
use ddpm_wgpu::options::ModelOptions;
use ddpm_wgpu::sampler::{
    Ddim, DdimOptions, Ddpm, DpmSolver, DpmSolverOptions, Sampler, UniPc, UniPcOptions,
};
use ddpm_wgpu::schedule::{ScheduleKind, Tables};
use ddpm_wgpu::spacing::{multistep_timesteps, timesteps, Spacing};
use std::time::Instant;

/// What to measure.
#[derive(Clone, Debug, PartialEq)]
pub struct UNetBenchOptions {
    /// Batch sizes of the forward rows (and of the loop rows).
    pub batches: Vec<usize>,
    /// Sample height and width (`None`: the config's sample_size, else 32 x 32).
    pub size: Option<(usize, usize)>,
    /// T of the schedule (the scheduler config's num_train_timesteps; 1000 by default).
    pub num_train_timesteps: usize,
    /// Timed forwards per batch size (the median is kept), after one warm-up.
    pub trials: usize,
    /// Steps of the DDIM loop (leading spacing, eta 0); 0 for no DDIM row.
    pub ddim_steps: usize,
    /// Steps of the DDPM loop: `None` for all T (what DDPM samples with; hours at B = 16 on a
    /// software adapter), `Some(n)` for DDPM respaced to n steps, `Some(0)` for no DDPM row.
    pub ddpm_steps: Option<usize>,
    /// Steps of the DPM-Solver++ 2M loop (diffusers' defaults on leading spacing); 0 for none.
    pub dpm_steps: usize,
    /// Steps of the UniPC loop (bh2, order 2, on leading spacing); 0 for none.
    pub unipc_steps: usize,
    /// Also time each kind of dispatch of one forward at the largest batch.
    pub profile: bool,
    /// Also time every conv variant of every layer shape per batch, and the tuned forward
    /// against the fixed rule's (`--variants`).
    pub variants: bool,
    /// How the UNet runs (Winograd or direct 3x3 convs, and the conv kernel).
    pub unet: UNetOptions,
    /// Classifier-free guidance to measure beside the unguided rows (a class-conditional model
    /// only; the null class is its last row).
    pub guidance: Option<Guidance>,
}

impl Default for UNetBenchOptions {
    /// B = 1 and 16, 3 trials, DDIM-50 and the full DDPM loop, no profile.
    fn default() -> Self {
        UNetBenchOptions {
            batches: vec![1, 16],
            size: None,
            num_train_timesteps: 1000,
            trials: 3,
            ddim_steps: 50,
            ddpm_steps: None,
            dpm_steps: 10,
            unipc_steps: 10,
            profile: false,
            variants: false,
            unet: UNetOptions::default(),
            guidance: None,
        }
    }
}

/// One forward measurement.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ForwardRow {
    /// Samples per forward.
    pub batch: usize,
    /// Seconds per forward (median).
    pub seconds: f64,
    /// FLOPs of the forward / seconds / 1e9 (a guided forward's FLOPs are those of 2B samples).
    pub gflop_per_s: f64,
    /// 1 / seconds.
    pub forwards_per_s: f64,
    /// batch / seconds.
    pub samples_per_s: f64,
    /// Bytes of the activations, uniforms included, planned for this batch.
    pub activation_bytes: u64,
    /// Samples per sub-batch (the batch, unless an activation would not fit one binding).
    pub sub_batch: usize,
    /// The guidance scale of a guided row (`None`: unguided).
    pub guidance_scale: Option<f64>,
    /// A guided row's seconds over the unguided row's at the same batch.
    pub vs_unguided: Option<f64>,
}

/// One sampling-loop measurement.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UNetLoopRow {
    /// The sampler's name (`ddim`, `ddpm`, `dpm++2m`, `heun`...).
    pub sampler: &'static str,
    /// Samples.
    pub batch: usize,
    /// Steps (model calls).
    pub steps: usize,
    /// Wall seconds of the whole loop.
    pub seconds: f64,
    /// steps / seconds.
    pub steps_per_s: f64,
    /// batch / seconds.
    pub samples_per_s: f64,
    /// Device bytes of the denoiser (weights and activations) during the loop.
    pub denoiser_bytes: u64,
    /// The guidance scale of a guided row (`None`: unguided).
    pub guidance_scale: Option<f64>,
    /// A guided row's seconds over the same loop's unguided seconds.
    pub vs_unguided: Option<f64>,
}

/// Everything measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UNetBenchReport {
    /// Adapter description.
    pub adapter: String,
    /// The conv kernel the forwards ran where one was forced (`UNetOptions::conv`: `conv2d`,
    /// `conv2d_tiled_large`...), else `tune off|auto|full`.
    pub conv_kernel: String,
    /// How the weights and activations were stored: `f32` or `f16` (`--precision`).
    pub precision: &'static str,
    /// Each conv shape's kernel after the forward rows, and where the choice came from.
    pub conv_choices: Vec<ConvChoice>,
    /// Weights and biases of the model.
    pub parameters: usize,
    /// FLOPs of one forward of one sample at the benched size.
    pub flops_per_sample: u64,
    /// Sample (channels, height, width).
    pub sample: (usize, usize, usize),
    /// Bytes of the uploaded weights and the time table.
    pub weight_bytes: u64,
    /// The forward rows.
    pub forwards: Vec<ForwardRow>,
    /// The loop rows.
    pub loops: Vec<UNetLoopRow>,
    /// Where one forward's time goes at the largest batch (with `profile`).
    pub profile: Vec<StageTime>,
    /// Per batch, each conv variant's time and the tuned forward against the rule's (with
    /// `variants`).
    pub variants: Vec<VariantsBatch>,
}

/// Measure `model` as `opts` says, with a loop row for each of `more` besides.
pub fn run(
    ctx: &Context,
    model: &UNet2D,
    opts: &UNetBenchOptions,
    more: Vec<Box<dyn Sampler>>,
) -> Result<UNetBenchReport> {
    let (h, w) = opts.size.or(model.config.sample_size).unwrap_or((32, 32));
    let c = model.config.in_channels;
    let big_t = opts.num_train_timesteps;
    let mut den = UNetDenoiser::with_options(ctx, model, big_t, opts.unet)?;
    let classes = Classes::of(den.class_kind(), opts.guidance.is_some())?;
    let null = classes.null;
    let flops_per_sample = model.flops(h, w);
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, big_t)?;
    let gt = GpuTables::new(ctx, &tables)?;
    let mut report = UNetBenchReport {
        adapter: gpu::context::describe(ctx.adapter_info()),
        conv_kernel: match opts.unet.conv {
            Some(k) => k.name().to_string(),
            None => format!("tune {}", opts.unet.tune.name()),
        },
        precision: opts.unet.precision.name(),
        conv_choices: Vec::new(),
        parameters: model.num_parameters(),
        flops_per_sample,
        sample: (c, h, w),
        weight_bytes: den.weight_bytes(),
        forwards: Vec::new(),
        loops: Vec::new(),
        profile: Vec::new(),
        variants: Vec::new(),
    };
    let largest = opts.batches.iter().copied().max().unwrap_or(0);
    for &b in &opts.batches {
        if b == 0 {
            return Err(Error::ShapeMismatch(
                "bench batch sizes must be at least 1".into(),
            ));
        }
        let shape = [b, c, h, w];
        let x: Vec<f32> = Gen::new(3).vec(b * c * h * w, |g| g.range(-1.0, 1.0));
        let x_t = GpuTensor::from_slice(ctx, &shape, &x)?;
        let model_output = GpuTensor::zeros(ctx, &shape)?;
        let t: Vec<u32> = (0..b)
            .map(|i| ((i * 397 + big_t / 2) % big_t) as u32)
            .collect();
        let steps = GpuSteps::below(ctx, big_t, &t)?;
        let io = DenoiserIo {
            x_t: &x_t,
            timesteps: steps.buffer(),
            tables: &gt,
            model_output: &model_output,
            model_var: None,
            times: None,
        };
        let labels = classes.labels(b);
        let mut unguided = None;
        for pass in passes(opts) {
            den.set_guidance(pass, null)?;
            if let Some(l) = &labels {
                den.set_class_labels(ctx, l)?;
            }
            den.prepare(ctx, &io)?;
            let seconds = time_forward(ctx, &den, &io, opts.trials)?;
            let base = *unguided.get_or_insert(seconds);
            report.forwards.push(ForwardRow {
                batch: b,
                seconds,
                // A guided forward computes 2B samples.
                gflop_per_s: flops_per_sample as f64 * (b * runs(pass)) as f64 / seconds / 1e9,
                forwards_per_s: 1.0 / seconds,
                samples_per_s: b as f64 / seconds,
                activation_bytes: den.device_bytes().saturating_sub(den.weight_bytes()),
                sub_batch: den.sub_batch(),
                guidance_scale: pass.map(|g| g.scale),
                vs_unguided: pass.map(|_| seconds / base),
            });
        }
        den.set_guidance(None, null)?;
        if opts.profile && b == largest {
            if let Some(l) = &labels {
                den.set_class_labels(ctx, l)?;
            }
            report.profile = den.profile(ctx)?;
        }
        if opts.variants {
            let run = VariantsRun {
                model,
                big_t,
                tables: &gt,
                sample: (c, h, w),
                trials: opts.trials,
            };
            let batch = run.batch(ctx, &mut den, opts.unet, b, labels.as_deref())?;
            report.variants.push(batch);
        }
    }
    report.conv_choices = ConvChoice::all(&den);
    let mut all = samplers(&tables, opts)?;
    all.extend(more);
    for &b in &opts.batches {
        for sampler in &all {
            let mut unguided = None;
            for pass in passes(opts) {
                den.set_guidance(pass, null)?;
                let loop_opts = LoopOptions {
                    seed: 1,
                    steps_per_submit: 1,
                    class_labels: classes.labels(b),
                    ..LoopOptions::default()
                };
                let start = Instant::now();
                sample_loop(
                    ctx,
                    sampler.as_ref(),
                    &mut den,
                    &[b, c, h, w],
                    &loop_opts,
                    &mut |_, _| {},
                )?;
                let seconds = start.elapsed().as_secs_f64();
                let base = *unguided.get_or_insert(seconds);
                let steps = sampler.order().len();
                report.loops.push(UNetLoopRow {
                    sampler: sampler.name(),
                    batch: b,
                    steps,
                    seconds,
                    steps_per_s: steps as f64 / seconds,
                    samples_per_s: b as f64 / seconds,
                    denoiser_bytes: den.device_bytes(),
                    guidance_scale: pass.map(|g| g.scale),
                    vs_unguided: pass.map(|_| seconds / base),
                });
            }
        }
    }
    den.set_guidance(None, null)?;
    Ok(report)
}

/// The unguided pass, then the guided one if `opts` asks for guidance.
fn passes(opts: &UNetBenchOptions) -> impl Iterator<Item = Option<Guidance>> {
    std::iter::once(None).chain(opts.guidance.map(Some))
}

/// Samples a forward of one batch sample computes: 2 where guidance combines two passes.
fn runs(pass: Option<Guidance>) -> usize {
    if pass.is_some_and(|g| g.combines()) {
        2
    } else {
        1
    }
}

/// DDIM (leading spacing, eta 0), DPM-Solver++ 2M, UniPC and DDPM (full or respaced) as
/// `opts` asks.
fn samplers(tables: &Tables, opts: &UNetBenchOptions) -> Result<Vec<Box<dyn Sampler>>> {
    let big_t = tables.num_timesteps();
    let model = ModelOptions::default();
    let mut out: Vec<Box<dyn Sampler>> = Vec::new();
    let leading = Spacing::Leading { steps_offset: 0 };
    if opts.ddim_steps > 0 {
        let kept = timesteps(big_t, opts.ddim_steps.min(big_t), &leading)?;
        let chain = Chain::respaced(tables, &kept)?;
        out.push(Box::new(Ddim::new(
            chain,
            model,
            None,
            DdimOptions::default(),
        )?));
    }
    // The multistep samplers on their own leading timesteps, without clipping (as diffusers').
    let unclipped = ModelOptions {
        clip_denoised: false,
        ..model
    };
    if opts.dpm_steps > 0 {
        let kept = multistep_timesteps(big_t, opts.dpm_steps.min(big_t), &leading)?;
        out.push(Box::new(DpmSolver::new(
            Chain::respaced(tables, &kept)?,
            unclipped,
            None,
            DpmSolverOptions::default(),
        )?));
    }
    if opts.unipc_steps > 0 {
        let kept = multistep_timesteps(big_t, opts.unipc_steps.min(big_t), &leading)?;
        out.push(Box::new(UniPc::new(
            Chain::respaced(tables, &kept)?,
            unclipped,
            None,
            UniPcOptions::default(),
        )?));
    }
    match opts.ddpm_steps {
        Some(0) => {}
        None => out.push(Box::new(Ddpm::new(Chain::full(tables), model, None)?)),
        Some(n) => {
            let kept = timesteps(big_t, n.min(big_t), &leading)?;
            out.push(Box::new(Ddpm::new(
                Chain::respaced(tables, &kept)?,
                model,
                None,
            )?));
        }
    }
    Ok(out)
}
