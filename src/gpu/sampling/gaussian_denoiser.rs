//! Host side of `shaders/gaussian_denoiser.wgsl` (and its vec4 twin, picked when the sample
//! length is a multiple of 4): the exact denoiser of N(0, S^2 I) data, one elementwise dispatch
//! per step. CPU twin: `crate::cpu::sampling::gaussian_denoiser`.
//!
//! Its work per step is one read of x_t and one write of model_output, so a sampling loop run
//! with it shows the scheduler's own cost; `ddpm bench` uses it for the loop overhead ratio. The
//! sampling loop fuses it into its step kernel where it can ([`Denoiser::fused`]), so there it
//! costs no pass of its own.

use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{bind_group, dispatch, uniform, vec4_or_scalar, Grid};
use crate::gpu::runtime::params::{mean_type_code, var_type_code, MixtureParams};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::sampling::denoiser::{Denoiser, DenoiserIo, FusedDenoiser};
use crate::gpu::{Context, GpuTensor};
use crate::options::ModelOptions;

/// The exact posterior-mean denoiser of N(0, S^2 I) data.
#[derive(Debug)]
pub struct GaussianDenoiser {
    data_var: f64,
    model: ModelOptions,
    prepared: Option<Prepared>,
}

#[derive(Debug)]
struct Prepared {
    kernel: Kernel,
    pipeline: wgpu::ComputePipeline,
    group: wgpu::BindGroup,
    groups: Grid,
    // Kept alive for the bind group, and counted by `device_bytes`.
    params: wgpu::Buffer,
    dummy_var: GpuTensor,
}

impl GaussianDenoiser {
    /// A denoiser for data with standard deviation `data_sigma` per element; `model` says what
    /// to write (its mean and variance type).
    pub fn new(data_sigma: f64, model: ModelOptions) -> Result<Self> {
        if !(data_sigma.is_finite() && data_sigma >= 0.0) {
            return Err(Error::Unsupported(format!(
                "data sigma must be finite and >= 0, got {data_sigma}"
            )));
        }
        Ok(GaussianDenoiser {
            data_var: data_sigma * data_sigma,
            model,
            prepared: None,
        })
    }

    /// Record one dispatch over `io` without a prepared bind group (tests and benches of the
    /// kernel alone; the sampling loop uses [`Denoiser::prepare`] once instead).
    pub fn record_once(
        &mut self,
        ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        io: &DenoiserIo<'_>,
    ) -> Result<()> {
        self.prepare(ctx, io)?;
        self.record(ctx, encoder, io)
    }
}

/// The Gaussian denoiser's uniform (`MixtureParams` with one point) for `batch` samples of
/// `sample_len` over T = `num_timesteps`; also bound by the fused step kernel.
pub(crate) fn gaussian_params(
    data_var: f64,
    model: &ModelOptions,
    batch: usize,
    sample_len: usize,
    num_timesteps: usize,
) -> MixtureParams {
    MixtureParams {
        batch: batch as u32,
        sample_len: sample_len as u32,
        num_points: 1,
        num_timesteps: num_timesteps as u32,
        mean_type: mean_type_code(model.mean_type),
        var_type: var_type_code(model.var_type),
        data_var: data_var as f32,
        _pad: 0,
    }
}

impl Denoiser for GaussianDenoiser {
    fn prepare(&mut self, ctx: &Context, io: &DenoiserIo<'_>) -> Result<()> {
        let batch = io.x_t.shape()[0];
        let n = io.x_t.len();
        if io.model_output.len() != n {
            return Err(Error::ShapeMismatch(format!(
                "model_output has shape {:?} but x_t has {:?}",
                io.model_output.shape(),
                io.x_t.shape()
            )));
        }
        let params = gaussian_params(
            self.data_var,
            &self.model,
            batch,
            n / batch,
            io.tables.num_timesteps(),
        );
        // Four floats: a vec4 binding needs 16 bytes even when it is never written.
        let dummy_var = GpuTensor::zeros(ctx, &[4])?;
        let model_var = io.model_var.unwrap_or(&dummy_var);
        // Four elements per invocation where each vec4 lies inside one sample; the same
        // arithmetic per element.
        let sample_len = n / batch;
        let (kernel, groups, constants) = vec4_or_scalar(
            ctx,
            (Kernel::GaussianDenoiserVec4, Kernel::GaussianDenoiser),
            batch as u32,
            sample_len as u32,
        );
        let pipeline = ctx.pipeline_with(kernel, constants)?;
        let (p, group) = ctx.checked(|| {
            let p = uniform(ctx, &params);
            let group = bind_group(
                ctx,
                kernel,
                &pipeline,
                &[
                    &p,
                    io.tables.buffer(),
                    io.timesteps,
                    io.x_t.buffer(),
                    io.model_output.buffer(),
                    model_var.buffer(),
                ],
            );
            (p, group)
        })?;
        self.prepared = Some(Prepared {
            pipeline,
            group,
            groups,
            kernel,
            params: p,
            dummy_var,
        });
        Ok(())
    }

    fn record(
        &self,
        _ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        _io: &DenoiserIo<'_>,
    ) -> Result<()> {
        let p = self
            .prepared
            .as_ref()
            .ok_or_else(|| Error::Unsupported("GaussianDenoiser::record before prepare".into()))?;
        dispatch(encoder, p.kernel, &p.pipeline, &p.group, p.groups);
        Ok(())
    }

    fn fused(&self) -> Option<FusedDenoiser> {
        Some(FusedDenoiser::Gaussian {
            data_var: self.data_var,
            model: self.model,
        })
    }

    fn device_bytes(&self) -> u64 {
        self.prepared
            .as_ref()
            .map_or(0, |p| p.params.size() + p.dummy_var.buffer().size())
    }
}
