//! Timing one conv stage on the device for the tuner: a compute pass of `reps` dispatches,
//! timed by the pass's own timestamps where the device has `TIMESTAMP_QUERY` (the GPU's time
//! only), else by the wall clock from submission to completion (which adds the submission's
//! cost, about 0.1 ms on lavapipe, to every variant alike).

use super::Source;
use crate::error::Result;
use crate::gpu::nn::Stage;
use crate::gpu::runtime::launch::Grid;
use crate::gpu::Context;
use std::time::Instant;

/// One variant's time on one shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VariantTime {
    /// The kernel's name (`conv2d`, `conv2d_tiled_large`, ...).
    pub variant: String,
    /// Seconds per dispatch (the best trial), if it was timed to the end.
    pub seconds: Option<f64>,
    /// FLOP/s of that time, in GFLOP/s.
    pub gflops: Option<f64>,
    /// Why it was not timed to the end, if it was not.
    pub note: Option<String>,
}

/// What the tuner did for one conv shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TuneRow {
    /// The shape, for people (`3x3/1 64->128 16x16`).
    pub shape: String,
    /// The cache's key of the shape.
    pub key: String,
    /// Samples each variant was timed at.
    pub samples: usize,
    /// What timed them: `timestamps` (the pass's, on the device) or `wall clock`.
    pub clock: &'static str,
    /// Every variant tried, in the order tried (the rule's choice first).
    pub variants: Vec<VariantTime>,
    /// The variant chosen.
    pub choice: String,
    /// Where the choice came from.
    pub source: Source,
}

/// Times stages: with the pass's timestamps where the device has them.
pub(crate) struct Timer {
    query: Option<(wgpu::QuerySet, wgpu::Buffer)>,
    period_ns: f64,
}

impl Timer {
    /// A timer for `ctx`'s device: timestamps where the device enabled `TIMESTAMP_QUERY`.
    pub fn new(ctx: &Context) -> Result<Self> {
        let query = if ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            let set = ctx.checked(|| {
                ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("tuner timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2,
                })
            })?;
            let resolve = ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some("tuner timestamps resolved"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })?;
            Some((set, resolve))
        } else {
            None
        };
        Ok(Timer {
            query,
            period_ns: f64::from(ctx.queue.get_timestamp_period()),
        })
    }

    /// What times the stages, as [`TuneRow::clock`] names it.
    pub fn clock(&self) -> &'static str {
        if self.query.is_some() {
            "timestamps"
        } else {
            "wall clock"
        }
    }

    /// Seconds per dispatch of `stage` run `reps` times in one pass.
    pub fn time(&self, ctx: &Context, stage: &Stage, reps: usize) -> Result<f64> {
        let reps = reps.max(1);
        let mut encoder = ctx.encoder();
        {
            let writes = self
                .query
                .as_ref()
                .map(|(set, _)| wgpu::ComputePassTimestampWrites {
                    query_set: set,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("tuner"),
                timestamp_writes: writes,
            });
            let Grid(x, y, z) = stage.grid;
            pass.set_pipeline(&stage.pipeline);
            pass.set_bind_group(0, &stage.group, &[]);
            for _ in 0..reps {
                pass.dispatch_workgroups(x, y, z);
            }
        }
        if let Some((set, resolve)) = &self.query {
            encoder.resolve_query_set(set, 0..2, resolve, 0);
        }
        let start = Instant::now();
        ctx.submit(encoder)?;
        ctx.wait()?;
        let wall = start.elapsed().as_secs_f64();
        let gpu = match &self.query {
            Some((_, resolve)) => {
                let t = crate::gpu::runtime::tensor::read_buffer_as::<u64>(ctx, resolve, 2)?;
                match (t.first(), t.get(1)) {
                    (Some(&a), Some(&b)) if b > a => Some((b - a) as f64 * self.period_ns * 1e-9),
                    _ => None,
                }
            }
            None => None,
        };
        // A device whose timestamps read nothing (zeros, or out of order) falls back to the
        // wall clock for that run.
        Ok(gpu.unwrap_or(wall) / reps as f64)
    }
}

/// A variant's row from its time (seconds per dispatch) and the stage's FLOPs.
pub(crate) fn timed(variant: &str, seconds: f64, flops: u64) -> VariantTime {
    VariantTime {
        variant: variant.to_string(),
        seconds: Some(seconds),
        gflops: (seconds > 0.0).then(|| flops as f64 / seconds * 1e-9),
        note: None,
    }
}

/// A variant's row where it was not timed to the end.
pub(crate) fn untimed(variant: &str, note: String) -> VariantTime {
    VariantTime {
        variant: variant.to_string(),
        seconds: None,
        gflops: None,
        note: Some(note),
    }
}
