//! The sampling steps with the Gaussian denoiser fused in (shaders/ddpm_step_gaussian_vec4.wgsl,
//! shaders/ddim_step_gaussian_vec4.wgsl) give the bits of the two passes, an application's
//! denoiser's pass then the step kernel, for every option, on every grid path, across
//! submissions and snapshots.

mod common;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::{self, DenoiserIo, GaussianDenoiser, GpuTables};
use ddpm_wgpu::sampler::{Ddim, DdimOptions, DdimReverse, Sampler};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, VarType};

fn every_option() -> Vec<ModelOptions> {
    let mut v = Vec::new();
    for &mean_type in MeanType::ALL {
        for &var_type in VarType::ALL {
            v.push(ModelOptions {
                mean_type,
                var_type,
                clip_denoised: true,
                clip_range: 1.0,
            });
        }
    }
    v
}

/// The Gaussian denoiser as an application's denoiser would run: its own pass every step,
/// never fused into the step kernel.
struct Unfused(GaussianDenoiser);

impl gpu::Denoiser for Unfused {
    fn prepare(&mut self, ctx: &gpu::Context, io: &DenoiserIo<'_>) -> ddpm_wgpu::Result<()> {
        self.0.prepare(ctx, io)
    }

    fn record(
        &self,
        ctx: &gpu::Context,
        encoder: &mut wgpu::CommandEncoder,
        io: &DenoiserIo<'_>,
    ) -> ddpm_wgpu::Result<()> {
        self.0.record(ctx, encoder, io)
    }
}

/// The loop with the Gaussian denoiser fused into its step kernel gives the bits of the two
/// passes, for every mean and variance type and on every grid path.
#[test]
fn fused_gaussian_step_is_the_two_passes() {
    let Some(ctx) = common::gpu() else { return };
    let Some(small) = common::small_grid_gpu() else {
        return;
    };
    let tables = common::linear(10);
    let run = |ctx: &gpu::Context, model: ModelOptions, shape: &[usize], fused: bool| {
        let gt = GpuTables::new(ctx, &tables).unwrap();
        let den = GaussianDenoiser::new(0.5, model).unwrap();
        let opts = gpu::SampleOptions {
            model,
            seed: 9,
            ..Default::default()
        };
        let out = if fused {
            gpu::p_sample_loop(ctx, &gt, &mut { den }, shape, &opts, &mut |_, _| {})
        } else {
            gpu::p_sample_loop(ctx, &gt, &mut Unfused(den), shape, &opts, &mut |_, _| {})
        };
        out.unwrap().x0
    };
    for model in every_option() {
        let shape = [3, 3, 8, 12];
        assert_eq!(
            run(&ctx, model, &shape, true),
            run(&ctx, model, &shape, false),
            "{model:?}"
        );
    }
    for &shape in &common::SMALL_GRID_SHAPES {
        let model = ModelOptions::default();
        assert_eq!(
            run(&small, model, shape, true),
            run(&small, model, shape, false),
            "{shape:?}"
        );
    }
}

/// The same across submissions and snapshots: with T odd, three steps per submission and a
/// snapshot every fourth step, the fused loop's runs of steps in one pass (its two timestep
/// buffers swapping roles) end and restart mid-way, and every kept x_t and pred_xstart must
/// still be the two passes' bits, and those of one submission.
#[test]
fn fused_loop_keeps_the_two_passes_snapshots() {
    let Some(ctx) = common::gpu() else { return };
    let tables = common::linear(11);
    let gt = GpuTables::new(&ctx, &tables).unwrap();
    let model = ModelOptions::default();
    let opts = gpu::SampleOptions {
        model,
        seed: 4,
        steps_per_submit: 3,
        keep_every: Some(4),
        ..Default::default()
    };
    let shape = [2, 3, 4, 4];
    let den = || GaussianDenoiser::new(0.5, model).unwrap();
    let mut calls = Vec::new();
    let fused = gpu::p_sample_loop(&ctx, &gt, &mut den(), &shape, &opts, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    let two_pass = gpu::p_sample_loop(
        &ctx,
        &gt,
        &mut Unfused(den()),
        &shape,
        &opts,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(calls, [(3, 11), (6, 11), (9, 11), (11, 11)]);
    assert_eq!(fused.x0, two_pass.x0);
    let kept_steps: Vec<usize> = fused.kept.iter().map(|k| k.0).collect();
    assert_eq!(kept_steps, [8, 4, 0]);
    assert_eq!(fused.kept, two_pass.kept);
    // One submission, one run of steps per snapshot: the same bits again.
    let one_block = gpu::SampleOptions {
        steps_per_submit: 100,
        ..opts
    };
    let whole = gpu::p_sample_loop(&ctx, &gt, &mut den(), &shape, &one_block, &mut |_, _| {});
    assert_eq!(whole.unwrap().kept, fused.kept);
    assert_eq!(fused.kept[2].1, fused.x0);
}

/// The fused DDIM step (forward with eta 0 and 1, with the Philox and the torch stream, and the
/// inverse) gives the two passes' bits for every mean type DDIM reads, on every grid path.
#[test]
fn fused_ddim_step_is_the_two_passes() {
    let Some(ctx) = common::gpu() else { return };
    let Some(small) = common::small_grid_gpu() else {
        return;
    };
    let tables = common::linear(1000);
    let kept = timesteps(1000, 9, &Spacing::Linspace).unwrap();
    let chain = Chain::respaced(&tables, &kept).unwrap();
    for mean_type in [MeanType::Eps, MeanType::Xstart, MeanType::V] {
        let model = ModelOptions {
            mean_type,
            ..ModelOptions::default()
        };
        let samplers: Vec<Box<dyn Sampler>> = [0.0, 1.0]
            .into_iter()
            .map(|eta| {
                let ddim = DdimOptions {
                    eta,
                    ..DdimOptions::default()
                };
                Box::new(Ddim::new(chain.clone(), model, None, ddim).unwrap()) as Box<dyn Sampler>
            })
            .chain([Box::new(DdimReverse::new(chain.clone(), model).unwrap()) as Box<dyn Sampler>])
            .collect();
        for sampler in &samplers {
            for noise in [NoiseSource::Philox, NoiseSource::Torch] {
                let opts = LoopOptions {
                    seed: 3,
                    noise,
                    steps_per_submit: 4,
                    ..LoopOptions::default()
                };
                for (c, shape) in [(&ctx, &[3usize, 2, 4, 4][..])]
                    .into_iter()
                    .chain(common::SMALL_GRID_SHAPES.iter().map(|s| (&small, *s)))
                {
                    let den = || GaussianDenoiser::new(0.5, model).unwrap();
                    let run = |d: &mut dyn gpu::Denoiser| {
                        sample_loop(c, sampler.as_ref(), d, shape, &opts, &mut |_, _| {})
                            .unwrap()
                            .x0
                    };
                    let fused = run(&mut den());
                    let two = run(&mut Unfused(den()));
                    assert_eq!(
                        fused,
                        two,
                        "{} {mean_type} {noise:?} {shape:?}",
                        sampler.name()
                    );
                }
            }
        }
    }
}
