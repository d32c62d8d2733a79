//! [`UNetDenoiser`]'s single forwards (`ddpm op unet`, tests) and its profile: each plans,
//! runs and reads back one forward outside the sampling loop.

use super::UNetDenoiser;
use crate::error::{Error, Result};
use crate::gpu::nn::class_embedding::DeviceClasses;
use crate::gpu::nn::plan::Externals;
use crate::gpu::nn::tune::{TuneRow, Tuner};
use crate::gpu::nn::walk::Output;
use crate::gpu::nn::{profile, record_stages, upload, StageTime};
use crate::gpu::Context;
use crate::nn::{ClassKind, ClassLabels};

impl UNetDenoiser {
    /// One forward of x ([B, in_channels, H, W], C order) at per-sample training timesteps `t`
    /// (each below the T given to [`UNetDenoiser::new`]): uploads, runs, reads back the whole
    /// output [B, out_channels, H, W]. For single forwards (`ddpm op unet`) and tests; the
    /// sampling loop uses the [`Denoiser`](crate::gpu::Denoiser) side.
    pub fn forward(
        &self,
        ctx: &Context,
        x: &[f32],
        shape: &[usize],
        t: &[u32],
    ) -> Result<Vec<f32>> {
        self.forward_labeled(ctx, x, shape, t, None)
    }

    /// [`UNetDenoiser::forward`] with a class-conditional model's integer labels, one per
    /// sample (a table's or the timestep kind's).
    pub fn forward_labeled(
        &self,
        ctx: &Context,
        x: &[f32],
        shape: &[usize],
        t: &[u32],
        labels: Option<&[u32]>,
    ) -> Result<Vec<f32>> {
        self.forward_classes(ctx, x, shape, t, labels.map(ClassLabels::Ids))
    }

    /// [`UNetDenoiser::forward`] with a class-conditional model's labels of any kind (an
    /// identity model's rows too), checked as [`crate::nn::check_class_labels`] checks them.
    pub fn forward_classes(
        &self,
        ctx: &Context,
        x: &[f32],
        shape: &[usize],
        t: &[u32],
        labels: Option<ClassLabels<'_>>,
    ) -> Result<Vec<f32>> {
        let (b, h, w) = self.check_shape(shape)?;
        crate::nn::check_class_labels(self.class_kind(), b, labels)?;
        if x.len() != b * self.in_channels * h * w || t.len() != b {
            return Err(Error::ShapeMismatch(format!(
                "{} values and {} timesteps for x of shape {shape:?}",
                x.len(),
                t.len()
            )));
        }
        let big_t = self.layers.time_embedding.num_timesteps();
        crate::cpu::kernels::common::check_timesteps(t, big_t)?;
        let x_t = upload(ctx, "UNet x", x)?;
        let timesteps = upload(ctx, "UNet timesteps", bytemuck::cast_slice(t))?;
        let n_out = (b * self.out_channels * h * w) as u64;
        let out = crate::gpu::nn::scratch(ctx, "UNet output", n_out)?;
        let labels = labels
            .map(|l| DeviceClasses::new(ctx, self.class()?, l))
            .transpose()?;
        let ext = self.single_externals((&x_t, &out, &timesteps), labels.as_ref(), b)?;
        let plan = self.plan(ctx, (b, h, w), Output::Whole, &ext)?;
        let mut encoder = ctx.encoder();
        for stages in &plan.stages {
            record_stages(&mut encoder, stages);
        }
        ctx.submit(encoder)?;
        let bytes = crate::gpu::runtime::tensor::read_buffer(ctx, &out, n_out * 4)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}

impl UNetDenoiser {
    /// What a forward outside the sampling loop binds: its own x, output and timesteps, the
    /// time table, and the class inputs made for its `b` samples.
    fn single_externals<'a>(
        &'a self,
        (x_t, model_output, timesteps): (&'a wgpu::Buffer, &'a wgpu::Buffer, &'a wgpu::Buffer),
        labels: Option<&'a DeviceClasses>,
        b: usize,
    ) -> Result<Externals<'a>> {
        Ok(Externals {
            x_t,
            model_output,
            model_var: None,
            timesteps,
            table: self.layers.time_embedding.table(),
            num_timesteps: self.layers.time_embedding.num_timesteps(),
            class: self.class_of(labels, b)?,
            dummy: &self.dummy,
            choices: None,
        })
    }

    /// Where the time of one forward goes: every stage of the last `prepare`'s first sub-batch
    /// submitted and timed alone, summed by kind (see [`StageTime`]).
    pub fn profile(&self, ctx: &Context) -> Result<Vec<StageTime>> {
        let plan = self
            .prepared
            .as_ref()
            .ok_or_else(|| Error::Unsupported("UNetDenoiser::profile before prepare".into()))?;
        plan.stages
            .first()
            .map_or(Ok(Vec::new()), |s| profile(ctx, s))
    }

    /// The tuner: its choices so far and the rows of its last timing.
    pub fn tuner(&self) -> &Tuner {
        &self.tuner
    }

    /// Cache the tuner's choices in `dir` instead of [`crate::gpu::nn::tune::cache_dir`]
    /// (`None`: nothing cached).
    pub fn set_tune_cache(&mut self, dir: Option<std::path::PathBuf>) {
        self.tuner.cache = dir;
    }

    /// Every conv shape of the forward of x of `shape` ([B, in_channels, H, W]) with each
    /// variant's time at B samples and the tuner's choice (made first, as a forward would):
    /// `ddpm bench --variants`. Runs the convs on zero inputs.
    pub fn variants(&self, ctx: &Context, shape: &[usize]) -> Result<Vec<TuneRow>> {
        let width = match self.class_kind() {
            Some(ClassKind::Identity { width }) => width,
            _ => 0,
        };
        let (b, h, w) = self.check_shape(shape)?;
        let x_t = crate::gpu::nn::scratch(ctx, "UNet x", (b * self.in_channels * h * w) as u64)?;
        let out =
            crate::gpu::nn::scratch(ctx, "UNet output", (b * self.out_channels * h * w) as u64)?;
        let timesteps = upload(ctx, "UNet timesteps", &vec![0.0; b])?;
        // Class 0 (or zero rows) for a class-conditional model: labels only change a row.
        let (ids, rows) = (vec![0; b], vec![0.0; b * width]);
        let labels = match self.class_kind() {
            Some(ClassKind::Identity { width }) => Some(ClassLabels::Rows { rows: &rows, width }),
            Some(_) => Some(ClassLabels::Ids(&ids)),
            None => None,
        };
        let labels = labels
            .map(|l| DeviceClasses::new(ctx, self.class()?, l))
            .transpose()?;
        let ext = self.single_externals((&x_t, &out, &timesteps), labels.as_ref(), b)?;
        let g = crate::gpu::nn::walk::graph(
            &self.layers,
            (self.in_channels, h, w),
            self.center,
            Output::Whole,
        )?;
        let sub = crate::gpu::nn::plan::sub_batch(ctx, &g, self.max_sub_batch.unwrap_or(b).min(b))?;
        self.tuner.choose(ctx, &g, sub, &ext)?;
        self.tuner.time_all(ctx, &g, sub, &ext)
    }
}
