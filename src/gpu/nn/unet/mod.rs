//! [`UNetDenoiser`]: diffusers' `UNet2DModel` as a [`Denoiser`] of the sampling loop (CPU twin:
//! `cpu::nn::UNetCpu`), and its single forward ([`UNetDenoiser::forward`]).

mod classes;
mod forward;
mod guided;
mod options;

pub use options::UNetOptions;

use super::blocks::UNetLayers;
use super::conv2d_tiled::ConvSelection;
use super::plan::{self, Externals, Plan};
use super::tune::Tuner;
use super::walk::{graph, Output};
use super::{record_stages, upload};
use crate::error::{Error, Result};
use crate::gpu::nn::class_embedding::DeviceClasses;
use crate::gpu::sampling::denoiser::{Denoiser, DenoiserIo};
use crate::gpu::Context;
use crate::nn::{ClassLabels, UNet2D};

/// A UNet2DModel on the device. Weights are uploaded once by [`UNetDenoiser::new`]; each
/// [`Denoiser::prepare`] plans the activations of its chunk (buffers reused once dead, skips
/// written into the concatenations that read them) and makes every bind group; each
/// [`Denoiser::record`] records the dispatches only. A chunk whose activations do not fit one
/// storage binding runs as consecutive sub-batches (their bind groups made in `prepare`).
///
/// x_t must be [B, in_channels, H, W] with H and W multiples of 2^(downsamplers).
/// out_channels == in_channels writes model_output; 2 x in_channels (learned variance) writes
/// the first half to model_output and the second to model_var when the sampler reads one.
#[derive(Debug)]
pub struct UNetDenoiser {
    layers: UNetLayers,
    in_channels: usize,
    out_channels: usize,
    center: bool,
    /// 2^(downsamplers): H and W must be multiples of it.
    factor: usize,
    max_sub_batch: Option<usize>,
    dummy: wgpu::Buffer,
    prepared: Option<Plan>,
    /// The sinusoid table of the loop's non-integer model times (`DenoiserIo::times`), made by
    /// `prepare`.
    times_table: Option<wgpu::Buffer>,
    /// A class-conditional model's labels ([`UNetDenoiser::set_classes`]) on the device.
    class_inputs: Option<DeviceClasses>,
    /// Whether labels were set since the last `prepare`, which takes them.
    labels_fresh: bool,
    /// The integer labels last set, on the host (empty after an identity model's rows).
    labels_host: Vec<u32>,
    /// Classifier-free guidance ([`UNetDenoiser::set_guidance`]) and the null class.
    guidance: Option<(crate::nn::Guidance, u32)>,
    /// The prepared guided run's buffers, if guided.
    guided: Option<guided::GuidedRun>,
    /// The null class for every sample, at guidance scale 0.
    null_labels: Option<DeviceClasses>,
    /// Which kernel each conv shape runs (`UNetOptions::tune`, `UNetOptions::conv`).
    tuner: Tuner,
}

impl UNetDenoiser {
    /// Upload `model` for a schedule of `num_train_timesteps` training steps (the rows of the
    /// time embedding's sinusoid table: every timestep the loop can pass), with the options
    /// of [`UNetOptions::from_env`]: the defaults unless `DDPM_KERNEL` forces a conv kernel
    /// (so that any test or command can run with a variant forced).
    pub fn new(ctx: &Context, model: &UNet2D, num_train_timesteps: usize) -> Result<Self> {
        Self::with_options(ctx, model, num_train_timesteps, UNetOptions::from_env()?)
    }

    /// [`UNetDenoiser::new`] with `opts` (the environment not read).
    pub fn with_options(
        ctx: &Context,
        model: &UNet2D,
        num_train_timesteps: usize,
        opts: UNetOptions,
    ) -> Result<Self> {
        opts.precision.check(ctx)?;
        let (cin, cout) = (model.config.in_channels, model.config.out_channels);
        if cout != cin && cout != 2 * cin {
            return Err(Error::UnsupportedModel(format!(
                "{cout} output channels for {cin} input channels: a denoiser needs {cin} or {}",
                2 * cin
            )));
        }
        let factor = model.size_factor().ok_or_else(|| {
            Error::UnsupportedModel(format!(
                "{} levels of downsamplers",
                model.down_blocks.len()
            ))
        })?;
        Ok(UNetDenoiser {
            layers: UNetLayers::new(
                ctx,
                model,
                num_train_timesteps,
                ConvSelection {
                    winograd: opts.winograd,
                    kernel: opts.conv.unwrap_or_default(),
                    attention: opts.attention,
                    precision: opts.precision,
                },
            )?,
            in_channels: cin,
            out_channels: cout,
            center: model.config.center_input_sample,
            factor,
            max_sub_batch: None,
            dummy: upload(ctx, "UNet unused binding", &[0.0; 4])?,
            prepared: None,
            times_table: None,
            class_inputs: None,
            labels_fresh: false,
            labels_host: Vec::new(),
            guidance: None,
            guided: None,
            null_labels: None,
            tuner: Tuner::new(opts.tune, opts.conv),
        })
    }

    /// Run at most `n` samples per sub-batch (`None`: as many as one storage binding holds
    /// per activation). Sub-batches give the same bits as one batch; this exists to test that
    /// and to bound memory. Takes effect at the next `prepare`.
    pub fn set_max_sub_batch(&mut self, n: Option<usize>) {
        self.max_sub_batch = n.map(|n| n.max(1));
    }

    /// Samples per sub-batch of the last `prepare` (0 before one).
    pub fn sub_batch(&self) -> usize {
        self.prepared.as_ref().map_or(0, |p| p.sub_batch)
    }

    /// How its weights and activations are stored (`UNetOptions::precision`).
    pub fn precision(&self) -> crate::gpu::runtime::Precision {
        self.layers.precision
    }

    /// Bytes of the weights, biases and the sinusoid table on the device.
    pub fn weight_bytes(&self) -> u64 {
        self.layers.device_bytes() + self.dummy.size()
    }

    /// Check x's shape [B, in_channels, H, W] and return (B, H, W).
    fn check_shape(&self, shape: &[usize]) -> Result<(usize, usize, usize)> {
        let [b, c, h, w] = <[usize; 4]>::try_from(shape).map_err(|_| {
            Error::ShapeMismatch(format!(
                "the UNet takes x of shape [B, {}, H, W], got {shape:?}",
                self.in_channels
            ))
        })?;
        if b == 0 || c != self.in_channels {
            return Err(Error::ShapeMismatch(format!(
                "the UNet takes x of shape [B, {}, H, W], got {shape:?}",
                self.in_channels
            )));
        }
        let f = self.factor;
        if h == 0 || w == 0 || !h.is_multiple_of(f) || !w.is_multiple_of(f) {
            return Err(Error::ShapeMismatch(format!(
                "sample size {h}x{w} is not a non-zero multiple of {f} (the model's downsamplers)"
            )));
        }
        Ok((b, h, w))
    }

    fn plan(
        &self,
        ctx: &Context,
        (b, h, w): (usize, usize, usize),
        output: Output,
        ext: &Externals<'_>,
    ) -> Result<Plan> {
        let g = graph(&self.layers, (self.in_channels, h, w), self.center, output)?;
        let sub = plan::sub_batch(ctx, &g, self.max_sub_batch.unwrap_or(b).min(b))?;
        let choices = self.tuner.choose(ctx, &g, sub, ext)?;
        let ext = Externals {
            choices: Some(&choices),
            ..*ext
        };
        plan::build(ctx, &g, (b, sub), &ext, &[])
    }
}

impl Denoiser for UNetDenoiser {
    fn prepare(&mut self, ctx: &Context, io: &DenoiserIo<'_>) -> Result<()> {
        self.prepared = None;
        let (b, h, w) = self.check_shape(io.x_t.shape())?;
        if io.model_output.shape() != io.x_t.shape() {
            return Err(Error::ShapeMismatch(format!(
                "model_output has shape {:?} but x_t {:?}",
                io.model_output.shape(),
                io.x_t.shape()
            )));
        }
        let learned = self.out_channels == 2 * self.in_channels;
        if io.model_var.is_some() && !learned {
            return Err(Error::Unsupported(format!(
                "the sampler reads a learned variance but the model has {} output channels for {} \
                 input channels (learned variance needs {})",
                self.out_channels,
                self.in_channels,
                2 * self.in_channels
            )));
        }
        let big_t = self.layers.time_embedding.num_timesteps();
        if io.tables.num_timesteps() > big_t {
            return Err(Error::Unsupported(format!(
                "the sampler's schedule has {} training timesteps but the UNet's time table {big_t}",
                io.tables.num_timesteps()
            )));
        }
        let output = if learned {
            Output::Split {
                in_channels: self.in_channels,
                var: io.model_var.is_some(),
            }
        } else {
            Output::Whole
        };
        // Non-integer model times: the loop's timesteps index a table of their sinusoids.
        self.times_table = io
            .times
            .map(|times| self.layers.time_embedding.table_at(ctx, times))
            .transpose()?;
        let (table, rows) = match (&self.times_table, io.times) {
            (Some(table), Some(times)) => (table, times.len()),
            _ => (self.layers.time_embedding.table(), big_t),
        };
        let fresh = self.class_inputs.as_ref().filter(|_| self.labels_fresh);
        if let Some(n) = fresh.map(DeviceClasses::count).filter(|&n| n != b) {
            return Err(Error::ShapeMismatch(format!(
                "{n} class labels set for a batch of {b}"
            )));
        }
        self.guided = None;
        let hw = h * w;
        let (plan, guided) = match self.pass() {
            classes::Pass::Guided(g, null) => {
                self.class_of(fresh, b)?;
                let dims = (b, self.in_channels * hw, self.out_channels * hw);
                let class = (self.class()?, self.labels_host.as_slice());
                let mut run = guided::GuidedRun::new(ctx, dims, class, null)?;
                let ext = Externals {
                    x_t: &run.x2,
                    model_output: &run.out2,
                    model_var: None,
                    timesteps: &run.t2,
                    table,
                    num_timesteps: rows,
                    class: self.class_of(Some(&run.classes2), 2 * b)?,
                    dummy: &self.dummy,
                    choices: None,
                };
                let plan = self.plan(ctx, (2 * b, h, w), Output::Whole, &ext)?;
                let var_len = (self.out_channels - self.in_channels) * hw;
                let outs = (io.model_output.buffer(), io.model_var.map(|v| v.buffer()));
                run.combine_into(ctx, g, (self.in_channels * hw, var_len), outs)?;
                (plan, Some(run))
            }
            pass => {
                if let classes::Pass::Null(null) = pass {
                    let nulls = ClassLabels::Ids(&vec![null; b]);
                    self.null_labels = Some(DeviceClasses::new(ctx, self.class()?, nulls)?);
                }
                let labels = match pass {
                    classes::Pass::Null(_) => self.null_labels.as_ref(),
                    _ => fresh,
                };
                let ext = Externals {
                    x_t: io.x_t.buffer(),
                    model_output: io.model_output.buffer(),
                    model_var: io.model_var.map(|v| v.buffer()),
                    timesteps: io.timesteps,
                    table,
                    num_timesteps: rows,
                    class: self.class_of(labels, b)?,
                    dummy: &self.dummy,
                    choices: None,
                };
                (self.plan(ctx, (b, h, w), output, &ext)?, None)
            }
        };
        self.prepared = Some(plan);
        self.guided = guided;
        self.labels_fresh = false;
        Ok(())
    }

    fn record(
        &self,
        _ctx: &Context,
        encoder: &mut wgpu::CommandEncoder,
        io: &DenoiserIo<'_>,
    ) -> Result<()> {
        let plan = self
            .prepared
            .as_ref()
            .ok_or_else(|| Error::Unsupported("UNetDenoiser::record before prepare".into()))?;
        if let Some(run) = &self.guided {
            run.record_inputs(encoder, io.x_t.buffer(), io.timesteps);
        }
        for stages in &plan.stages {
            record_stages(encoder, stages);
        }
        if let Some(combine) = self.guided.as_ref().and_then(|r| r.combine()) {
            record_stages(encoder, std::slice::from_ref(combine));
        }
        Ok(())
    }

    fn takes_times(&self) -> bool {
        true
    }

    fn set_class_labels(&mut self, ctx: &Context, labels: &[u32]) -> Result<()> {
        UNetDenoiser::set_class_labels(self, ctx, labels)
    }

    fn device_bytes(&self) -> u64 {
        self.weight_bytes()
            + self.prepared.as_ref().map_or(0, Plan::device_bytes)
            + self.times_table.as_ref().map_or(0, wgpu::Buffer::size)
            + self
                .guided
                .as_ref()
                .map_or(0, guided::GuidedRun::device_bytes)
    }
}
