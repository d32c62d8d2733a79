//! `ddpm`: the command-line front end of ddpm-wgpu.

use clap::{FromArgMatches, Parser, Subcommand};
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::npy::{self, NpyData};
use ddpm_wgpu::ops::{self, Backend, Op, OpSettings};
use ddpm_wgpu::{check, LossType, MeanType, ModelOptions, ScheduleKind, Tables, VarType};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bpd_cmd;
mod cli_setup;
mod mixture_args;
mod sample_cmd;
mod soak_cmd;

#[derive(Parser)]
#[command(
    name = "ddpm",
    version,
    about = "DDPM math in WGSL kernels, checked against an f64 reference"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the adapter this machine would run on: name, backend, type, driver, limits, features.
    Info,
    /// Run one operation on .npy inputs and write one .npy per output.
    Op(Box<OpArgs>),
    /// Run every kernel and option on seeded inputs, GPU against the f64 CPU reference.
    Check(CheckArgs),
    /// Draw samples through the full reverse process (mixture denoiser over a data set; the
    /// embedded digits by default) and write a PNG grid or .npy.
    Sample(Box<sample_cmd::SampleArgs>),
    /// The variational bound of data points (calc_bpd_loop) under the mixture denoiser, term
    /// by term, as .npy files.
    Bpd(Box<bpd_cmd::BpdArgs>),
    /// Kernel throughput against the adapter's copy bandwidth; sampling-loop speed, overhead
    /// ratio and device memory with the mixture and the elementwise Gaussian denoiser.
    Bench(BenchArgs),
    /// Many small sampling loops and op calls in one process, reporting resident and device
    /// memory at intervals and their growth per 1000 iterations (a leak check).
    Soak(soak_cmd::SoakArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// 2^20 elements only, and T = 100 with B in {1, 16} for the loops.
    #[arg(long)]
    quick: bool,
    /// Element counts for the kernel rows instead of the default sizes (repeatable; multiples
    /// of 4).
    #[arg(long = "elements", value_name = "N")]
    elements: Vec<usize>,
    /// Kernel rows only.
    #[arg(long)]
    no_loops: bool,
}

/// Which implementation runs the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Device {
    /// The WGSL kernels on the adapter `ddpm info` shows.
    Gpu,
    /// The float64 CPU reference.
    Cpu,
}

#[derive(clap::Args)]
pub(crate) struct ScheduleArgs {
    /// Beta schedule: linear, quad, const, jsd, warmup10, warmup50, cosine.
    #[arg(long, default_value = "linear")]
    schedule: String,
    /// First beta of the schedule.
    #[arg(long, default_value_t = 1e-4)]
    beta_start: f64,
    /// Last beta of the schedule.
    #[arg(long, default_value_t = 0.02)]
    beta_end: f64,
    /// Number of diffusion steps T.
    #[arg(long, default_value_t = 1000)]
    timesteps: usize,
    /// Use these betas (a 1-D float32/float64 .npy) instead of a named schedule.
    #[arg(long, value_name = "FILE.npy")]
    betas: Option<PathBuf>,
}

impl ScheduleArgs {
    /// The tables, refused before they are computed when `ctx`'s device cannot hold them:
    /// T = 10^8 would take 13 GB of f64 tables on the host only to fail at the upload.
    pub(crate) fn tables_for(&self, ctx: Option<&Context>) -> Result<Tables> {
        if let (Some(ctx), None) = (ctx, &self.betas) {
            ddpm_wgpu::gpu::GpuTables::check_fits(ctx, self.timesteps)?;
        }
        let tables = self.tables()?;
        if let Some(ctx) = ctx {
            ddpm_wgpu::gpu::GpuTables::check_fits(ctx, tables.num_timesteps())?;
        }
        Ok(tables)
    }

    pub(crate) fn tables(&self) -> Result<Tables> {
        match &self.betas {
            Some(path) => {
                let arr = npy::read(path)?;
                let betas = match arr.data {
                    NpyData::F64(v) => v,
                    NpyData::F32(v) => v.into_iter().map(f64::from).collect(),
                    other => {
                        return Err(Error::WrongDtype {
                            name: "betas".into(),
                            found: other.dtype().into(),
                            expected: "float32 or float64",
                        })
                    }
                };
                if arr.shape.len() != 1 {
                    return Err(Error::InvalidSchedule(format!(
                        "betas must be 1-D, got shape {:?}",
                        arr.shape
                    )));
                }
                Tables::new(betas)
            }
            None => {
                for (name, beta) in [
                    ("--beta-start", self.beta_start),
                    ("--beta-end", self.beta_end),
                ] {
                    if !(beta > 0.0 && beta <= 1.0) {
                        return Err(Error::InvalidSchedule(format!(
                            "{name} must be in (0, 1], got {beta}"
                        )));
                    }
                }
                Tables::from_schedule(
                    self.schedule.parse::<ScheduleKind>()?,
                    self.beta_start,
                    self.beta_end,
                    self.timesteps,
                )
            }
        }
    }
}

#[derive(clap::Args)]
struct OpArgs {
    /// The operation, e.g. q-sample, p-sample, vb-terms-bpd (see README for the table).
    op: String,
    /// An input as NAME=PATH.npy; repeat for each input.
    #[arg(long = "input", value_name = "NAME=PATH.npy")]
    inputs: Vec<String>,
    /// Folder for the outputs, one DIR/<name>.npy each (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Run on the GPU kernels or on the f64 CPU reference.
    #[arg(long, value_enum, default_value = "gpu")]
    device: Device,
    #[command(flatten)]
    schedule: ScheduleArgs,
    /// What model_output predicts: eps, xstart, xprev.
    #[arg(long, default_value = "eps")]
    mean_type: String,
    /// Variance: fixedsmall, fixedlarge, learned, learned-range.
    #[arg(long, default_value = "fixedlarge")]
    var_type: String,
    /// training-losses objective: mse, kl.
    #[arg(long, default_value = "mse")]
    loss_type: String,
    /// Clip pred_xstart to [-1, 1] (default: true for p-mean-variance and p-sample, else false).
    #[arg(long, value_name = "true|false")]
    clip_denoised: Option<bool>,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> ExitCode {
    cli_setup::quiet_vulkan_layers();
    let parsed = cli_setup::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            eprintln!("ddpm: {}", cli_setup::one_line_usage_error(&e));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Info => info(),
        Command::Op(args) => op(&args),
        Command::Check(args) => run_check(&args),
        Command::Sample(args) => sample_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Bpd(args) => bpd_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench(&args),
        Command::Soak(args) => soak_cmd::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ddpm: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn info() -> Result<ExitCode> {
    let ctx = Context::new()?;
    let i = ctx.adapter_info();
    let l = ctx.limits();
    println!("adapter:     {}", i.name);
    println!("backend:     {:?}", i.backend);
    println!("device type: {:?}", i.device_type);
    println!("driver:      {} {}", i.driver, i.driver_info);
    println!("limits:");
    println!(
        "  max_storage_buffer_binding_size     {}",
        l.max_storage_buffer_binding_size
    );
    println!(
        "  max_buffer_size                     {}",
        l.max_buffer_size
    );
    println!(
        "  max_storage_buffers_per_shader_stage {}",
        l.max_storage_buffers_per_shader_stage
    );
    println!(
        "  max_compute_workgroups_per_dimension {}",
        l.max_compute_workgroups_per_dimension
    );
    println!(
        "  max_compute_invocations_per_workgroup {}",
        l.max_compute_invocations_per_workgroup
    );
    println!(
        "  max_compute_workgroup_storage_size  {}",
        l.max_compute_workgroup_storage_size
    );
    println!("features:    {:?}", ctx.device.features());
    Ok(ExitCode::SUCCESS)
}

fn op(args: &OpArgs) -> Result<ExitCode> {
    let op: Op = args.op.parse()?;
    let ctx = match args.device {
        Device::Cpu => None,
        Device::Gpu => Some(Context::new()?),
    };
    let settings = OpSettings {
        tables: args.schedule.tables_for(ctx.as_ref())?,
        model: ModelOptions {
            mean_type: args.mean_type.parse::<MeanType>()?,
            var_type: args.var_type.parse::<VarType>()?,
            clip_denoised: args
                .clip_denoised
                .unwrap_or_else(|| op.default_clip_denoised()),
        },
        loss: args.loss_type.parse::<LossType>()?,
    };
    let mut inputs = BTreeMap::new();
    for spec in &args.inputs {
        let (name, path) = spec
            .split_once('=')
            .ok_or_else(|| Error::Unsupported(format!("--input '{spec}' is not NAME=PATH.npy")))?;
        if inputs.insert(name.to_string(), npy::read(path)?).is_some() {
            return Err(Error::Unsupported(format!("input '{name}' given twice")));
        }
    }
    let backend = match &ctx {
        None => Backend::Cpu,
        Some(ctx) => Backend::Gpu(ctx),
    };
    let outputs = ops::run(op, &settings, &inputs, backend)?;
    write_all(&args.out_dir, &outputs)?;
    Ok(ExitCode::SUCCESS)
}

/// Write every output or none: each goes to a hidden temporary file first, and only when all
/// are written are they renamed into place.
pub(crate) fn write_all(dir: &Path, outputs: &[ops::Output]) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut staged = Vec::new();
    for o in outputs {
        let tmp = dir.join(format!(".{}.npy.partial", o.name));
        let data: Vec<f32> = o.data.iter().map(|&v| v as f32).collect();
        if let Err(e) = npy::write_f32(&tmp, &o.shape, &data) {
            for (t, _) in &staged {
                let _ = std::fs::remove_file(t);
            }
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        staged.push((tmp, dir.join(format!("{}.npy", o.name))));
    }
    for (tmp, path) in staged {
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

fn bench(args: &BenchArgs) -> Result<ExitCode> {
    use ddpm_wgpu::bench::BenchPlan;
    let ctx = Context::new()?;
    let mut plan = if args.quick {
        BenchPlan::quick()
    } else {
        BenchPlan::full()
    };
    if !args.elements.is_empty() {
        plan.sizes.clone_from(&args.elements);
    }
    if args.no_loops {
        plan.loop_shapes.clear();
    }
    let report = ddpm_wgpu::bench::run(&ctx, &plan)?;
    if args.json {
        print!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

fn run_check(args: &CheckArgs) -> Result<ExitCode> {
    let ctx = Context::new()?;
    println!(
        "adapter: {}",
        ddpm_wgpu::gpu::context::describe(ctx.adapter_info())
    );
    let report = check::run_all(&ctx, args.seed)?;
    print!("{}", report.table());
    Ok(if report.all_pass() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
