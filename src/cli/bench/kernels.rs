//! The kernel rows of `ddpm bench` (time, GB/s against the copy kernel) and the f32/f16
//! accuracy rows.

use super::{AccuracyRow, KernelRow};
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu;
use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::runtime::timing::{encode_reps, median, time_submit, TRIALS};
use ddpm_wgpu::gpu::{
    self, Context, GpuModelOut, GpuSteps, GpuTables, GpuTensor, GpuTensorF16, PSampleF16,
};
use ddpm_wgpu::options::ModelOptions;
use ddpm_wgpu::schedule::Tables;

/// q_sample's x_t and p_sample's sample in f32 and in f16 storage against the f64 twins, on
/// 2^16 elements (4 samples at t = 0, 333, 666, 999; default options).
pub(super) fn accuracy_rows(
    ctx: &Context,
    gt: &GpuTables,
    tables: &Tables,
) -> Result<Vec<AccuracyRow>> {
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

/// A kernel to time: its name, the bytes it must move per element, and how to record it.
type KernelCase<'a> = (
    &'static str,
    f64,
    Box<dyn FnMut(&mut wgpu::CommandEncoder) -> Result<()> + 'a>,
);

/// Time the copy kernel (first) and the DDPM kernels at `n` elements (4 samples at t = 0, 333, 666, 999).
/// Copy, q_sample and p_sample write into buffers made beforehand; the others allocate their
/// outputs per call as their API does, so their times include wgpu's zero-fill of those.
pub(super) fn kernel_rows(ctx: &Context, gt: &GpuTables, n: usize) -> Result<Vec<KernelRow>> {
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
            Box::new(|e| gpu::kernels::bandwidth_copy::bandwidth_copy(ctx, e, &a, &dst)),
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
