//! `ddpm bench`: kernel throughput against the adapter's own copy bandwidth, and sampling-loop
//! speed, overhead and device memory, measured in one run.
//!
//! Kernel times are from submit to completion of R dispatches recorded beforehand (buffers and
//! bind groups made outside the timing), so they are device time plus per-pass overhead. A
//! loop's overhead ratio is its wall time (allocation, T steps, read-back) over T times one
//! step's kernels (the denoiser's and the step kernel's, timed the same way): 1.0 would mean the
//! scheduler costs nothing beyond the kernels themselves. Short loops are timed five times,
//! alternating with their kernels, and the median of the per-pair ratios is reported.

use crate::check::Gen;
use crate::cpu;
use crate::error::Result;
use crate::gpu::sample_loop::ChunkLoop;
use crate::gpu::{
    self, Context, Denoiser, GaussianDenoiser, GpuModelOut, GpuSteps, GpuTables, GpuTensor,
    GpuTensorF16, MixtureDenoiser, PSampleF16, SampleOptions,
};
use crate::options::ModelOptions;
use crate::schedule::{ScheduleKind, Tables};
use std::fmt::Write;
use std::time::Instant;

/// One kernel measurement.
#[derive(Clone, Debug)]
pub struct KernelRow {
    /// Kernel name.
    pub kernel: &'static str,
    /// Elements per dispatch.
    pub elements: usize,
    /// Seconds per dispatch.
    pub seconds: f64,
    /// Bytes the kernel must move per dispatch.
    pub bytes: f64,
    /// bytes / seconds / 1e9.
    pub gb_per_s: f64,
    /// gb_per_s / the copy kernel's gb_per_s at the same size.
    pub copy_ratio: f64,
}

/// One sampling-loop measurement.
#[derive(Clone, Debug)]
pub struct LoopRow {
    /// `mixture` (M = 16 points, three kernels a step) or `gaussian` (one elementwise kernel).
    pub denoiser: &'static str,
    /// `gpu`, or `cpu` for the f64 reference loop.
    pub device: &'static str,
    /// [B, ...].
    pub shape: Vec<usize>,
    /// T.
    pub steps: usize,
    /// Wall seconds for the whole loop, allocation and read-back included.
    pub seconds: f64,
    /// Seconds of one step's kernels alone (GPU rows; 0 for the CPU).
    pub step_kernel_seconds: f64,
    /// seconds / (T x step_kernel_seconds) (GPU rows; 0 for the CPU).
    pub overhead_ratio: f64,
    /// Device bytes the loop allocates (GPU rows): x, pred_xstart, model_output, timesteps.
    pub loop_bytes: u64,
    /// Device bytes the denoiser holds (GPU rows).
    pub denoiser_bytes: u64,
}

/// The accuracy cost of a storage format: one kernel's output against the f64 reference run
/// on the same f32 inputs (f16 storage rounds them on upload, so its error includes that).
#[derive(Clone, Debug)]
pub struct AccuracyRow {
    /// Kernel name and output.
    pub kernel: &'static str,
    /// `f32` or `f16`.
    pub storage: &'static str,
    /// Elements compared.
    pub elements: usize,
    /// max |gpu - reference|.
    pub max_abs: f64,
    /// max |gpu - reference| / max |reference|.
    pub max_rel_to_max: f64,
}

/// Everything `ddpm bench` measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Adapter description.
    pub adapter: String,
    /// Kernel rows.
    pub kernels: Vec<KernelRow>,
    /// f32 against f16 storage, against the f64 reference.
    pub accuracy: Vec<AccuracyRow>,
    /// Loop rows.
    pub loops: Vec<LoopRow>,
}

/// q_sample's x_t and p_sample's sample in f32 and in f16 storage against the f64 twins, on
/// 2^16 elements (4 samples at t = 0, 333, 666, 999; default options).
fn accuracy_rows(ctx: &Context, gt: &GpuTables, tables: &Tables) -> Result<Vec<AccuracyRow>> {
    let n = 1 << 16;
    let (shape, t) = ([4, n / 4], [0, 333, 666, 999]);
    let opts = ModelOptions::default();
    let mut g = Gen::new(3);
    let (x0, x, eps, z) = (
        g.pixels(n),
        g.vec(n, |g| 1.5 * g.normal()),
        g.vec(n, Gen::normal),
        g.vec(n, Gen::normal),
    );
    let q_ref = cpu::q_sample(tables, &t, n / 4, &x0, &z)?;
    let model = cpu::ModelOut {
        output: &eps,
        var: None,
    };
    let p_ref = cpu::p_sample(tables, &opts, &t, n / 4, &x, model, &z)?.sample;
    let steps = GpuSteps::new(ctx, gt, &t)?;
    let f32_of = |v: &[f32]| GpuTensor::from_slice(ctx, &shape, v);
    let f16_of = |v: &[f32]| GpuTensorF16::from_slice(ctx, &shape, v);
    let mut enc = ctx.encoder();
    let q32 = gpu::q_sample(ctx, &mut enc, gt, &steps, &f32_of(&x0)?, &f32_of(&z)?)?;
    let model32 = GpuModelOut {
        output: &f32_of(&eps)?,
        var: None,
    };
    let p32 = gpu::p_sample(
        ctx,
        &mut enc,
        gt,
        &opts,
        &steps,
        &f32_of(&x)?,
        model32,
        &f32_of(&z)?,
    )?;
    let (q16, s16, p16) = (
        GpuTensorF16::zeros(ctx, &shape)?,
        GpuTensorF16::zeros(ctx, &shape)?,
        GpuTensorF16::zeros(ctx, &shape)?,
    );
    gpu::q_sample_f16(ctx, &mut enc, gt, &steps, &f16_of(&x0)?, &f16_of(&z)?, &q16)?;
    let eps16 = f16_of(&eps)?;
    let io = PSampleF16 {
        model_output: &eps16,
        model_var: None,
        sample: &s16,
        pred_xstart: &p16,
    };
    gpu::p_sample_f16(
        ctx,
        &mut enc,
        gt,
        &opts,
        &steps,
        &f16_of(&x)?,
        &f16_of(&z)?,
        io,
    )?;
    ctx.submit(enc)?;
    let row = |kernel, storage, got: Vec<f32>, want: &[f64]| {
        let max_abs = got
            .iter()
            .zip(want)
            .map(|(&a, b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        let max_ref = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        AccuracyRow {
            kernel,
            storage,
            elements: n,
            max_abs,
            max_rel_to_max: max_abs / max_ref,
        }
    };
    Ok(vec![
        row("q_sample x_t", "f32", q32.to_vec(ctx)?, &q_ref),
        row("q_sample x_t", "f16", q16.to_vec(ctx)?, &q_ref),
        row("p_sample sample", "f32", p32.sample.to_vec(ctx)?, &p_ref),
        row("p_sample sample", "f16", s16.to_vec(ctx)?, &p_ref),
    ])
}

/// Timed submissions per measurement; the median is kept, since one submission on a busy
/// 2-core machine can be off by 2x.
const TRIALS: usize = 5;

/// `reps` repetitions of what `record` encodes, in one command buffer.
fn encode_reps(
    ctx: &Context,
    reps: usize,
    record: &mut dyn FnMut(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<wgpu::CommandBuffer> {
    let mut enc = ctx.encoder();
    for _ in 0..reps {
        record(&mut enc)?;
    }
    Ok(enc.finish())
}

/// Seconds from submitting `buffer` to the device finishing it.
fn time_submit(ctx: &Context, buffer: wgpu::CommandBuffer) -> Result<f64> {
    let start = Instant::now();
    ctx.checked(|| ctx.queue.submit([buffer]))?;
    ctx.wait()?;
    Ok(start.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per repetition of the work `record` puts into one encoder `reps` times: the median
/// of [`TRIALS`] timed submissions after one warm-up (pipelines compiled, buffers touched).
fn time_reps(
    ctx: &Context,
    reps: usize,
    mut record: impl FnMut(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<f64> {
    time_submit(ctx, encode_reps(ctx, 1, &mut record)?)?;
    let mut times = Vec::with_capacity(TRIALS);
    for _ in 0..TRIALS {
        let buffer = encode_reps(ctx, reps, &mut record)?;
        times.push(time_submit(ctx, buffer)? / reps as f64);
    }
    Ok(median(times))
}

/// A kernel to time: its name, the bytes it must move per element, and how to record it.
type KernelCase<'a> = (
    &'static str,
    f64,
    Box<dyn FnMut(&mut wgpu::CommandEncoder) -> Result<()> + 'a>,
);

/// Time the copy kernel (first) and the DDPM kernels at `n` elements (4 samples at t = 0, 333, 666, 999).
/// Copy, q_sample and p_sample write into buffers made beforehand; the others allocate their
/// outputs per call as their API does, so their times include wgpu's zero-fill of those.
fn kernel_rows(ctx: &Context, gt: &GpuTables, n: usize) -> Result<Vec<KernelRow>> {
    let opts = ModelOptions::default();
    let batch = 4;
    let shape = [batch, n / batch];
    let mut g = Gen::new(n as u64);
    let mut tensor = || GpuTensor::from_slice(ctx, &shape, &g.vec(n, Gen::normal));
    let (a, b, c, d) = (tensor()?, tensor()?, tensor()?, tensor()?);
    let dst = GpuTensor::zeros(ctx, &shape)?;
    let p_out = gpu::PSample {
        sample: GpuTensor::zeros(ctx, &shape)?,
        pred_xstart: GpuTensor::zeros(ctx, &shape)?,
    };
    let steps = GpuSteps::new(ctx, gt, &[0, 333, 666, 999])?;
    let model = GpuModelOut {
        output: &b,
        var: None,
    };
    // The same buffers seen as [n / 2, 2]: samples of 2 elements take the scalar kernels, so
    // their rows show what the vec4 kernels gain.
    let pairs = [n / 2, 2];
    let as_pairs = |t: &GpuTensor| GpuTensor::from_buffer(ctx, t.buffer().clone(), &pairs);
    let (a2, b2, c2, dst2) = (as_pairs(&a)?, as_pairs(&b)?, as_pairs(&c)?, as_pairs(&dst)?);
    let p_out2 = gpu::PSample {
        sample: as_pairs(&p_out.sample)?,
        pred_xstart: as_pairs(&p_out.pred_xstart)?,
    };
    let pair_steps: Vec<u32> = (0..n / 2).map(|i| (i * 4 / n * 333) as u32).collect();
    let steps2 = GpuSteps::new(ctx, gt, &pair_steps)?;
    let model2 = GpuModelOut {
        output: &b2,
        var: None,
    };
    // The same values in f16 storage.
    let mut h = Gen::new(n as u64);
    let mut half = || GpuTensorF16::from_slice(ctx, &shape, &h.vec(n, Gen::normal));
    let (ha, hb, hc) = (half()?, half()?, half()?);
    let h_zeros = || GpuTensorF16::zeros(ctx, &shape);
    let (h_dst, h_sample, h_pred) = (h_zeros()?, h_zeros()?, h_zeros()?);
    let h_io = PSampleF16 {
        model_output: &hb,
        model_var: None,
        sample: &h_sample,
        pred_xstart: &h_pred,
    };
    let cases: Vec<KernelCase> = vec![
        (
            "bandwidth_copy",
            8.0,
            Box::new(|e| gpu::bandwidth_copy::bandwidth_copy(ctx, e, &a, &dst)),
        ),
        // x_start, noise in; x_t out.
        (
            "q_sample",
            12.0,
            Box::new(|e| gpu::q_sample_into(ctx, e, gt, &steps, &a, &b, &dst)),
        ),
        // x, model_output, noise in; sample, pred_xstart out.
        (
            "p_sample",
            20.0,
            Box::new(|e| gpu::p_sample_into(ctx, e, gt, &opts, &steps, &a, model, &c, &p_out)),
        ),
        (
            "q_sample (scalar)",
            12.0,
            Box::new(|e| gpu::q_sample_into(ctx, e, gt, &steps2, &a2, &b2, &dst2)),
        ),
        (
            "p_sample (scalar)",
            20.0,
            Box::new(|e| gpu::p_sample_into(ctx, e, gt, &opts, &steps2, &a2, model2, &c2, &p_out2)),
        ),
        // q_sample's and p_sample's traffic at 2 bytes a value.
        (
            "q_sample (f16)",
            6.0,
            Box::new(|e| gpu::q_sample_f16(ctx, e, gt, &steps, &ha, &hb, &h_dst)),
        ),
        (
            "p_sample (f16)",
            10.0,
            Box::new(|e| gpu::p_sample_f16(ctx, e, gt, &opts, &steps, &ha, &hc, h_io)),
        ),
        // x_start, x_t in; mean, variance, log-variance out.
        (
            "q_posterior_mean_variance",
            20.0,
            Box::new(|e| gpu::q_posterior_mean_variance(ctx, e, gt, &steps, &a, &b).map(drop)),
        ),
        // x, model_output in; mean, variance, log-variance, pred_xstart out.
        (
            "p_mean_variance",
            24.0,
            Box::new(|e| gpu::p_mean_variance(ctx, e, gt, &opts, &steps, &a, model).map(drop)),
        ),
        // Four inputs, one output.
        (
            "normal_kl",
            20.0,
            Box::new(|e| gpu::normal_kl(ctx, e, &a, &b, &c, &d).map(drop)),
        ),
    ];
    // Enough repetitions for ~2^24 elements of work per submission, at least 3.
    let reps = ((1usize << 24) / n).clamp(3, 30);
    let mut cases = cases;
    for (_, _, record) in cases.iter_mut() {
        time_submit(ctx, encode_reps(ctx, 1, record)?)?; // warm-up
    }
    // Trials interleave the kernels, so each trial's copy time is measured next to the others'
    // under the same machine load, and the ratio is taken per trial before the median.
    let mut times = vec![Vec::with_capacity(TRIALS); cases.len()];
    for _ in 0..TRIALS {
        for (k, (_, _, record)) in cases.iter_mut().enumerate() {
            let buffer = encode_reps(ctx, reps, record)?;
            times[k].push(time_submit(ctx, buffer)? / reps as f64);
        }
    }
    // cases[0] is the copy: 8 bytes an element.
    let copy_times = times[0].clone();
    let mut rows = Vec::new();
    for ((kernel, bytes_per, _), kernel_times) in cases.iter().zip(times) {
        let bytes = bytes_per * n as f64;
        let ratios: Vec<f64> = kernel_times
            .iter()
            .zip(&copy_times)
            .map(|(t, c)| (bytes / t) / (8.0 * n as f64 / c))
            .collect();
        let seconds = median(kernel_times);
        rows.push(KernelRow {
            kernel,
            elements: n,
            seconds,
            bytes,
            gb_per_s: bytes / seconds / 1e9,
            copy_ratio: median(ratios),
        });
    }
    Ok(rows)
}

/// Loops shorter than this many seconds are timed [`TRIALS`] times, longer ones once (the
/// mixture at [128, 3, 32, 32] takes a minute on a software adapter).
const REPEAT_LOOPS_UNDER_S: f64 = 3.0;

/// Time the sampling loop of `shape` with `denoiser` over `tables`: its step kernels alone, then
/// the whole loop, alternately. Each pair gives a ratio; the row keeps the medians, so a slow
/// patch of a noisy machine moves a pair, not the figure.
fn loop_row(
    ctx: &Context,
    tables: &GpuTables,
    name: &'static str,
    denoiser: &mut dyn Denoiser,
    shape: &[usize],
    opts: &SampleOptions,
) -> Result<LoopRow> {
    let big_t = tables.num_timesteps();
    let (mut loops, mut kernels, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut loop_bytes, mut denoiser_bytes) = (0, 0);
    let mut steps_per_timing = None;
    while loops.len() < TRIALS {
        let chunk = ChunkLoop::new(ctx, tables, denoiser, shape, 0, opts)?;
        loop_bytes = chunk.device_bytes();
        denoiser_bytes = denoiser.device_bytes();
        // A middle step: one that draws noise, as all but the last do.
        chunk.set_timestep(ctx, big_t / 2)?;
        // As many steps per submission as the loop makes, so both pay the same share of a
        // submission's fixed cost (about a millisecond on lavapipe); steps over 5 ms (one step
        // in its own submission, steady state, timed in the first trial only) need fewer,
        // which keeps the mixture rows at large shapes from taking minutes more.
        let reps = match steps_per_timing {
            Some(reps) => reps,
            None => {
                let one = time_reps(ctx, 1, |e| chunk.record_kernels(ctx, e, denoiser, 1))?;
                let reps = if one > 5e-3 {
                    5
                } else {
                    opts.steps_per_submit.clamp(1, big_t)
                };
                *steps_per_timing.insert(reps)
            }
        };
        // Recorded as the loop records them (the fused step's dispatches share a pass).
        let steps = time_reps(ctx, 1, |e| chunk.record_kernels(ctx, e, denoiser, reps))?;
        let kernel = steps / reps as f64;
        drop(chunk);
        let start = Instant::now();
        gpu::p_sample_loop(ctx, tables, denoiser, shape, opts, &mut |_, _| {})?;
        let seconds = start.elapsed().as_secs_f64();
        loops.push(seconds);
        kernels.push(kernel);
        ratios.push(seconds / (big_t as f64 * kernel));
        if seconds > REPEAT_LOOPS_UNDER_S {
            break;
        }
    }
    Ok(LoopRow {
        denoiser: name,
        device: "gpu",
        shape: shape.to_vec(),
        steps: big_t,
        seconds: median(loops),
        step_kernel_seconds: median(kernels),
        overhead_ratio: median(ratios),
        loop_bytes,
        denoiser_bytes,
    })
}

/// The f64 reference loop with the same denoiser, for scale.
fn cpu_loop_row(
    tables: &Tables,
    name: &'static str,
    denoiser: &dyn cpu::sample_loop::CpuDenoiser,
    shape: &[usize],
    opts: &SampleOptions,
) -> Result<LoopRow> {
    let sample_len = shape[1..].iter().product();
    let start = Instant::now();
    cpu::sample_loop::p_sample_loop(
        tables,
        &opts.model,
        denoiser,
        shape[0],
        sample_len,
        opts.seed,
    )?;
    Ok(LoopRow {
        denoiser: name,
        device: "cpu",
        shape: shape.to_vec(),
        steps: tables.num_timesteps(),
        seconds: start.elapsed().as_secs_f64(),
        step_kernel_seconds: 0.0,
        overhead_ratio: 0.0,
        loop_bytes: 0,
        denoiser_bytes: 0,
    })
}

/// What `ddpm bench` measures.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchPlan {
    /// Element counts for the kernel rows (4 samples each; a multiple of 16 keeps every kernel
    /// on its vec4 path).
    pub sizes: Vec<usize>,
    /// T of the loop rows.
    pub loop_steps: usize,
    /// Sample shapes [B, ...] of the loop rows; empty for none.
    pub loop_shapes: Vec<Vec<usize>>,
}

impl BenchPlan {
    /// 2^12 .. 2^24 elements; T = 1000 loops at [B, 3, 32, 32] for B in {1, 16, 128} and
    /// [4, 3, 256, 256].
    pub fn full() -> Self {
        BenchPlan {
            sizes: vec![1 << 12, 1 << 16, 1 << 20, 1 << 24],
            loop_steps: 1000,
            loop_shapes: vec![
                vec![1, 3, 32, 32],
                vec![16, 3, 32, 32],
                vec![128, 3, 32, 32],
                vec![4, 3, 256, 256],
            ],
        }
    }

    /// 2^20 elements; T = 100 loops at B in {1, 16}: a few seconds on a software adapter.
    pub fn quick() -> Self {
        BenchPlan {
            sizes: vec![1 << 20],
            loop_steps: 100,
            loop_shapes: vec![vec![1, 3, 32, 32], vec![16, 3, 32, 32]],
        }
    }
}

/// Measure the kernels at each size of `plan` and the loops at each shape.
pub fn run(ctx: &Context, plan: &BenchPlan) -> Result<BenchReport> {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
    let gt = GpuTables::new(ctx, &tables)?;
    let mut kernels = Vec::new();
    for &n in &plan.sizes {
        if n < 4 || n % 4 != 0 {
            return Err(crate::Error::Unsupported(format!(
                "bench sizes must be multiples of 4 (4 samples each), got {n}"
            )));
        }
        kernels.extend(kernel_rows(ctx, &gt, n)?);
    }
    let accuracy = accuracy_rows(ctx, &gt, &tables)?;

    let model = ModelOptions::default();
    let big_t = plan.loop_steps;
    let loop_tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, big_t)?;
    let loop_gt = GpuTables::new(ctx, &loop_tables)?;
    let opts = SampleOptions {
        model,
        seed: 1,
        steps_per_submit: big_t,
        ..Default::default()
    };
    let (num_points, sigma) = (16, 0.1);
    let mut loops = Vec::new();
    for shape in &plan.loop_shapes {
        let d: usize = shape[1..].iter().product();
        let points = Gen::new(7).vec(num_points * d, |g| g.range(-1.0, 1.0));
        let mut mixture = MixtureDenoiser::new(ctx, &points, &[num_points, d], sigma, model)?;
        let mut gaussian = GaussianDenoiser::new(sigma, model)?;
        loops.push(loop_row(
            ctx,
            &loop_gt,
            "gaussian",
            &mut gaussian,
            shape,
            &opts,
        )?);
        loops.push(loop_row(
            ctx,
            &loop_gt,
            "mixture",
            &mut mixture,
            shape,
            &opts,
        )?);
        // The f64 reference beside the GPU, at the smallest two shapes (it is slow beyond).
        if shape[0] <= 16 && d <= 3 * 32 * 32 {
            let cpu_gauss = cpu::gaussian_denoiser::Gaussian {
                tables: &loop_tables,
                sample_len: d,
                data_var: sigma * sigma,
                model,
            };
            loops.push(cpu_loop_row(
                &loop_tables,
                "gaussian",
                &cpu_gauss,
                shape,
                &opts,
            )?);
            let cpu_mix = cpu::mixture_denoiser::Mixture {
                tables: &loop_tables,
                points: &points,
                sample_len: d,
                data_var: sigma * sigma,
                model,
            };
            loops.push(cpu_loop_row(
                &loop_tables,
                "mixture",
                &cpu_mix,
                shape,
                &opts,
            )?);
        }
    }
    Ok(BenchReport {
        adapter: gpu::context::describe(ctx.adapter_info()),
        kernels,
        accuracy,
        loops,
    })
}

impl BenchReport {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = format!("adapter: {}\n", self.adapter);
        let _ = writeln!(
            s,
            "{:<26} {:>10} {:>12} {:>12} {:>9} {:>8}",
            "kernel", "elements", "time (us)", "Melem/s", "GB/s", "vs copy"
        );
        for k in &self.kernels {
            let _ = writeln!(
                s,
                "{:<26} {:>10} {:>12.1} {:>12.1} {:>9.2} {:>8.2}",
                k.kernel,
                k.elements,
                k.seconds * 1e6,
                k.elements as f64 / k.seconds / 1e6,
                k.gb_per_s,
                k.copy_ratio
            );
        }
        let _ = writeln!(
            s,
            "\n{:<18} {:<7} {:>9} {:>12} {:>16}",
            "accuracy (vs f64)", "storage", "elements", "max |err|", "max|err|/max|ref|"
        );
        for a in &self.accuracy {
            let _ = writeln!(
                s,
                "{:<18} {:<7} {:>9} {:>12.3e} {:>16.3e}",
                a.kernel, a.storage, a.elements, a.max_abs, a.max_rel_to_max
            );
        }
        if self.loops.is_empty() {
            return s;
        }
        let _ = writeln!(
            s,
            "\n{:<9} {:<4} {:<18} {:>5} {:>9} {:>9} {:>10} {:>12} {:>9} {:>11}",
            "denoiser",
            "dev",
            "shape",
            "T",
            "seconds",
            "steps/s",
            "samples/s",
            "step (us)",
            "overhead",
            "memory MiB"
        );
        for l in &self.loops {
            let gpu = l.device == "gpu";
            let or_dash = |v: String| if gpu { v } else { "-".into() };
            let _ = writeln!(
                s,
                "{:<9} {:<4} {:<18} {:>5} {:>9.3} {:>9.1} {:>10.2} {:>12} {:>9} {:>11}",
                l.denoiser,
                l.device,
                format!("{:?}", l.shape),
                l.steps,
                l.seconds,
                l.steps as f64 / l.seconds,
                l.shape[0] as f64 / l.seconds,
                or_dash(format!("{:.1}", l.step_kernel_seconds * 1e6)),
                or_dash(format!("{:.3}", l.overhead_ratio)),
                or_dash(format!(
                    "{:.2}",
                    (l.loop_bytes + l.denoiser_bytes) as f64 / (1 << 20) as f64
                )),
            );
        }
        s.push_str(
            "overhead: loop wall time / (T x one step's kernels); memory: the loop's buffers plus \
             the denoiser's, independent of T\n",
        );
        s
    }

    /// The same figures as JSON.
    pub fn json(&self) -> String {
        let kernels: Vec<String> = self
            .kernels
            .iter()
            .map(|k| {
                format!(
                    "{{\"kernel\":\"{}\",\"elements\":{},\"seconds\":{:e},\"bytes\":{},\"gb_per_s\":{:.4},\"copy_ratio\":{:.4}}}",
                    k.kernel, k.elements, k.seconds, k.bytes, k.gb_per_s, k.copy_ratio
                )
            })
            .collect();
        let loops: Vec<String> = self
            .loops
            .iter()
            .map(|l| {
                format!(
                    "{{\"denoiser\":\"{}\",\"device\":\"{}\",\"shape\":{:?},\"steps\":{},\"seconds\":{:.6},\"steps_per_s\":{:.3},\"samples_per_s\":{:.4},\"step_kernel_seconds\":{:e},\"overhead_ratio\":{:.4},\"loop_bytes\":{},\"denoiser_bytes\":{}}}",
                    l.denoiser,
                    l.device,
                    l.shape,
                    l.steps,
                    l.seconds,
                    l.steps as f64 / l.seconds,
                    l.shape[0] as f64 / l.seconds,
                    l.step_kernel_seconds,
                    l.overhead_ratio,
                    l.loop_bytes,
                    l.denoiser_bytes
                )
            })
            .collect();
        let accuracy: Vec<String> = self
            .accuracy
            .iter()
            .map(|a| {
                format!(
                    "{{\"kernel\":\"{}\",\"storage\":\"{}\",\"elements\":{},\"max_abs\":{:e},\"max_rel_to_max\":{:e}}}",
                    a.kernel, a.storage, a.elements, a.max_abs, a.max_rel_to_max
                )
            })
            .collect();
        format!(
            "{{\"adapter\":{:?},\"kernels\":[{}],\"accuracy\":[{}],\"loops\":[{}]}}\n",
            self.adapter,
            kernels.join(","),
            accuracy.join(","),
            loops.join(",")
        )
    }
}
