//! `ddpm bench`: kernel throughput against the adapter's own copy bandwidth, and sampling-loop
//! speed, overhead and device memory, measured in one run.
//!
//! Kernel times are from submit to completion of R dispatches recorded beforehand (buffers and
//! bind groups made outside the timing), so they are device time plus per-pass overhead. A
//! loop's overhead ratio is its wall time (allocation, T steps, read-back) over T times one
//! step's kernels (the denoiser's and the step kernel's, timed the same way): 1.0 would mean the
//! scheduler costs nothing beyond the kernels themselves. Short loops are timed five times,
//! alternating with their kernels, and the median of the per-pair ratios is reported.

mod forward_time;
mod kernels;
mod loops;
pub(crate) mod named_loops;
mod report;
pub mod unet;
mod unet_classes;
mod unet_report;
mod unet_variants;

use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu;
use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::sampling::sample_loop::LoopOptions;
use ddpm_wgpu::gpu::{self, Context, GaussianDenoiser, GpuTables, MixtureDenoiser};
use ddpm_wgpu::options::ModelOptions;
use ddpm_wgpu::sampler::{
    Ddim, DdimOptions, Ddpm, DpmSolver, DpmSolverOptions, Sampler, UniPc, UniPcOptions,
};
use ddpm_wgpu::schedule::{ScheduleKind, Tables};
use ddpm_wgpu::spacing::{multistep_timesteps, timesteps, Spacing};
use kernels::{accuracy_rows, kernel_rows};
use loops::{cpu_loop_row, loop_row};

/// Steps of the DDIM loop rows.
const DDIM_STEPS: usize = 50;

/// Steps of the DPM-Solver++ 2M loop rows (what diffusers' users run it at).
const DPM_STEPS: usize = 20;

/// Steps of the UniPC loop rows (where its paper and diffusers' docs put it).
const UNIPC_STEPS: usize = 10;

/// One kernel measurement.
#[derive(Clone, Debug)]
pub struct KernelRow {
    /// Kernel name.
    pub kernel: &'static str,
    /// Elements per dispatch.
    pub elements: usize,
    /// Seconds per dispatch.
    pub seconds: f64,
    /// Bytes the kernel must move per dispatch.
    pub bytes: f64,
    /// bytes / seconds / 1e9.
    pub gb_per_s: f64,
    /// gb_per_s / the copy kernel's gb_per_s at the same size.
    pub copy_ratio: f64,
}

/// One sampling-loop measurement.
#[derive(Clone, Debug)]
pub struct LoopRow {
    /// `ddpm` (all T steps), `ddim` (50 of them, eta 0), `dpm++2m` (20) or `unipc` (10).
    pub sampler: &'static str,
    /// `mixture` (M = 16 points, three kernels a step) or `gaussian` (one elementwise kernel).
    pub denoiser: &'static str,
    /// `gpu`, or `cpu` for the f64 reference loop.
    pub device: &'static str,
    /// [B, ...].
    pub shape: Vec<usize>,
    /// Steps the sampler takes (T for ddpm).
    pub steps: usize,
    /// Wall seconds for the whole loop, allocation and read-back included.
    pub seconds: f64,
    /// Seconds of one step's kernels alone (GPU rows; 0 for the CPU).
    pub step_kernel_seconds: f64,
    /// seconds / (T x step_kernel_seconds) (GPU rows; 0 for the CPU).
    pub overhead_ratio: f64,
    /// Device bytes the loop allocates (GPU rows): x, pred_xstart, model_output, timesteps.
    pub loop_bytes: u64,
    /// Device bytes the denoiser holds (GPU rows).
    pub denoiser_bytes: u64,
}

/// The accuracy cost of a storage format: one kernel's output against the f64 reference run
/// on the same f32 inputs (f16 storage rounds them on upload, so its error includes that).
#[derive(Clone, Debug)]
pub struct AccuracyRow {
    /// Kernel name and output.
    pub kernel: &'static str,
    /// `f32` or `f16`.
    pub storage: &'static str,
    /// Elements compared.
    pub elements: usize,
    /// max |gpu - reference|.
    pub max_abs: f64,
    /// max |gpu - reference| / max |reference|.
    pub max_rel_to_max: f64,
}

/// Everything `ddpm bench` measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Adapter description.
    pub adapter: String,
    /// Kernel rows.
    pub kernels: Vec<KernelRow>,
    /// f32 against f16 storage, against the f64 reference.
    pub accuracy: Vec<AccuracyRow>,
    /// Loop rows.
    pub loops: Vec<LoopRow>,
}

/// What `ddpm bench` measures.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchPlan {
    /// Element counts for the kernel rows (4 samples each; a multiple of 16 keeps every kernel
    /// on its vec4 path).
    pub sizes: Vec<usize>,
    /// T of the loop rows.
    pub loop_steps: usize,
    /// Sample shapes [B, ...] of the loop rows; empty for none.
    pub loop_shapes: Vec<Vec<usize>>,
}

impl BenchPlan {
    /// 2^12 .. 2^24 elements; T = 1000 loops at [B, 3, 32, 32] for B in {1, 16, 128} and
    /// [4, 3, 256, 256].
    pub fn full() -> Self {
        BenchPlan {
            sizes: vec![1 << 12, 1 << 16, 1 << 20, 1 << 24],
            loop_steps: 1000,
            loop_shapes: vec![
                vec![1, 3, 32, 32],
                vec![16, 3, 32, 32],
                vec![128, 3, 32, 32],
                vec![4, 3, 256, 256],
            ],
        }
    }

    /// 2^20 elements; T = 100 loops at B in {1, 16}: a few seconds on a software adapter.
    pub fn quick() -> Self {
        BenchPlan {
            sizes: vec![1 << 20],
            loop_steps: 100,
            loop_shapes: vec![vec![1, 3, 32, 32], vec![16, 3, 32, 32]],
        }
    }
}

/// Measure the kernels at each size of `plan` and the loops at each shape.
pub fn run(ctx: &Context, plan: &BenchPlan) -> Result<BenchReport> {
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000)?;
    let gt = GpuTables::new(ctx, &tables)?;
    let mut kernels = Vec::new();
    for &n in &plan.sizes {
        if n < 4 || n % 4 != 0 {
            return Err(ddpm_wgpu::Error::Unsupported(format!(
                "bench sizes must be multiples of 4 (4 samples each), got {n}"
            )));
        }
        kernels.extend(kernel_rows(ctx, &gt, n)?);
    }
    let accuracy = accuracy_rows(ctx, &gt, &tables)?;

    let model = ModelOptions::default();
    let big_t = plan.loop_steps;
    let loop_tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, big_t)?;
    let ddpm = Ddpm::new(Chain::full(&loop_tables), model, None)?;
    // DDIM in 50 steps (diffusers' default `leading` spacing), eta 0: what users run.
    let ddim_steps = timesteps(
        big_t,
        DDIM_STEPS.min(big_t),
        &Spacing::Leading { steps_offset: 0 },
    )?;
    let ddim = Ddim::new(
        Chain::respaced(&loop_tables, &ddim_steps)?,
        model,
        None,
        DdimOptions::default(),
    )?;
    // DPM-Solver++ 2M in 20 steps on its own leading spacing; it has no clipping.
    let dpm_steps = multistep_timesteps(
        big_t,
        DPM_STEPS.min(big_t / 2),
        &Spacing::Leading { steps_offset: 0 },
    )?;
    let dpm = DpmSolver::new(
        Chain::respaced(&loop_tables, &dpm_steps)?,
        ModelOptions {
            clip_denoised: false,
            ..model
        },
        None,
        DpmSolverOptions::default(),
    )?;
    // UniPC (bh2, order 2) in 10 steps on the same spacing; no clipping either.
    let unipc_steps = multistep_timesteps(
        big_t,
        UNIPC_STEPS.min(big_t / 2),
        &Spacing::Leading { steps_offset: 0 },
    )?;
    let unipc = UniPc::new(
        Chain::respaced(&loop_tables, &unipc_steps)?,
        ModelOptions {
            clip_denoised: false,
            ..model
        },
        None,
        UniPcOptions::default(),
    )?;
    let samplers: [&dyn Sampler; 4] = [&ddpm, &ddim, &dpm, &unipc];
    let (num_points, sigma) = (16, 0.1);
    let mut loops = Vec::new();
    for shape in &plan.loop_shapes {
        let d: usize = shape[1..].iter().product();
        let points = Gen::new(7).vec(num_points * d, |g| g.range(-1.0, 1.0));
        let mut mixture = MixtureDenoiser::new(ctx, &points, &[num_points, d], sigma, model)?;
        let mut gaussian = GaussianDenoiser::new(sigma, model)?;
        for sampler in samplers {
            let opts = LoopOptions {
                seed: 1,
                steps_per_submit: sampler.order().len(),
                ..Default::default()
            };
            loops.push(loop_row(
                ctx,
                sampler,
                "gaussian",
                &mut gaussian,
                shape,
                &opts,
            )?);
            loops.push(loop_row(
                ctx,
                sampler,
                "mixture",
                &mut mixture,
                shape,
                &opts,
            )?);
            // The f64 reference beside the GPU, at the smallest two shapes (it is slow beyond).
            if shape[0] <= 16 && d <= 3 * 32 * 32 {
                let by_t = sampler.chain().by_timestep();
                let cpu_gauss = cpu::sampling::gaussian_denoiser::Gaussian {
                    tables: &by_t,
                    sample_len: d,
                    data_var: sigma * sigma,
                    model,
                };
                loops.push(cpu_loop_row(sampler, "gaussian", &cpu_gauss, shape, &opts)?);
                let cpu_mix = cpu::sampling::mixture_denoiser::Mixture {
                    tables: &by_t,
                    points: &points,
                    sample_len: d,
                    data_var: sigma * sigma,
                    model,
                };
                loops.push(cpu_loop_row(sampler, "mixture", &cpu_mix, shape, &opts)?);
            }
        }
    }
    Ok(BenchReport {
        adapter: gpu::context::describe(ctx.adapter_info()),
        kernels,
        accuracy,
        loops,
    })
}
