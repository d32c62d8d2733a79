//! `ddpm soak`: many small sampling loops, then many op calls, in one process, watching memory.
//!
//! Phase "loops": `loops` runs of `gpu::p_sample_loop` over [2, 3, 8, 8] with T = 20 and a
//! fresh mixture denoiser each (four points), so every per-run allocation is made and dropped
//! again. Phase "ops": `ops` calls of `ops::run` on the GPU, cycling q-sample, p-sample and
//! vb-terms-bpd on [2, 3, 8, 8] inputs (each call uploads its tables and inputs and reads its
//! outputs back). Every `every` iterations of a phase it records the resident memory (the
//! second field of /proc/self/statm times the page size) and [`Context::memory`]: the buffers
//! and bytes the library created, and what wgpu counts as alive.
//!
//! The slope of each phase is a least-squares line through its samples, in bytes per 1000
//! iterations, over the samples after the first tenth of the phase: the first runs compile
//! pipelines and fill the allocator's pools, which is growth but not a leak.

use ddpm_wgpu::check::Gen;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::{self, Context, DeviceMemory, GpuTables, MixtureDenoiser, SampleOptions};
use ddpm_wgpu::ops::{self, Backend, Op, OpSettings};
use ddpm_wgpu::{LossType, ModelOptions, ScheduleKind, Tables};
use std::time::Instant;

/// The shape of every sample and op input.
pub const SHAPE: [usize; 4] = [2, 3, 8, 8];
/// T of the sampling loops and the ops.
pub const TIMESTEPS: usize = 20;

/// How much to run.
#[derive(Clone, Copy, Debug)]
pub struct SoakPlan {
    /// Sampling loops.
    pub loops: usize,
    /// Op calls.
    pub ops: usize,
    /// A sample every this many iterations of a phase (0: about 50 per phase).
    pub every: usize,
}

/// One reading.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// Iterations of the phase done.
    pub iteration: usize,
    /// Resident set size, bytes.
    pub rss: u64,
    /// The context's memory counts at that point.
    pub device: DeviceMemory,
}

/// One phase's readings and fitted slopes.
#[derive(Clone, Debug)]
pub struct Phase {
    /// "loops" or "ops".
    pub name: &'static str,
    /// Iterations run.
    pub iterations: usize,
    /// Wall time of the phase, seconds.
    pub seconds: f64,
    /// Readings, the first at iteration 0 (before any work).
    pub readings: Vec<Reading>,
    /// Resident memory, bytes per 1000 iterations (None: too few readings to fit).
    pub rss_slope: Option<f64>,
    /// wgpu's live buffers, per 1000 iterations.
    pub live_buffers_slope: Option<f64>,
    /// wgpu's live buffer bytes, per 1000 iterations (None also where wgpu does not count them).
    pub live_bytes_slope: Option<f64>,
    /// Bytes the library created per iteration (a rate of allocation, not a leak).
    pub created_bytes_per_iteration: f64,
}

/// Least-squares slope of y over x, per 1000 x; None for fewer than three points or no spread.
pub fn slope_per_1000(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    (sxx > 0.0).then(|| 1000.0 * sxy / sxx)
}

/// Resident bytes of this process: /proc/self/statm's resident pages times the page size (from
/// the kernel's auxiliary vector, AT_PAGESZ).
pub fn resident_bytes() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/self/statm")
        .map_err(|e| Error::io("/proc/self/statm", e))?;
    let pages: u64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| Error::Unsupported(format!("/proc/self/statm reads '{text}'")))?;
    Ok(pages * page_size()?)
}

fn page_size() -> Result<u64> {
    const AT_PAGESZ: u64 = 6;
    let auxv = std::fs::read("/proc/self/auxv").map_err(|e| Error::io("/proc/self/auxv", e))?;
    auxv.chunks_exact(16)
        .map(|c| {
            let (kind, value) = c.split_at(8);
            let word = |b: &[u8]| b.try_into().map(u64::from_ne_bytes).unwrap_or(0);
            (word(kind), word(value))
        })
        .find(|&(kind, _)| kind == AT_PAGESZ)
        .map(|(_, size)| size)
        .ok_or_else(|| Error::Unsupported("no AT_PAGESZ in /proc/self/auxv".into()))
}

/// Run `plan` on `ctx`. `extra` runs once per iteration of both phases after the real work (a
/// test injects a leak through it to show the slope catches one); `progress` gets each reading.
pub fn run(
    ctx: &Context,
    plan: &SoakPlan,
    extra: &mut dyn FnMut(&Context) -> Result<()>,
    progress: &mut dyn FnMut(&'static str, &Reading),
) -> Result<Vec<Phase>> {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, TIMESTEPS)?;
    let gpu_tables = GpuTables::new(ctx, &tables)?;
    let model = ModelOptions::default();
    let point_len: usize = SHAPE[1..].iter().product();
    let points = Gen::new(7).vec(4 * point_len, |g| g.range(-1.0, 1.0));
    let mut point_shape = vec![4];
    point_shape.extend_from_slice(&SHAPE[1..]);
    let opts = SampleOptions::default();
    let mut one_loop = |i: usize| -> Result<()> {
        let mut den = MixtureDenoiser::new(ctx, &points, &point_shape, 0.1, model)?;
        let seeded = SampleOptions {
            seed: i as u64,
            ..opts
        };
        let s = gpu::p_sample_loop(ctx, &gpu_tables, &mut den, &SHAPE, &seeded, &mut |_, _| {})?;
        finite("the sampling loop", &s.x0)
    };
    let loops = phase(
        "loops",
        ctx,
        plan.loops,
        plan.every,
        &mut one_loop,
        extra,
        progress,
    )?;

    let kinds = [Op::QSample, Op::PSample, Op::VbTermsBpd];
    let settings = OpSettings::new(tables, model, LossType::Mse);
    let inputs: Vec<_> = kinds
        .iter()
        .map(|&op| {
            let mut g = Gen::new(op as u64);
            let mut m = ddpm_wgpu::check::inputs(&mut g, op, &model, &settings.tables, &SHAPE);
            let t = ddpm_wgpu::npy::NpyArray {
                shape: vec![SHAPE[0]],
                data: ddpm_wgpu::npy::NpyData::I32(vec![0, TIMESTEPS as i32 - 1]),
            };
            m.insert("t".into(), t);
            (op, m)
        })
        .collect();
    let mut one_op = |i: usize| -> Result<()> {
        let (op, given) = &inputs[i % inputs.len()];
        for out in ops::run(*op, &settings, given, Backend::Gpu(ctx))? {
            if out.data.iter().any(|v| !v.is_finite()) {
                return Err(Error::Gpu(format!(
                    "soak: {} gave a non-finite value",
                    out.name
                )));
            }
        }
        Ok(())
    };
    let ops = phase(
        "ops",
        ctx,
        plan.ops,
        plan.every,
        &mut one_op,
        extra,
        progress,
    )?;
    Ok(vec![loops, ops])
}

fn finite(what: &str, v: &[f32]) -> Result<()> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(Error::Gpu(format!(
            "soak: {what} gave a non-finite value at {i}"
        ))),
        None => Ok(()),
    }
}

fn phase(
    name: &'static str,
    ctx: &Context,
    iterations: usize,
    every: usize,
    work: &mut dyn FnMut(usize) -> Result<()>,
    extra: &mut dyn FnMut(&Context) -> Result<()>,
    progress: &mut dyn FnMut(&'static str, &Reading),
) -> Result<Phase> {
    let every = if every == 0 {
        iterations.div_ceil(50).max(1)
    } else {
        every
    };
    let read = |iteration| -> Result<Reading> {
        Ok(Reading {
            iteration,
            rss: resident_bytes()?,
            device: ctx.memory(),
        })
    };
    let start = Instant::now();
    let first = read(0)?;
    progress(name, &first);
    let mut readings = vec![first];
    for i in 0..iterations {
        work(i)?;
        extra(ctx)?;
        if (i + 1) % every == 0 || i + 1 == iterations {
            let r = read(i + 1)?;
            progress(name, &r);
            readings.push(r);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // Past the warm-up: readings after the first tenth of the phase.
    let settled: Vec<&Reading> = readings
        .iter()
        .filter(|r| r.iteration * 10 >= iterations)
        .collect();
    let fit = |y: &dyn Fn(&Reading) -> Option<u64>| {
        let points: Option<Vec<(f64, f64)>> = settled
            .iter()
            .map(|r| y(r).map(|v| (r.iteration as f64, v as f64)))
            .collect();
        points.and_then(|p| slope_per_1000(&p))
    };
    let created = |r: Option<&Reading>| r.map_or(0, |r| r.device.bytes_created);
    let bytes_created = created(readings.last()).saturating_sub(created(readings.first()));
    Ok(Phase {
        name,
        iterations,
        seconds,
        rss_slope: fit(&|r| Some(r.rss)),
        live_buffers_slope: fit(&|r| Some(r.device.live_buffers)),
        live_bytes_slope: fit(&|r| r.device.live_buffer_bytes),
        created_bytes_per_iteration: bytes_created as f64 / iterations.max(1) as f64,
        readings,
    })
}

/// The phases as a table: one row per phase.
pub fn table(phases: &[Phase]) -> String {
    let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0}"));
    let mut s = String::from(
        "phase  iterations  seconds  rss_start_MiB  rss_end_MiB  rss_B_per_1000  \
         live_buffers_per_1000  live_B_per_1000  created_B_per_iteration\n",
    );
    for p in phases {
        let mib = |r: Option<&Reading>| r.map_or(0.0, |r| r.rss as f64 / (1 << 20) as f64);
        s += &format!(
            "{:<6} {:>10} {:>8.1} {:>14.1} {:>12.1} {:>15} {:>22} {:>16} {:>24.0}\n",
            p.name,
            p.iterations,
            p.seconds,
            mib(p.readings.first()),
            mib(p.readings.last()),
            opt(p.rss_slope),
            opt(p.live_buffers_slope),
            opt(p.live_bytes_slope),
            p.created_bytes_per_iteration
        );
    }
    s
}

/// The phases as JSON (every reading included).
pub fn json(phases: &[Phase]) -> String {
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.1}"));
    let optu = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
    let body: Vec<String> = phases
        .iter()
        .map(|p| {
            let readings: Vec<String> = p
                .readings
                .iter()
                .map(|r| {
                    format!(
                        "{{\"iteration\": {}, \"rss\": {}, \"buffers_created\": {}, \
                         \"bytes_created\": {}, \"live_buffers\": {}, \"live_buffer_bytes\": {}}}",
                        r.iteration,
                        r.rss,
                        r.device.buffers_created,
                        r.device.bytes_created,
                        r.device.live_buffers,
                        optu(r.device.live_buffer_bytes)
                    )
                })
                .collect();
            format!(
                "{{\"phase\": \"{}\", \"iterations\": {}, \"seconds\": {:.3}, \
                 \"rss_slope_per_1000\": {}, \"live_buffers_slope_per_1000\": {}, \
                 \"live_bytes_slope_per_1000\": {}, \"created_bytes_per_iteration\": {:.1}, \
                 \"readings\": [{}]}}",
                p.name,
                p.iterations,
                p.seconds,
                opt(p.rss_slope),
                opt(p.live_buffers_slope),
                opt(p.live_bytes_slope),
                p.created_bytes_per_iteration,
                readings.join(", ")
            )
        })
        .collect();
    format!(
        "{{\"shape\": {:?}, \"timesteps\": {TIMESTEPS}, \"phases\": [{}]}}\n",
        SHAPE,
        body.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_is_least_squares_per_1000() {
        let line: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64 * 100.0, 5.0 + 2.0 * i as f64))
            .collect();
        assert!((slope_per_1000(&line).unwrap() - 20.0).abs() < 1e-9);
        // Noise around a flat line fits flat.
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, [1.0, -1.0][i % 2])).collect();
        assert!(slope_per_1000(&flat).unwrap().abs() < 200.0);
        assert_eq!(slope_per_1000(&line[..2]), None);
        assert_eq!(slope_per_1000(&[(1.0, 1.0); 5]), None);
        assert!(resident_bytes().unwrap() > 1 << 20);
    }
}
