//! `calc_bpd_loop` on the device: host side of `shaders/bpd_noising.wgsl` and
//! `shaders/bpd_mse.wgsl` (with `vb_terms_bpd.wgsl` and `sample_mean.wgsl`). CPU twin:
//! `crate::cpu::sampling::bpd_loop`.
//!
//! For t = T-1 .. 0, all recorded with buffers and bind groups made once: set the timesteps,
//! noise x_0 in the shader, run the denoiser, the vb term and the squared errors per element,
//! average each per sample, and copy the three \[B\] results into row t of [T, B] buffers. The
//! prior term comes last; everything is read back once at the end.

use crate::cpu::kernels::noise::stream;
use crate::cpu::sampling::bpd_loop::BpdTerms;
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::{bind_group, dispatch, groups_1d, groups_2d, uniform};
use crate::gpu::runtime::params::{ElementParams, NoiseParams, ReduceParams};
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::runtime::tensor::read_buffer;
use crate::gpu::sampling::denoiser::{Denoiser, DenoiserIo};
use crate::gpu::{Context, GpuTables, GpuTensor};
use crate::options::ModelOptions;

/// The variational bound of `x_start` ([B, ...], values in [-1, 1]) term by term, in bits/dim,
/// with the model run by `denoiser` and noise keyed by `seed`. `progress` gets (steps done, T).
pub fn calc_bpd_loop(
    ctx: &Context,
    tables: &GpuTables,
    denoiser: &mut dyn Denoiser,
    model: &ModelOptions,
    x_start: &GpuTensor,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<BpdTerms> {
    let shape = x_start.shape().to_vec();
    let batch = *shape
        .first()
        .ok_or_else(|| Error::ShapeMismatch("x_start needs a batch dimension".into()))?;
    let n = x_start.len();
    let sample_len = n / batch;
    let big_t = tables.num_timesteps();
    let zeros = |s: &[usize]| GpuTensor::zeros(ctx, s);
    let (x_t, eps, model_output) = (zeros(&shape)?, zeros(&shape)?, zeros(&shape)?);
    let model_var = if model.var_type.is_learned() {
        Some(zeros(&shape)?)
    } else {
        None
    };
    let (terms, pred_xstart, xstart_se, eps_se) = (
        zeros(&shape)?,
        zeros(&shape)?,
        zeros(&shape)?,
        zeros(&shape)?,
    );
    let means: Vec<GpuTensor> = (0..3).map(|_| zeros(&[batch])).collect::<Result<_>>()?;
    let rows: Vec<GpuTensor> = (0..3)
        .map(|_| zeros(&[big_t, batch]))
        .collect::<Result<_>>()?;
    let steps = StepRows::new(ctx, big_t, batch)?;
    let io = DenoiserIo {
        x_t: &x_t,
        timesteps: &steps.timesteps,
        tables,
        model_output: &model_output,
        model_var: model_var.as_ref(),
        times: None,
    };
    denoiser.prepare(ctx, &io)?;

    let params = ElementParams::new(n as u32, sample_len as u32, big_t as u32, model);
    let noise = NoiseParams::new(seed, stream::Q_SAMPLE, 0, 0, batch, sample_len);
    let reduce = |scale: f64| ReduceParams {
        sample_len: sample_len as u32,
        n_samples: batch as u32,
        scale_over_len: (scale / sample_len as f64) as f32,
        _pad: 0,
    };
    let (coefs, t) = (tables.buffer(), &steps.timesteps);
    let mv = model_var.as_ref().unwrap_or(&model_output).buffer();
    let (p, z) = ctx.checked(|| (uniform(ctx, &params), uniform(ctx, &noise)))?;
    let bits = ctx.checked(|| uniform(ctx, &reduce(1.0 / std::f64::consts::LN_2)))?;
    let plain = ctx.checked(|| uniform(ctx, &reduce(1.0)))?;
    let elem_groups = (groups_1d(ctx, n as u32), 1);
    let sample_groups = groups_2d(ctx, batch as u32);
    let plan: Vec<(Kernel, Vec<&wgpu::Buffer>, (u32, u32))> = vec![
        (
            Kernel::BpdNoising,
            vec![
                &p,
                &z,
                coefs,
                t,
                x_start.buffer(),
                x_t.buffer(),
                eps.buffer(),
            ],
            elem_groups,
        ),
        (
            Kernel::VbTermsBpd,
            vec![
                &p,
                coefs,
                t,
                x_start.buffer(),
                x_t.buffer(),
                model_output.buffer(),
                mv,
                terms.buffer(),
                pred_xstart.buffer(),
            ],
            elem_groups,
        ),
        (
            Kernel::BpdMse,
            vec![
                &p,
                coefs,
                t,
                x_start.buffer(),
                x_t.buffer(),
                eps.buffer(),
                pred_xstart.buffer(),
                xstart_se.buffer(),
                eps_se.buffer(),
            ],
            elem_groups,
        ),
        (
            Kernel::SampleMean,
            vec![&bits, terms.buffer(), means[0].buffer()],
            sample_groups,
        ),
        (
            Kernel::SampleMean,
            vec![&plain, xstart_se.buffer(), means[1].buffer()],
            sample_groups,
        ),
        (
            Kernel::SampleMean,
            vec![&plain, eps_se.buffer(), means[2].buffer()],
            sample_groups,
        ),
    ];
    let mut stages = Vec::new();
    for (kernel, buffers, groups) in plan {
        let pipeline = ctx.pipeline(kernel)?;
        let group = ctx.checked(|| bind_group(ctx, kernel, &pipeline, &buffers))?;
        stages.push((kernel, pipeline, group, groups));
    }

    let row_bytes = batch as u64 * 4;
    let mut encoder = ctx.encoder();
    for (done, step) in (0..big_t).rev().enumerate() {
        steps.record_row(&mut encoder, step);
        let (first, rest) = stages.split_at(1);
        let (k, pl, g, gr) = &first[0];
        dispatch(&mut encoder, *k, pl, g, *gr);
        denoiser.record(ctx, &mut encoder, &io)?;
        for (k, pl, g, gr) in rest {
            dispatch(&mut encoder, *k, pl, g, *gr);
        }
        for (m, r) in means.iter().zip(&rows) {
            encoder.copy_buffer_to_buffer(
                m.buffer(),
                0,
                r.buffer(),
                step as u64 * row_bytes,
                row_bytes,
            );
        }
        if (done + 1) % 100 == 0 || step == 0 {
            ctx.submit(std::mem::replace(&mut encoder, ctx.encoder()))?;
            ctx.wait()?;
            progress(done + 1, big_t);
        }
    }
    let prior = crate::gpu::kernels::prior_bpd::prior_bpd(ctx, &mut encoder, tables, x_start)?;
    ctx.submit(encoder)?;

    // [T, B] on the device (row t written per step) -> [B, T] as the original returns.
    let transpose = |tb: &GpuTensor| -> Result<Vec<f64>> {
        let v: Vec<f32> =
            bytemuck::pod_collect_to_vec(&read_buffer(ctx, tb.buffer(), tb.len() as u64 * 4)?);
        Ok((0..batch * big_t)
            .map(|i| v[(i % big_t) * batch + i / big_t] as f64)
            .collect())
    };
    let terms_bpd = transpose(&rows[0])?;
    let prior_bpd: Vec<f64> = prior.to_vec(ctx)?.into_iter().map(f64::from).collect();
    let total_bpd = (0..batch)
        .map(|b| terms_bpd[b * big_t..(b + 1) * big_t].iter().sum::<f64>() + prior_bpd[b])
        .collect();
    Ok(BpdTerms {
        total_bpd,
        terms_bpd,
        prior_bpd,
        xstart_mse: transpose(&rows[1])?,
        eps_mse: transpose(&rows[2])?,
    })
}

/// The per-step timesteps of a loop: a [T, B] table whose row t is B copies of t, and the B-long
/// `timesteps` buffer that the kernels and the denoiser read. One buffer copy per step sets it,
/// so no bind group or upload is made per step.
struct StepRows {
    table: wgpu::Buffer,
    /// The `array<u32>` of the current step, one entry per sample.
    pub timesteps: wgpu::Buffer,
    batch: usize,
}

impl StepRows {
    fn new(ctx: &Context, num_timesteps: usize, batch: usize) -> Result<Self> {
        let rows: Vec<u32> = (0..num_timesteps as u32)
            .flat_map(|t| std::iter::repeat_n(t, batch))
            .collect();
        Ok(StepRows {
            table: ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("timestep rows"),
                contents: bytemuck::cast_slice(&rows),
                usage: wgpu::BufferUsages::COPY_SRC,
            })?,
            timesteps: ctx.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timesteps"),
                size: batch as u64 * 4,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })?,
            batch,
        })
    }

    /// Record setting `timesteps` to t.
    fn record_row(&self, encoder: &mut wgpu::CommandEncoder, t: usize) {
        let bytes = self.batch as u64 * 4;
        encoder.copy_buffer_to_buffer(&self.table, t as u64 * bytes, &self.timesteps, 0, bytes);
    }
}
