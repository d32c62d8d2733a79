//! The soak in small (200 sampling loops, 2000 op calls): resident memory and wgpu's live
//! buffers must not grow once warmed up. The same run with a leak put in (1 KiB of host memory
//! and one [2, 3, 8, 8] tensor kept per iteration) must be caught, so the check can fail.
//!
//! Threshold: 256 KiB of resident memory per 1000 iterations. After the first tenth of each
//! phase the resident size measured here does not move at all (0 B per 1000 on lavapipe and
//! llvmpipe, page granular), while the smallest leak of a library object per iteration costs
//! at least about 1 KiB of host memory (a wgpu buffer's bookkeeping, a tensor's shape, a
//! uniform's staging), 1 MiB per 1000: the threshold sits 4x below that and far above the
//! noise. Live buffers: under 1 per 1000 iterations (a leaked buffer per iteration is 1000).
//! One test in this binary, so no other test's allocations share the process.

mod common;
use ddpm_wgpu::gpu::GpuTensor;
// `ddpm soak`'s engine, a module of the command line, included by path so that the library
// does not export it.
#[path = "../src/cli/soak.rs"]
#[allow(dead_code)] // the command's JSON and printing are not used here
mod soak;
use soak::{Phase, SoakPlan};

const RSS_PER_1000: f64 = 256.0 * 1024.0;
const LIVE_BUFFERS_PER_1000: f64 = 1.0;

fn check(phases: &[Phase]) -> Result<(), String> {
    for p in phases {
        let rss = p.rss_slope.ok_or(format!("{}: too few readings", p.name))?;
        if rss > RSS_PER_1000 {
            return Err(format!(
                "{}: resident memory grows {rss:.0} B per 1000",
                p.name
            ));
        }
        let live = p
            .live_buffers_slope
            .ok_or(format!("{}: too few readings", p.name))?;
        if live > LIVE_BUFFERS_PER_1000 {
            return Err(format!("{}: {live:.1} more live buffers per 1000", p.name));
        }
    }
    Ok(())
}

#[test]
fn memory_stays_flat_and_a_leak_is_caught() {
    let Some(ctx) = common::gpu() else { return };
    let plan = SoakPlan {
        loops: 200,
        ops: 2000,
        every: 0,
    };
    let phases = soak::run(&ctx, &plan, &mut |_| Ok(()), &mut |_, _| {}).unwrap();
    eprintln!("{}", soak::table(&phases));
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[0].readings.len(), 51);
    check(&phases).unwrap();

    let mut kept = Vec::new();
    let mut leak = |ctx: &ddpm_wgpu::gpu::Context| {
        std::mem::forget(vec![1u8; 1024]);
        kept.push(GpuTensor::zeros(ctx, &soak::SHAPE)?);
        Ok(())
    };
    let small = SoakPlan {
        loops: 100,
        ops: 300,
        every: 0,
    };
    let leaky = soak::run(&ctx, &small, &mut leak, &mut |_, _| {}).unwrap();
    eprintln!("with a leak:\n{}", soak::table(&leaky));
    let caught = check(&leaky).unwrap_err();
    assert!(caught.contains("loops"), "{caught}");
    for p in &leaky {
        // One buffer per iteration: 1000 per 1000, whatever else the run does.
        let live = p.live_buffers_slope.unwrap();
        assert!((live - 1000.0).abs() < 50.0, "{}: {live}", p.name);
    }
}
