//! The multistep samplers' sigma schedules (`sampler::sigma_steps`: Karras, exponential, beta,
//! lu) against diffusers' own `set_timesteps` of DPMSolverMultistepScheduler and
//! UniPCMultistepScheduler (tests/fixtures/dpm_solver/sigma_lists.json, written by
//! tests/reference/dpm_solver_fixtures.py): the timesteps exactly, the sigmas within f32
//! rounding, a timestep diffusers visits twice visited twice, and a list that repeats its first
//! timestep (where diffusers steps past its sigmas) refused by name. And DPM-Solver's
//! `lambda_min_clipped` (`sampler::lambda_clipped_last`) against its set_timesteps on the
//! linear and squared-cosine schedules (tests/fixtures/dpm_solver/cases.json).

mod common;

use ddpm_wgpu::sampler::{lambda_clipped_last, sigma_steps, sigma_steps_truncated, SigmaSchedule};
use ddpm_wgpu::spacing::{multistep_timesteps_upto, Spacing};
use ddpm_wgpu::{ScheduleKind, Tables};
use serde_json::Value;

fn lists() -> Vec<Value> {
    let path = common::dpm::fixtures().join("sigma_lists.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn kind(key: &str) -> SigmaSchedule {
    [
        SigmaSchedule::Karras,
        SigmaSchedule::Exponential,
        SigmaSchedule::Beta,
        SigmaSchedule::Lu,
    ]
    .into_iter()
    .find(|s| s.key() == Some(key))
    .unwrap()
}

#[test]
fn sigma_schedules_match_diffusers_set_timesteps() {
    let all = lists();
    let (mut equal, mut refused, mut repeats) = (0, 0, 0);
    let (mut worst, mut worst_cosine) = (0.0f64, 0.0f64);
    for l in &all {
        let (big_t, n) = (
            l["T"].as_u64().unwrap() as usize,
            l["N"].as_u64().unwrap() as usize,
        );
        // Both classes' default schedule, linear 1e-4 .. 0.02, or DPM-Solver on the squared
        // cosine, where it truncates every schedule's timesteps (Karras and lu too).
        let cosine = l["schedule"] == "squaredcos_cap_v2";
        let schedule = if cosine {
            ScheduleKind::Cosine
        } else {
            ScheduleKind::Linear
        };
        let tables = Tables::from_schedule(schedule, 1e-4, 0.02, big_t).unwrap();
        let key = kind(l["key"].as_str().unwrap());
        let got = match cosine {
            true => sigma_steps_truncated(&tables.alphas_cumprod, n, key),
            false => sigma_steps(&tables.alphas_cumprod, n, key),
        };
        let first_twice = l["timesteps"][0] == l["timesteps"][1];
        if l["repeats"] == Value::Bool(true) {
            repeats += 1;
        }
        if first_twice {
            // diffusers starts such a list at its second sigma and steps past the last.
            let e = got.unwrap_err().to_string();
            assert!(e.contains("first and again second"), "{l}: {e}");
            refused += 1;
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{l}: {e}"));
        let want_t: Vec<usize> = l["timesteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(got.timesteps, want_t, "{l}");
        let want_s: Vec<f64> = l["sigmas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect();
        assert_eq!(want_s.len(), n + 1, "{l}");
        let last = match (l["final"].as_str().unwrap(), l["class"].as_str().unwrap()) {
            ("zero", _) => 0.0,
            (_, "DPMSolverMultistepScheduler") => got.sigma_min,
            _ => got.sigmas[n - 1],
        };
        for (g, w) in got.sigmas.iter().chain([&last]).zip(&want_s) {
            // Both are f32 values (diffusers' float32 sigmas; ours rounded from f64 over the
            // same f32 table): within a few f32 roundings, 2.1e-7 measured.
            let rel = (g - w).abs() / w.abs().max(1e-30);
            let err = if *w == 0.0 { g.abs() } else { rel };
            if cosine {
                worst_cosine = worst_cosine.max(err);
            } else {
                worst = worst.max(err);
            }
        }
        equal += 1;
    }
    eprintln!(
        "{equal} lists equal ({} repeating a timestep), {refused} refused, worst sigma \
         relative error {worst:.3e}",
        repeats - refused
    );
    let cosine = all
        .iter()
        .filter(|l| l["schedule"] == "squaredcos_cap_v2" && l["repeats"] == false)
        .count();
    assert!(cosine >= 5, "{cosine} squared-cosine lists without repeats");
    assert!(worst < 1e-6, "worst sigma relative error {worst:.3e}");
    // The squared cosine's sigma(0) is sqrt((1 - abar_0) / abar_0) with 1 - abar_0 = 4e-5,
    // formed in float32 on either side: where our float32 abar_0 (the exact product rounded)
    // and torch's differ in the last bit the cancellation magnifies it; measured 6.6e-6,
    // bounded at 1e-4.
    eprintln!("squared cosine: worst sigma relative error {worst_cosine:.3e}");
    assert!(worst_cosine < 1e-4, "{worst_cosine:.3e}");
    assert!(
        equal >= 250 && repeats - refused >= 70 && refused >= 10,
        "{equal} equal, {repeats} repeating, {refused} refused"
    );
}

#[test]
fn lambda_min_clipped_timesteps_match_diffusers() {
    let all = common::dpm::cases();
    let lists = all["clipped_lists"].as_array().unwrap();
    assert_eq!(lists.len(), 96);
    let mut shorter = 0;
    for l in lists {
        let kind = match l["schedule"].as_str().unwrap() {
            "linear" => ScheduleKind::Linear,
            _ => ScheduleKind::Cosine,
        };
        let tables = Tables::from_schedule(kind, 1e-4, 0.02, 1000).unwrap();
        let last = lambda_clipped_last(
            &tables.alphas_cumprod,
            l["lambda_min_clipped"].as_f64().unwrap(),
        );
        let spacing = Spacing::parse(l["spacing"].as_str().unwrap(), 0).unwrap();
        let n = l["N"].as_u64().unwrap() as usize;
        let got = multistep_timesteps_upto(1000, last, n, &spacing).unwrap();
        let want: Vec<usize> = l["timesteps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(got, want, "{l}");
        shorter += usize::from(got.len() < n);
    }
    // Trailing keeps its stride from the clipped end: fewer steps, as diffusers takes.
    assert!(shorter >= 10, "{shorter} shorter lists");
}
