//! `ddpm soak`: the arguments and the printing around `ddpm_wgpu::soak`.

use ddpm_wgpu::error::Result;
use ddpm_wgpu::gpu::Context;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct SoakArgs {
    /// Sampling loops ([2, 3, 8, 8], T = 20, mixture denoiser).
    #[arg(long, default_value_t = 10_000)]
    pub loops: usize,
    /// Op calls (q-sample, p-sample, vb-terms-bpd in turn, on the GPU).
    #[arg(long, default_value_t = 100_000)]
    pub ops: usize,
    /// A reading every this many iterations of each phase (0: about 50 per phase).
    #[arg(long, default_value_t = 0)]
    pub every: usize,
    /// Print JSON (every reading) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &SoakArgs) -> Result<ExitCode> {
    use crate::soak::{self, SoakPlan};
    let ctx = Context::new()?;
    let plan = SoakPlan {
        loops: args.loops,
        ops: args.ops,
        every: args.every,
    };
    let phases = soak::run(&ctx, &plan, &mut |_| Ok(()), &mut |_, _| {})?;
    print!(
        "{}",
        if args.json {
            soak::json(&phases)
        } else {
            soak::table(&phases)
        }
    );
    Ok(ExitCode::SUCCESS)
}
