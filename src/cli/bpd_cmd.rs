//! `ddpm bpd`: the variational bound (calc_bpd_loop) of x_0, term by term, written as .npy
//! files, under the exact mixture denoiser of a data set or under a UNet (`--model`).

use crate::denoiser_source::Source;
use crate::mixture_args::MixtureArgs;
use crate::model_open::{check_model_args, open_model};
use crate::progress::Progress;
use crate::{write_all, Device, ScheduleArgs};
use ddpm_wgpu::cpu::sampling::bpd_loop::BpdTerms;
use ddpm_wgpu::dataset::{self, Dataset};
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::{self, Context, GpuTables, GpuTensor};
use ddpm_wgpu::ops::Output;
use ddpm_wgpu::{cpu, ModelOptions, Tables};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct BpdArgs {
    /// Score under a UNet2DModel instead of the mixture: a model folder, `embedded:digits` or
    /// `synthetic:cifar10`. Its scheduler config gives the schedule, the prediction and
    /// variance types (`--var-type` overrides the latter); pred_xstart is clipped, as the
    /// original's calc_bpd_loop does. Needs --eval.
    #[arg(long, value_name = "DIR|NAME")]
    model: Option<String>,
    #[command(flatten)]
    mixture: MixtureArgs,
    /// The x_0 to score, [B, ...] like one data point, or [B, C, H, W] for a model (default for
    /// the mixture: the data points themselves).
    #[arg(long, value_name = "FILE.npy")]
    eval: Option<PathBuf>,
    /// Score only the first N points of --eval. Each point's noise depends on its index alone,
    /// so the first N give the same terms as in a run over all of them.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// Seed of the forward-noising draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for total_bpd, terms_bpd, prior_bpd, xstart_mse, eps_mse (.npy).
    #[arg(long, value_name = "DIR", default_value = "bpd")]
    out: PathBuf,
    /// Run on the GPU kernels or on the f64 CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    device: Device,
    #[command(flatten)]
    tune: crate::tune_args::TuneArgs,
    /// No progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(args: &BpdArgs) -> Result<()> {
    let ctx = match args.device {
        Device::Gpu => Some(Context::new()?),
        Device::Cpu => {
            args.tune
                .refuse_without_unet("--device cpu (the f64 twin)")?;
            None
        }
    };
    let (scorer, tables, model, point_shape) = match &args.model {
        Some(spec) => {
            if args.mixture.has_data() {
                return Err(Error::Unsupported(
                    "give --model or --data, not both".into(),
                ));
            }
            check_model_args(&args.schedule, &args.mixture)?;
            let (unet, sampling, point_shape) = open_model(spec, ctx.as_ref())?;
            let model = ModelOptions {
                var_type: args.mixture.var_type_over(sampling.model.var_type)?,
                clip_denoised: true,
                ..sampling.model
            };
            model.validate()?;
            let scorer = Source::Model {
                unet: Box::new(unet),
                name: spec.clone(),
                opts: args.tune.options()?,
            };
            (scorer, sampling.tables, model, point_shape)
        }
        None => {
            args.tune.refuse_without_unet("the mixture")?;
            let sigma = args.mixture.sigma()?;
            // calc_bpd_loop uses clip_denoised = true, as the original.
            let model = ModelOptions {
                var_type: args.mixture.var_type()?,
                ..ModelOptions::default()
            };
            let tables = args.schedule.tables_for(ctx.as_ref())?;
            let data = args.mixture.load()?;
            let shape = data.point_shape.clone();
            (Source::Mixture { data, sigma }, tables, model, shape)
        }
    };
    let mut eval = match (&args.eval, &scorer) {
        (Some(p), _) => dataset::from_npy(p)?,
        (None, Source::Mixture { data, .. }) => data.clone(),
        (None, Source::Model { .. }) => {
            return Err(Error::Unsupported(
                "--model needs --eval FILE.npy, the [B, C, H, W] points to score".into(),
            ))
        }
    };
    if eval.point_shape != point_shape {
        return Err(Error::ShapeMismatch(format!(
            "--eval points have shape {:?} but the {} takes {point_shape:?}",
            eval.point_shape,
            if args.model.is_some() {
                "model"
            } else {
                "data"
            }
        )));
    }
    if let Some(n) = args.limit {
        if n == 0 {
            return Err(Error::Unsupported("--limit must be at least 1".into()));
        }
        let keep = n.min(eval.len()) * eval.point_len();
        eval.points.truncate(keep);
    }
    let batch = eval.len();
    let big_t = tables.num_timesteps();
    let r = match &ctx {
        Some(ctx) => score_gpu(
            ctx,
            &scorer,
            &tables,
            &model,
            &eval,
            (args.seed, args.quiet),
        )?,
        None => scorer.with_cpu(&tables, (model, None), &point_shape, |den| {
            cpu::sampling::bpd_loop::calc_bpd_loop(
                &tables,
                &model,
                den,
                &eval.points,
                batch,
                args.seed,
            )
        })?,
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / batch as f64;
    let (mean_total, mean_prior) = (mean(&r.total_bpd), mean(&r.prior_bpd));
    let output = |name, shape: Vec<usize>, data| Output { name, shape, data };
    let outputs = [
        output("total_bpd", vec![batch], r.total_bpd),
        output("terms_bpd", vec![batch, big_t], r.terms_bpd),
        output("prior_bpd", vec![batch], r.prior_bpd),
        output("xstart_mse", vec![batch, big_t], r.xstart_mse),
        output("eps_mse", vec![batch, big_t], r.eps_mse),
    ];
    write_all(&args.out, &outputs)?;
    println!(
        "ddpm: {batch} points, T = {big_t}: mean total {mean_total:.4} bits/dim (prior \
         {mean_prior:.2e}) -> {}",
        args.out.display()
    );
    Ok(())
}

/// The GPU loop with the scorer's denoiser, drawing the progress bar over the T terms.
fn score_gpu(
    ctx: &Context,
    scorer: &Source,
    tables: &Tables,
    model: &ModelOptions,
    eval: &Dataset,
    (seed, quiet): (u64, bool),
) -> Result<BpdTerms> {
    let gt = GpuTables::new(ctx, tables)?;
    let mut den = scorer.gpu(ctx, *model, tables.num_timesteps(), None)?;
    let mut shape = vec![eval.len()];
    shape.extend_from_slice(&eval.point_shape);
    let x0 = GpuTensor::from_slice(ctx, &shape, &eval.points)?;
    let mut bar = Progress::new(tables.num_timesteps(), quiet);
    let r = gpu::calc_bpd_loop(ctx, &gt, den.as_mut(), model, &x0, seed, &mut |d, t| {
        bar.show(d, t)
    });
    bar.finish();
    r
}
