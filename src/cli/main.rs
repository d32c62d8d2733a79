//! `ddpm`: the command-line front end of ddpm-wgpu.
// The arguments' doc comments are clap's --help texts, written for the terminal, where
// `<name>` is a placeholder, not an HTML tag.
#![allow(rustdoc::invalid_html_tags)]

use clap::{FromArgMatches, Parser, Subcommand};
use ddpm_wgpu::check;
use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::Context;
use std::process::ExitCode;

mod bench;
mod bench_cmd;
mod bpd_cmd;
mod class_args;
mod cli_setup;
mod denoiser_source;
mod mixture_args;
mod model_open;
mod op_cmd;
mod progress;
mod sample_args;
mod sample_cmd;
mod sample_setup;
mod sampler_pick;
mod sampler_steps;
mod schedule_args;
mod soak;
mod soak_cmd;
mod step_args;
mod timesteps_cmd;
mod tune_args;
mod unet_op_cmd;

pub(crate) use op_cmd::write_all;
pub(crate) use schedule_args::ScheduleArgs;

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
    Op(Box<op_cmd::OpArgs>),
    /// The kept timesteps of a spacing, in sampling order, printed or as int64 .npy.
    Timesteps(timesteps_cmd::TimestepsArgs),
    /// Run every kernel and option on seeded inputs, GPU against the f64 CPU reference.
    Check(CheckArgs),
    /// Draw samples through the full reverse process (mixture denoiser over a data set; the
    /// embedded digits by default) and write a PNG grid or .npy.
    Sample(Box<sample_args::SampleArgs>),
    /// The variational bound of data points (calc_bpd_loop) under the mixture denoiser, term
    /// by term, as .npy files.
    Bpd(Box<bpd_cmd::BpdArgs>),
    /// Kernel throughput against the adapter's copy bandwidth; sampling-loop speed, overhead
    /// ratio and device memory with the mixture and the elementwise Gaussian denoiser.
    Bench(bench_cmd::BenchArgs),
    /// Many small sampling loops and op calls in one process, reporting resident and device
    /// memory at intervals and their growth per 1000 iterations (a leak check).
    Soak(soak_cmd::SoakArgs),
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
        Command::Op(args) => op_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Timesteps(args) => timesteps_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Check(args) => run_check(&args),
        Command::Sample(args) => sample_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Bpd(args) => bpd_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench_cmd::run(&args),
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
    for line in ddpm_wgpu::gpu::runtime::capabilities::Capabilities::of(&ctx).lines() {
        println!("{line}");
    }
    println!("features:    {:?}", ctx.device.features());
    println!("{}", tune_cache_line(&ctx));
    let checks = match ctx.shader_checks() {
        ddpm_wgpu::gpu::runtime::pipeline::ShaderChecks::Audited => {
            "the UNet's audited kernels without naga's runtime checks (DDPM_SHADER_CHECKS=all keeps them)"
        }
        ddpm_wgpu::gpu::runtime::pipeline::ShaderChecks::All => "naga's runtime checks in every kernel",
    };
    println!("shaders:     {checks}");
    Ok(ExitCode::SUCCESS)
}

/// Where `--tune auto` caches this adapter's conv choices, and how many shapes it holds.
fn tune_cache_line(ctx: &Context) -> String {
    use ddpm_wgpu::gpu::nn::tune::{cache, TuneCache};
    let Some(dir) = cache::cache_dir() else {
        return "tune cache:  none (neither XDG_CACHE_HOME nor HOME is set)".into();
    };
    let identity = cache::Identity::of(ctx.adapter_info());
    let shapes = TuneCache::load(&dir, &identity).choices.len();
    format!(
        "tune cache:  {} ({shapes} conv shapes of this adapter and driver)",
        identity.file_in(&dir).display()
    )
}

fn run_check(args: &CheckArgs) -> Result<ExitCode> {
    let ctx = Context::new()?;
    println!(
        "adapter: {}",
        ddpm_wgpu::gpu::runtime::context::describe(ctx.adapter_info())
    );
    let report = check::run_all(&ctx, args.seed)?;
    print!("{}", report.table());
    Ok(if report.all_pass() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
