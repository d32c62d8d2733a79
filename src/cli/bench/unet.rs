//! The UNet's part of `ddpm bench --model DIR`: per batch size, the forward's time (ms),
//! GFLOP/s by [`UNet2D::flops`] (2 per multiply-add of every conv, linear and attention
//! product), forwards/s and samples/s; a DDIM and a DDPM sampling loop's steps/s and samples/s;
//! device memory (weights, and activations as planned for the batch); optionally where one
//! forward's time goes, by kind of dispatch.
//!
//! A forward is timed from submit to completion of its recorded dispatches (uniforms and bind
//! groups made beforehand by `prepare`, as in the loop), the median of `trials` after one
//! warm-up. The loops are timed once each, whole (allocation, every step, read-back).

use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::nn::{StageTime, UNetOptions};
use ddpm_wgpu::gpu::runtime::timing::median;
use ddpm_wgpu::gpu::sampling::sample_loop::{sample_loop, LoopOptions};
use ddpm_wgpu::gpu::{
    self, Context, Denoiser, DenoiserIo, GpuSteps, GpuTables, GpuTensor, UNetDenoiser,
};
use ddpm_wgpu::nn::UNet2D;
use ddpm_wgpu::options::ModelOptions;
use ddpm_wgpu::sampler::{
    Ddim, DdimOptions, Ddpm, DpmSolver, DpmSolverOptions, Sampler, UniPc, UniPcOptions,
};
use ddpm_wgpu::schedule::{ScheduleKind, Tables};
use ddpm_wgpu::spacing::{multistep_timesteps, timesteps, Spacing};
use std::fmt::Write;
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
    /// How the UNet runs (Winograd or direct 3x3 convs).
    pub unet: UNetOptions,
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
            unet: UNetOptions::default(),
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
    /// FLOPs of the forward / seconds / 1e9.
    pub gflop_per_s: f64,
    /// 1 / seconds.
    pub forwards_per_s: f64,
    /// batch / seconds.
    pub samples_per_s: f64,
    /// Bytes of the activations, uniforms included, planned for this batch.
    pub activation_bytes: u64,
    /// Samples per sub-batch (the batch, unless an activation would not fit one binding).
    pub sub_batch: usize,
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
}

/// Everything measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UNetBenchReport {
    /// Adapter description.
    pub adapter: String,
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
    let flops_per_sample = model.flops(h, w);
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, big_t)?;
    let gt = GpuTables::new(ctx, &tables)?;
    let mut report = UNetBenchReport {
        adapter: gpu::context::describe(ctx.adapter_info()),
        parameters: model.num_parameters(),
        flops_per_sample,
        sample: (c, h, w),
        weight_bytes: den.weight_bytes(),
        forwards: Vec::new(),
        loops: Vec::new(),
        profile: Vec::new(),
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
        den.prepare(ctx, &io)?;
        let mut times = Vec::with_capacity(opts.trials.max(1));
        for trial in 0..=opts.trials.max(1) {
            let mut encoder = ctx.encoder();
            den.record(ctx, &mut encoder, &io)?;
            let start = Instant::now();
            ctx.submit(encoder)?;
            ctx.wait()?;
            if trial > 0 {
                times.push(start.elapsed().as_secs_f64());
            }
        }
        let seconds = median(times);
        report.forwards.push(ForwardRow {
            batch: b,
            seconds,
            gflop_per_s: flops_per_sample as f64 * b as f64 / seconds / 1e9,
            forwards_per_s: 1.0 / seconds,
            samples_per_s: b as f64 / seconds,
            activation_bytes: den.device_bytes().saturating_sub(den.weight_bytes()),
            sub_batch: den.sub_batch(),
        });
        if opts.profile && b == largest {
            report.profile = den.profile(ctx)?;
        }
    }
    let mut all = samplers(&tables, opts)?;
    all.extend(more);
    for &b in &opts.batches {
        for sampler in &all {
            let loop_opts = LoopOptions {
                seed: 1,
                steps_per_submit: 1,
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
            let steps = sampler.order().len();
            report.loops.push(UNetLoopRow {
                sampler: sampler.name(),
                batch: b,
                steps,
                seconds,
                steps_per_s: steps as f64 / seconds,
                samples_per_s: b as f64 / seconds,
                denoiser_bytes: den.device_bytes(),
            });
        }
    }
    Ok(report)
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

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

impl UNetBenchReport {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let (c, h, w) = self.sample;
        let mut s = format!(
            "adapter: {}\nmodel: {} parameters, {} FLOP per {c}x{h}x{w} sample ({:.3} GFLOP), weights {:.1} MiB on the device\n",
            self.adapter,
            self.parameters,
            self.flops_per_sample,
            self.flops_per_sample as f64 / 1e9,
            mib(self.weight_bytes)
        );
        let _ = writeln!(
            s,
            "{:>6} {:>12} {:>9} {:>11} {:>10} {:>14} {:>10}",
            "batch", "ms/forward", "GFLOP/s", "forwards/s", "samples/s", "activ. MiB", "sub-batch"
        );
        for f in &self.forwards {
            let _ = writeln!(
                s,
                "{:>6} {:>12.1} {:>9.2} {:>11.3} {:>10.2} {:>14.1} {:>10}",
                f.batch,
                f.seconds * 1e3,
                f.gflop_per_s,
                f.forwards_per_s,
                f.samples_per_s,
                mib(f.activation_bytes),
                f.sub_batch
            );
        }
        if !self.loops.is_empty() {
            let _ = writeln!(
                s,
                "\n{:<7} {:>6} {:>6} {:>10} {:>9} {:>10} {:>11}",
                "sampler", "batch", "steps", "seconds", "steps/s", "samples/s", "memory MiB"
            );
            for l in &self.loops {
                let _ = writeln!(
                    s,
                    "{:<7} {:>6} {:>6} {:>10.2} {:>9.3} {:>10.4} {:>11.1}",
                    l.sampler,
                    l.batch,
                    l.steps,
                    l.seconds,
                    l.steps_per_s,
                    l.samples_per_s,
                    mib(l.denoiser_bytes)
                );
            }
        }
        if !self.profile.is_empty() {
            let total: f64 = self.profile.iter().map(|p| p.seconds).sum();
            let _ = writeln!(
                s,
                "\n{:<36} {:>6} {:>10} {:>7} {:>9}",
                "dispatch kind (one forward)", "count", "ms", "share", "GFLOP/s"
            );
            let mut rows = self.profile.clone();
            rows.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
            for p in &rows {
                let g = p.flops as f64 / p.seconds / 1e9;
                let _ = writeln!(
                    s,
                    "{:<36} {:>6} {:>10.1} {:>6.1}% {:>9}",
                    p.kind,
                    p.count,
                    p.seconds * 1e3,
                    100.0 * p.seconds / total,
                    if p.flops > 0 {
                        format!("{g:.2}")
                    } else {
                        "-".into()
                    }
                );
            }
        }
        s
    }

    /// The same figures as JSON: the field names are the keys (scripts read them).
    pub fn json(&self) -> Result<String> {
        let text = serde_json::to_string(self)
            .map_err(|e| Error::Unsupported(format!("bench report as JSON: {e}")))?;
        Ok(format!("{text}\n"))
    }
}
