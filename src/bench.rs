//! `ddpm bench`: kernel throughput against the adapter's own copy bandwidth, and sampling-loop
//! speed, measured in one run. Kernel times are from submit to completion of R dispatches
//! recorded beforehand (buffers and bind groups made outside the timing), so they are device
//! time plus per-pass overhead.

use crate::check::Gen;
use crate::error::Result;
use crate::gpu::{self, Context, GpuModelOut, GpuSteps, GpuTables, GpuTensor, MixtureDenoiser};
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
    /// [B, ...].
    pub shape: Vec<usize>,
    /// T.
    pub steps: usize,
    /// Wall seconds for the whole loop.
    pub seconds: f64,
}

/// Everything `ddpm bench` measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Adapter description.
    pub adapter: String,
    /// Kernel rows.
    pub kernels: Vec<KernelRow>,
    /// Loop rows.
    pub loops: Vec<LoopRow>,
}

/// Seconds per repetition of the work `record` puts into one encoder `reps` times.
fn time_reps(
    ctx: &Context,
    reps: usize,
    mut record: impl FnMut(&mut wgpu::CommandEncoder) -> Result<()>,
) -> Result<f64> {
    // Warm-up: pipelines compiled, buffers touched.
    let mut enc = ctx.encoder();
    record(&mut enc)?;
    ctx.submit(enc)?;
    ctx.wait()?;
    let mut enc = ctx.encoder();
    for _ in 0..reps {
        record(&mut enc)?;
    }
    let buffer = enc.finish();
    let start = Instant::now();
    ctx.checked(|| ctx.queue.submit([buffer]))?;
    ctx.wait()?;
    Ok(start.elapsed().as_secs_f64() / reps as f64)
}

/// Measure copy, q_sample and p_sample at each size, and the loop at each shape.
pub fn run(ctx: &Context, quick: bool) -> Result<BenchReport> {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
    let gt = GpuTables::new(ctx, &tables)?;
    let opts = ModelOptions::default();
    let sizes: &[usize] = if quick {
        &[1 << 20]
    } else {
        &[1 << 20, 1 << 22, 1 << 24]
    };
    let mut kernels = Vec::new();
    for &n in sizes {
        let batch = 4;
        let shape = [batch, n / batch];
        let mut g = Gen::new(n as u64);
        let a = GpuTensor::from_slice(ctx, &shape, &g.vec(n, Gen::normal))?;
        let b = GpuTensor::from_slice(ctx, &shape, &g.vec(n, Gen::normal))?;
        let c = GpuTensor::from_slice(ctx, &shape, &g.vec(n, Gen::normal))?;
        let dst = GpuTensor::zeros(ctx, &shape)?;
        let steps = GpuSteps::new(ctx, &gt, &[0, 333, 666, 999])?;
        let reps = ((1usize << 26) / n).clamp(3, 30);
        let copy = time_reps(ctx, reps, |e| {
            gpu::bandwidth_copy::bandwidth_copy(ctx, e, &a, &dst)
        })?;
        let q = time_reps(ctx, reps, |e| {
            gpu::q_sample(ctx, e, &gt, &steps, &a, &b).map(|_| ())
        })?;
        let model = GpuModelOut {
            output: &b,
            var: None,
        };
        let p = time_reps(ctx, reps, |e| {
            gpu::p_sample(ctx, e, &gt, &opts, &steps, &a, model, &c).map(|_| ())
        })?;
        let copy_gbs = 8.0 * n as f64 / copy / 1e9;
        for (kernel, seconds, bytes_per) in [
            ("bandwidth_copy", copy, 8.0),
            ("q_sample", q, 12.0),
            ("p_sample", p, 20.0),
        ] {
            let bytes = bytes_per * n as f64;
            let gb_per_s = bytes / seconds / 1e9;
            kernels.push(KernelRow {
                kernel,
                elements: n,
                seconds,
                bytes,
                gb_per_s,
                copy_ratio: gb_per_s / copy_gbs,
            });
        }
    }
    let mut loops = Vec::new();
    let batches: &[usize] = if quick { &[1, 16] } else { &[1, 16, 128] };
    let big_t = if quick { 100 } else { 1000 };
    let loop_tables = GpuTables::new(
        ctx,
        &Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, big_t)?,
    )?;
    for &batch in batches {
        let shape = [batch, 3, 32, 32];
        let d = 3 * 32 * 32;
        let points = Gen::new(7).vec(16 * d, |g| g.range(-1.0, 1.0));
        let mut den = MixtureDenoiser::new(ctx, &points, &[16, d], 0.1, opts)?;
        let so = gpu::SampleOptions {
            model: opts,
            seed: 1,
            steps_per_submit: big_t,
            ..Default::default()
        };
        let start = Instant::now();
        gpu::p_sample_loop(ctx, &loop_tables, &mut den, &shape, &so, &mut |_, _| {})?;
        loops.push(LoopRow {
            shape: shape.to_vec(),
            steps: big_t,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    Ok(BenchReport {
        adapter: gpu::context::describe(ctx.adapter_info()),
        kernels,
        loops,
    })
}

impl BenchReport {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut s = format!("adapter: {}\n", self.adapter);
        let _ = writeln!(
            s,
            "{:<16} {:>10} {:>12} {:>12} {:>9} {:>10}",
            "kernel", "elements", "time (us)", "Melem/s", "GB/s", "vs copy"
        );
        for k in &self.kernels {
            let _ = writeln!(
                s,
                "{:<16} {:>10} {:>12.1} {:>12.1} {:>9.2} {:>10.2}",
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
            "{:<22} {:>6} {:>10} {:>10} {:>12}",
            "loop (mixture, M=16)", "T", "seconds", "steps/s", "samples/s"
        );
        for l in &self.loops {
            let _ = writeln!(
                s,
                "{:<22} {:>6} {:>10.3} {:>10.1} {:>12.2}",
                format!("{:?}", l.shape),
                l.steps,
                l.seconds,
                l.steps as f64 / l.seconds,
                l.shape[0] as f64 / l.seconds
            );
        }
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
                    "{{\"shape\":{:?},\"steps\":{},\"seconds\":{:.6},\"steps_per_s\":{:.3},\"samples_per_s\":{:.4}}}",
                    l.shape,
                    l.steps,
                    l.seconds,
                    l.steps as f64 / l.seconds,
                    l.shape[0] as f64 / l.seconds
                )
            })
            .collect();
        format!(
            "{{\"adapter\":{:?},\"kernels\":[{}],\"loops\":[{}]}}\n",
            self.adapter,
            kernels.join(","),
            loops.join(",")
        )
    }
}
