//! `ddpm bench --model DIR --loop ARGS`: a loop row for any sampler, built exactly as
//! `ddpm sample --model DIR ARGS` builds it (the model folder's scheduler config, the short
//! names and their flags), and `--loop picked`: each sampler at the step count the quality
//! table (benches/samplers.md) picked for the embedded digits model.

use crate::sample_args::SampleArgs;
use crate::sample_setup::Setup;
use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::gpu::Context;
use ddpm_wgpu::sampler::Sampler;

/// What `--loop picked` runs: each sampler of benches/samplers.md at the fewest model
/// evaluations that score as well as DDIM-50 on every criterion there, or, for a sampler
/// that does not within the counts measured, at its most measured.
pub(crate) const PICKED: &[&str] = &[
    "--sampler ddim --steps 50",
    "--sampler dpm++2m --steps 10",
    "--sampler dpm++3m --steps 10",
    "--sampler unipc --steps 10",
    "--sampler pndm --skip-prk-steps true --steps 9",
    "--sampler heun --steps 10",
    "--sampler lms --steps 15",
    "--sampler euler --steps 20",
    "--sampler euler-a --steps 25",
    "--sampler dpm++2m-sde --steps 25",
];

/// The flags a loop's ARGS may give: those that pick the sampler and its steps. The others
/// (count, seed, noise, output...) belong to the bench or to `ddpm sample` and are refused
/// by name rather than ignored.
const SAMPLER_FLAGS: &[&str] = &[
    "--sampler",
    "--steps",
    "--spacing",
    "--respace",
    "--steps-offset",
    "--eta",
    "--use-clipped-model-output",
    "--set-alpha-to-one",
    "--thresholding",
    "--threshold-ratio",
    "--sample-max",
    "--scheduler-config",
    "--order",
    "--final-sigma",
    "--lower-order-final",
    "--sigmas",
    "--skip-prk-steps",
    "--mean-type",
    "--clip-denoised",
    "--clip-range",
];

#[derive(clap::Parser)]
#[command(no_binary_name = true)]
struct LoopArgs {
    #[command(flatten)]
    sample: SampleArgs,
}

/// The sampler of each `--loop` value (`picked` expands to [`PICKED`]) for model `spec`.
pub(crate) fn samplers(
    ctx: &Context,
    spec: &str,
    loops: &[String],
) -> Result<Vec<Box<dyn Sampler>>> {
    let mut out = Vec::new();
    for value in loops {
        let list: Vec<&str> = match value.as_str() {
            "picked" => PICKED.to_vec(),
            one => vec![one],
        };
        for args in list {
            out.push(sampler(ctx, spec, args)?);
        }
    }
    Ok(out)
}

/// The sampler `ddpm sample --model spec ARGS` runs.
fn sampler(ctx: &Context, spec: &str, args: &str) -> Result<Box<dyn Sampler>> {
    let bad = |why: String| Error::Unsupported(format!("--loop \"{args}\": {why}"));
    let words: Vec<&str> = args.split_whitespace().collect();
    if let Some(flag) = words.iter().find(|w| {
        w.starts_with('-')
            && w.parse::<f64>().is_err()
            && !SAMPLER_FLAGS.contains(&w.split('=').next().unwrap_or(w))
    }) {
        return Err(bad(format!(
            "{flag} is not a sampler flag (a loop takes {})",
            SAMPLER_FLAGS.join(", ")
        )));
    }
    let parsed = <LoopArgs as clap::Parser>::try_parse_from(
        ["--model", spec].into_iter().chain(words.iter().copied()),
    )
    .map_err(|e| {
        let text = e.to_string();
        let line = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ");
        bad(line.to_string())
    })?;
    if parsed.sample.sampler.is_none() {
        return Err(bad("give --sampler NAME".into()));
    }
    Ok(Setup::new(&parsed.sample, Some(ctx))?.sampler)
}
