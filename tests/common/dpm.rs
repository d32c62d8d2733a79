//! The fixtures of diffusers' multistep loops (tests/fixtures/dpm_solver/ and
//! tests/fixtures/unipc/, written by tests/reference/dpm_solver_fixtures.py and
//! unipc_fixtures.py): their folders, cases and arrays.

use ddpm_wgpu::npy::{self, NpyData};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The DPM-Solver fixtures' folder.
pub fn fixtures() -> PathBuf {
    fixtures_of("dpm_solver")
}

/// tests/fixtures/<dir>.
pub fn fixtures_of(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

/// The DPM-Solver cases.json: the loop cases and the timestep lists.
pub fn cases() -> Value {
    cases_of("dpm_solver")
}

/// tests/fixtures/<dir>/cases.json.
pub fn cases_of(dir: &str) -> Value {
    let text = std::fs::read_to_string(fixtures_of(dir).join("cases.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A float32 DPM-Solver fixture array: (shape, values).
pub fn read_f32(name: &str) -> (Vec<usize>, Vec<f32>) {
    read_f32_of("dpm_solver", name)
}

/// A float32 array of tests/fixtures/<dir>: (shape, values).
pub fn read_f32_of(dir: &str, name: &str) -> (Vec<usize>, Vec<f32>) {
    let a = npy::read(fixtures_of(dir).join(name)).unwrap();
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        other => panic!("{name}: {other:?}"),
    }
}

/// A fixture case's sigma schedule (its `use_*` option) and the timesteps its sampler visits
/// at `n` steps on `alphas_cumprod` (the spacing's for the default schedule), checked against
/// the timesteps diffusers recorded for the case.
#[allow(dead_code)]
pub fn case_steps(
    case: &Value,
    alphas_cumprod: &[f64],
) -> (ddpm_wgpu::sampler::SigmaSchedule, Vec<usize>) {
    use ddpm_wgpu::sampler::{lambda_clipped_last, sigma_steps_within, SigmaSchedule};
    use ddpm_wgpu::spacing::{multistep_timesteps_upto, Spacing};
    let o = &case["options"];
    let on = |k: &str| o[k] == Value::Bool(true);
    let kind = [
        SigmaSchedule::Karras,
        SigmaSchedule::Exponential,
        SigmaSchedule::Beta,
        SigmaSchedule::Lu,
    ]
    .into_iter()
    .find(|s| s.key().is_some_and(on))
    .unwrap_or(SigmaSchedule::Timesteps);
    let n = case["steps"].as_u64().unwrap() as usize;
    let kept = if kind == SigmaSchedule::Timesteps {
        let spacing = Spacing::parse(
            o["timestep_spacing"].as_str().unwrap_or("leading"),
            o["steps_offset"].as_u64().unwrap_or(0) as usize,
        )
        .unwrap();
        let clip = o["lambda_min_clipped"]
            .as_f64()
            .unwrap_or(f64::NEG_INFINITY);
        let last = lambda_clipped_last(alphas_cumprod, clip);
        multistep_timesteps_upto(alphas_cumprod.len(), last, n, &spacing).unwrap()
    } else {
        sigma_steps_within(alphas_cumprod, n, kind, case_bounds(case))
            .unwrap()
            .timesteps
    };
    let want: Vec<usize> = case["timesteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(kept, want, "{}: timesteps", case["case"]);
    (kind, kept)
}

/// A fixture case's `sigma_min` / `sigma_max` options.
#[allow(dead_code)]
pub fn case_bounds(case: &Value) -> ddpm_wgpu::sampler::SigmaBounds {
    let o = &case["options"];
    ddpm_wgpu::sampler::SigmaBounds {
        min: o["sigma_min"].as_f64(),
        max: o["sigma_max"].as_f64(),
    }
}

/// A fixture case's training tables: the fixture folders' DDPMScheduler schedule (linear
/// 1e-4 .. 0.02, T = 1000), rescaled to zero terminal SNR where the case sets
/// `rescale_betas_zero_snr` (the samplers then take abar_{T-1} = 2^-24, as diffusers' multistep
/// classes do).
#[allow(dead_code)]
pub fn case_tables(case: &Value) -> ddpm_wgpu::Tables {
    use ddpm_wgpu::schedule::{beta_schedule, rescale_zero_terminal_snr};
    use ddpm_wgpu::{ScheduleKind, Tables};
    let betas = beta_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    if case["options"]["rescale_betas_zero_snr"] != Value::Bool(true) {
        return Tables::new(betas).unwrap();
    }
    Tables::new(rescale_zero_terminal_snr(&betas).unwrap()).unwrap()
}

/// One fixture loop of `sampler` on UNet fixture `unet` from `opts`, on the GPU and in the f64
/// twin: their worst |got - want| / max |want| against diffusers' `want` of `shape`, printed
/// with `name` (the loop tests of dpm_solver.rs, unipc.rs and euler.rs share it).
#[allow(dead_code)]
pub fn unet_loop_errors(
    ctx: &ddpm_wgpu::gpu::Context,
    sampler: &dyn ddpm_wgpu::sampler::Sampler,
    (name, unet): (&str, &str),
    shape: &[usize],
    want: &[f32],
    opts: &ddpm_wgpu::gpu::sample_loop::LoopOptions,
) -> (f64, f64) {
    use ddpm_wgpu::cpu::nn::UNetCpu;
    let (unet, _) = super::unet::model(unet);
    let mut den = ddpm_wgpu::gpu::UNetDenoiser::new(ctx, &unet, 1000).unwrap();
    let gpu = ddpm_wgpu::gpu::sample_loop::sample_loop(
        ctx,
        sampler,
        &mut den,
        shape,
        opts,
        &mut |_, _| {},
    )
    .unwrap()
    .x0;
    let twin = UNetCpu::new(&unet, shape[2], shape[3]).unwrap();
    let len = shape[1..].iter().product();
    let cpu =
        ddpm_wgpu::cpu::sampling::sample_loop::sample_loop(sampler, &twin, shape[0], len, opts)
            .unwrap();
    let scale = want.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    let rel = |got: &mut dyn Iterator<Item = f64>| {
        got.zip(want)
            .map(|(g, &w)| (g - f64::from(w)).abs())
            .fold(0.0, f64::max)
            / scale
    };
    let (g, c) = (
        rel(&mut gpu.iter().map(|&v| f64::from(v))),
        rel(&mut cpu.iter().copied()),
    );
    println!("{name}: max |x| {scale:.1}, gpu {g:.2e}, cpu twin {c:.2e} of it");
    (g, c)
}

/// A fixture case's spacing: its `timestep_spacing` (leading where absent) with its
/// `steps_offset`.
#[allow(dead_code)]
pub fn case_spacing(case: &Value) -> ddpm_wgpu::spacing::Spacing {
    let o = &case["options"];
    ddpm_wgpu::spacing::Spacing::parse(
        o["timestep_spacing"].as_str().unwrap_or("leading"),
        o["steps_offset"].as_u64().unwrap_or(0) as usize,
    )
    .unwrap()
}

/// A fixture case's mean type: its `prediction_type` (epsilon where absent).
#[allow(dead_code)]
pub fn case_mean_type(case: &Value) -> ddpm_wgpu::MeanType {
    match case["options"]["prediction_type"]
        .as_str()
        .unwrap_or("epsilon")
    {
        "epsilon" => ddpm_wgpu::MeanType::Eps,
        "v_prediction" => ddpm_wgpu::MeanType::V,
        "sample" => ddpm_wgpu::MeanType::Xstart,
        other => panic!("{other}"),
    }
}

/// The timesteps diffusers recorded for a case (as integers).
#[allow(dead_code)]
pub fn case_timesteps(case: &Value) -> Vec<usize> {
    case["timesteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap() as usize)
        .collect()
}

/// The timesteps diffusers recorded for a case, as the float32 values they are.
#[allow(dead_code)]
pub fn case_times(case: &Value) -> Vec<f64> {
    case["timesteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect()
}

/// Assert that `got` are diffusers' float32 sigmas `case["sigmas"]` (its first `got.len()`):
/// within 2e-6 relative, plus 6e-8 / sigma. Both form sigma = sqrt((1 - abar) / abar) in
/// float32 arithmetic, but on float32 abar that may differ by an ulp (our f64 cumulative
/// product rounded, torch's float32 one), which 1 - abar's cancellation turns into
/// 3e-8 / sigma^2 of sigma near t = 0 (1.4e-4 relative at t = 1).
#[allow(dead_code)]
pub fn assert_case_sigmas(case: &Value, got: &[f64]) {
    let want = case["sigmas"].as_array().unwrap();
    for (g, w) in got.iter().zip(want) {
        let w = w.as_f64().unwrap();
        assert!(
            (g - w).abs() <= 2e-6 * w.abs().max(1.0) + 6e-8 / w.abs().max(1e-3),
            "{}: sigma {g} against diffusers' {w}",
            case["case"]
        );
    }
}

/// A sigma-space case's steps (Euler, Heun, LMS): its spacing's timesteps and sigmas on
/// `tables` (float32 linspace ones, or the chain's), under the sigma schedule its `use_*`
/// option names; and whether they need the sampler's `on_times` (linspace or a schedule: the
/// model is called at non-integer timesteps). The timesteps are checked against diffusers'
/// within 5e-3: `_sigma_to_t` interpolates in log sigma of the float32 table, whose abar may
/// be an ulp from torch's (see [`assert_case_sigmas`]), and a schedule's sigmas carry their
/// bounds' rounding: 1.8e-3 of a timestep was measured before the bounds were formed in
/// float32 as diffusers forms them. The sigmas as [`assert_case_sigmas`] says.
#[allow(dead_code)]
pub fn case_sigma_times(
    case: &Value,
    tables: &ddpm_wgpu::Tables,
) -> (ddpm_wgpu::sampler::SigmaTimes, bool) {
    use ddpm_wgpu::sampler::{SigmaSchedule, SigmaTimes};
    use ddpm_wgpu::spacing::Spacing;
    let o = &case["options"];
    let n = case["steps"].as_u64().unwrap() as usize;
    let kind = [
        SigmaSchedule::Karras,
        SigmaSchedule::Exponential,
        SigmaSchedule::Beta,
    ]
    .into_iter()
    .find(|s| s.key().is_some_and(|k| o[k] == Value::Bool(true)))
    .unwrap_or(SigmaSchedule::Timesteps);
    let spacing = case_spacing(case);
    let linspace = spacing == Spacing::Linspace;
    let spaced = if linspace {
        SigmaTimes::linspace(&tables.alphas_cumprod, n).unwrap()
    } else {
        let ts = ddpm_wgpu::spacing::timesteps(tables.num_timesteps(), n, &spacing).unwrap();
        SigmaTimes::of_chain(&ddpm_wgpu::chain::Chain::respaced(tables, &ts).unwrap())
    };
    let st = spaced
        .scheduled_within(&tables.alphas_cumprod, kind, case_bounds(case))
        .unwrap();
    // Heun lists each later timestep twice; Euler and LMS once.
    let want = case_times(case);
    let want: Vec<f64> = if case["class"] == "heun" {
        std::iter::once(want[0])
            .chain(want[1..].iter().step_by(2).copied())
            .collect()
    } else {
        want
    };
    assert_eq!(st.times.len(), want.len(), "{}", case["case"]);
    // Continuous timesteps (0.25 ln sigma) are the sampler's, checked by the caller.
    let continuous = o["timestep_type"] == "continuous";
    for (g, w) in st.times.iter().zip(&want).filter(|_| !continuous) {
        assert!(
            (g - w).abs() <= 5e-3,
            "{}: timestep {g} against {w}",
            case["case"]
        );
    }
    (st, linspace || kind != SigmaSchedule::Timesteps)
}
