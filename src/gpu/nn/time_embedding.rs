//! The time embedding on the device (CPU twin: src/cpu/nn/time_embedding.rs): the sinusoid of
//! every training timestep 0..T-1 computed in f64 on the host once (its argument rounded in f32
//! as diffusers forms it) and uploaded as a [T, width] table; linear_1 gathers each sample's row
//! by the loop's timesteps buffer on the device, then SiLU, linear_2 (plus, for a
//! class-conditional model, each sample's class row in the same dispatch:
//! src/gpu/nn/class_embedding.rs), and SiLU again (the only consumers are the resnets' projections of silu(temb));
//! then every resnet's `time_emb_proj` as one stacked linear, whose output each resnet reads at
//! its own columns.

use super::class_embedding::GpuClassEmbedding;
use super::graph::{Graph, Home};
use super::linear::{GpuLinear, LinearOp};
use super::upload_as;
use crate::cpu::nn::time_embedding::sinusoid;
use crate::error::{Error, Result};
use crate::gpu::runtime::Precision;
use crate::gpu::Context;
use crate::nn::{ClassEmbedding, Linear, TimeEmbedding};

/// The time MLP and the stacked projections on the device.
#[derive(Debug)]
pub struct GpuTimeEmbedding {
    proj: crate::nn::Timesteps,
    table: wgpu::Buffer,
    num_timesteps: usize,
    linear_1: GpuLinear,
    linear_2: GpuLinear,
    projections: GpuLinear,
    /// A class-conditional model's class embedding.
    class: Option<GpuClassEmbedding>,
    /// How the table, the weights and the rows are stored.
    precision: Precision,
}

impl GpuTimeEmbedding {
    /// Upload the table for timesteps 0..num_timesteps, the MLP, the class embedding if any, and
    /// `projections` (every resnet's time_emb_proj, in the order their columns were handed
    /// out).
    pub fn new(
        ctx: &Context,
        (te, class): (&TimeEmbedding, Option<&ClassEmbedding>),
        num_timesteps: usize,
        projections: &[&Linear],
        precision: Precision,
    ) -> Result<Self> {
        let t = u32::try_from(num_timesteps)
            .ok()
            .filter(|&t| t > 0)
            .ok_or_else(|| {
                Error::InvalidSchedule(format!(
                    "the time embedding needs 1 to 2^32 - 1 training timesteps, got {num_timesteps}"
                ))
            })?;
        let all: Vec<u32> = (0..t).collect();
        let table: Vec<f32> = sinusoid(&te.time_proj, &all)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let all_proj = "time_emb_proj (all resnets)";
        let (projections, _) = GpuLinear::stacked(ctx, projections, all_proj, precision)?;
        let linear = |l: &Linear, name: &str| GpuLinear::stored_as(ctx, l, name, precision);
        Ok(GpuTimeEmbedding {
            proj: te.time_proj.clone(),
            table: upload_as(ctx, "time embedding sinusoid table", &table, precision)?,
            num_timesteps,
            linear_1: linear(&te.linear_1, "time_embedding.linear_1")?,
            linear_2: linear(&te.linear_2, "time_embedding.linear_2")?,
            projections,
            class: class
                .map(|c| GpuClassEmbedding::new(ctx, c, precision))
                .transpose()?,
            precision,
        })
    }

    /// The [T, width] sinusoid table.
    pub(crate) fn table(&self) -> &wgpu::Buffer {
        &self.table
    }

    /// A [len, width] sinusoid table of `times`, float32 timesteps that need not be integers
    /// (a sampler's [`model_times`](crate::sampler::Sampler::model_times)), rounded as diffusers
    /// forms them: the loop's timesteps then index it.
    pub(crate) fn table_at(&self, ctx: &Context, times: &[f64]) -> Result<wgpu::Buffer> {
        let t: Vec<f32> = times.iter().map(|&v| v as f32).collect();
        let table: Vec<f32> = crate::cpu::nn::time_embedding::sinusoid_at(&self.proj, &t)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let what = "time embedding sinusoid at the loop's times";
        upload_as(ctx, what, &table, self.precision)
    }

    /// T of the table.
    pub fn num_timesteps(&self) -> usize {
        self.num_timesteps
    }

    /// A class-conditional model's class embedding.
    pub(crate) fn class(&self) -> Option<&GpuClassEmbedding> {
        self.class.as_ref()
    }

    /// Bytes of the table and the weights on the device.
    pub fn device_bytes(&self) -> u64 {
        self.table.size()
            + self
                .class
                .as_ref()
                .map_or(0, GpuClassEmbedding::device_bytes)
            + self.linear_1.device_bytes()
            + self.linear_2.device_bytes()
            + self.projections.device_bytes()
    }

    /// Append the MLP and the projections; sets the graph's time projections.
    pub(crate) fn emit<'m>(&'m self, g: &mut Graph<'m>) {
        let t1 = g.tensor(
            "temb linear_1",
            self.linear_1.out_features(),
            Home::Internal,
        );
        g.push(LinearOp {
            lin: &self.linear_1,
            input: None,
            output: t1,
            class: false,
            silu: true,
        });
        let t2 = g.tensor("silu(temb)", self.linear_2.out_features(), Home::Internal);
        g.push(LinearOp {
            lin: &self.linear_2,
            input: Some(t1),
            output: t2,
            class: self.class.is_some(),
            silu: true,
        });
        let p = g.tensor(
            "time projections",
            self.projections.out_features(),
            Home::Internal,
        );
        g.push(LinearOp {
            lin: &self.projections,
            input: Some(t2),
            output: p,
            class: false,
            silu: false,
        });
        g.temb = Some(p);
    }
}
