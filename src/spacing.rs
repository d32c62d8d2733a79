//! Timestep sequences: which of the T training steps a sampler visits, in f64/integer host
//! arithmetic exactly as diffusers' `set_timesteps` (`leading`, `linspace`, `trailing`) and
//! improved-diffusion's `space_timesteps` (section counts, `ddimN`) compute them.
//!
//! [`timesteps`] returns them in sampling order (descending). Where those libraries would
//! produce a list that is not a strictly decreasing set of steps in [0, T) (diffusers' trailing
//! spacing for some N is N + 1 long and ends in -1; leading spacing plus `steps_offset` can reach
//! T), this is an error rather than a silently different chain.

use crate::error::{Error, Result};

/// How N of T training steps are chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spacing {
    /// diffusers `leading`: `arange(N) * (T // N) + steps_offset`.
    Leading {
        /// diffusers' `steps_offset` (1 in Stable Diffusion's configs, 0 by default).
        steps_offset: usize,
    },
    /// diffusers `linspace`: `round(linspace(0, T - 1, N))`, ties to even as numpy rounds.
    Linspace,
    /// diffusers `trailing`: `round(arange(T, 0, -T / N)) - 1`.
    Trailing,
    /// improved-diffusion's `space_timesteps` section counts: `ddimN` (the integer stride that
    /// gives exactly N steps) or `a,b,c` (a steps from the first third of [0, T), b from the
    /// second, c from the last). N is given by the spec, not by `steps`.
    Improved(String),
}

impl Spacing {
    /// Parse a CLI spacing name: `leading`, `linspace`, `trailing` or `improved:SPEC`.
    pub fn parse(name: &str, steps_offset: usize) -> Result<Self> {
        match name {
            "leading" => Ok(Spacing::Leading { steps_offset }),
            "linspace" => Ok(Spacing::Linspace),
            "trailing" => Ok(Spacing::Trailing),
            _ => match name.strip_prefix("improved:") {
                Some(spec) => Ok(Spacing::Improved(spec.to_string())),
                None => Err(Error::UnknownName {
                    kind: "spacing",
                    name: name.to_string(),
                    expected: "leading, linspace, trailing, improved:SPEC".into(),
                }),
            },
        }
    }

    fn offset(&self) -> usize {
        match self {
            Spacing::Leading { steps_offset } => *steps_offset,
            _ => 0,
        }
    }
}

/// A respacing as `ddpm op --respace` and `ddpm sample --respace` take it: `leading:N`,
/// `linspace:N`, `trailing:N` or `improved:SPEC`, with `steps_offset` for leading.
pub fn parse_respace(spec: &str, steps_offset: usize) -> Result<(Spacing, usize)> {
    if let Some(s) = spec.strip_prefix("improved:") {
        return Ok((Spacing::Improved(s.to_string()), 0));
    }
    let bad = || {
        Error::Unsupported(format!(
            "--respace '{spec}' is not leading:N, linspace:N, trailing:N or improved:SPEC"
        ))
    };
    let (name, n) = spec.split_once(':').ok_or_else(bad)?;
    let n: usize = n.parse().map_err(|_| bad())?;
    if name == "improved" {
        return Err(bad());
    }
    Ok((Spacing::parse(name, steps_offset)?, n))
}

/// The kept timesteps for `steps` = N of `num_timesteps` = T training steps, in sampling order
/// (strictly descending), or an error naming what is wrong.
pub fn timesteps(num_timesteps: usize, steps: usize, spacing: &Spacing) -> Result<Vec<usize>> {
    let big_t = num_timesteps;
    if big_t == 0 {
        return Err(Error::InvalidSchedule(
            "the number of timesteps T must be at least 1".into(),
        ));
    }
    let needs_n = !matches!(spacing, Spacing::Improved(_));
    if needs_n && (steps == 0 || steps > big_t) {
        return Err(Error::Unsupported(format!(
            "--steps must be in [1, T = {big_t}], got {steps}"
        )));
    }
    let ts: Vec<i64> = match spacing {
        Spacing::Leading { steps_offset } => {
            let ratio = (big_t / steps) as i64;
            (0..steps as i64)
                .rev()
                .map(|i| i * ratio + *steps_offset as i64)
                .collect()
        }
        Spacing::Linspace => crate::schedule::linspace(0.0, (big_t - 1) as f64, steps)
            .into_iter()
            .rev()
            .map(|v| v.round_ties_even() as i64)
            .collect(),
        Spacing::Trailing => numpy_arange_desc(big_t as f64, big_t as f64 / steps as f64)
            .into_iter()
            .map(|v| v.round_ties_even() as i64 - 1)
            .collect(),
        Spacing::Improved(spec) => {
            let mut kept = improved_space_timesteps(big_t, spec)?;
            kept.reverse();
            kept.into_iter().map(|t| t as i64).collect()
        }
    };
    checked(ts, spacing, steps, big_t)
}

/// The timesteps of diffusers' multistep solvers (`DPMSolverMultistepScheduler.set_timesteps`,
/// with `lambda_min_clipped` at its default, -inf), in sampling order: N + 1 points spaced
/// over [0, T - 1] (linspace) or by T // (N + 1) (leading, plus `steps_offset`) with the
/// smallest, 0, dropped; trailing as DDIM's. Unlike [`timesteps`], none of them visits t = 0
/// unless the spacing lands there (trailing's last step, or a leading offset of 0 never does).
pub fn multistep_timesteps(
    num_timesteps: usize,
    steps: usize,
    spacing: &Spacing,
) -> Result<Vec<usize>> {
    multistep_timesteps_upto(num_timesteps, num_timesteps, steps, spacing)
}

/// [`multistep_timesteps`] over [0, `last`) instead of [0, T): DPM-Solver's timesteps with a
/// finite `lambda_min_clipped`, `last` being T less the timesteps whose lambda is below it
/// (`sampler::lambda_clipped_last`). Trailing keeps its stride T / N from `last` down, so it
/// gives fewer than N steps when `last` < T, as diffusers does.
pub fn multistep_timesteps_upto(
    num_timesteps: usize,
    last: usize,
    steps: usize,
    spacing: &Spacing,
) -> Result<Vec<usize>> {
    let big_t = num_timesteps;
    if big_t == 0 || steps == 0 || steps > big_t {
        return Err(Error::Unsupported(format!(
            "--steps must be in [1, T = {big_t}], got {steps}"
        )));
    }
    if last == 0 || last > big_t {
        return Err(Error::Unsupported(format!(
            "lambda_min_clipped leaves no timestep of {big_t} to sample from"
        )));
    }
    let ts: Vec<i64> = match spacing {
        Spacing::Linspace => crate::schedule::linspace(0.0, (last - 1) as f64, steps + 1)
            .into_iter()
            .rev()
            .take(steps)
            .map(|v| v.round_ties_even() as i64)
            .collect(),
        Spacing::Leading { steps_offset } => {
            let ratio = (last / (steps + 1)) as i64;
            (1..=steps as i64)
                .rev()
                .map(|i| i * ratio + *steps_offset as i64)
                .collect()
        }
        Spacing::Trailing if last == big_t => return timesteps(big_t, steps, spacing),
        Spacing::Trailing => numpy_arange_desc(last as f64, big_t as f64 / steps as f64)
            .into_iter()
            .map(|v| v.round_ties_even() as i64 - 1)
            .collect(),
        Spacing::Improved(_) => {
            return Err(Error::Unsupported(
                "improved-diffusion's spacings are for DDPM and DDIM; diffusers' multistep \
                 solvers take leading, linspace or trailing"
                    .into(),
            ))
        }
    };
    checked(ts, spacing, steps, big_t)
}

/// `ts` as timesteps, or an error where one is outside [0, T) or the list is not strictly
/// descending (a repeated timestep).
fn checked(ts: Vec<i64>, spacing: &Spacing, steps: usize, big_t: usize) -> Result<Vec<usize>> {
    if let Some(&bad) = ts.iter().find(|&&t| t < 0 || t >= big_t as i64) {
        return Err(Error::Unsupported(format!(
            "{spacing:?} spacing of {steps} of {big_t} steps (steps_offset {}) gives timestep \
             {bad}, outside [0, {big_t}); diffusers would index out of its tables there",
            spacing.offset()
        )));
    }
    if ts.windows(2).any(|w| w[1] >= w[0]) {
        return Err(Error::Unsupported(format!(
            "{spacing:?} spacing of {steps} of {big_t} steps repeats a timestep: {ts:?}"
        )));
    }
    Ok(ts.into_iter().map(|t| t as usize).collect())
}

/// `numpy.arange(start, 0, -step)` for positive `start` and `step`, as numpy computes it: length
/// ceil(start / step), then `fill` from the first two values (start, start - step) with their
/// rounded difference as the stride.
fn numpy_arange_desc(start: f64, step: f64) -> Vec<f64> {
    let len = ((0.0 - start) / -step).ceil().max(0.0) as usize;
    let second = start + -step;
    let delta = second - start;
    (0..len)
        .map(|i| match i {
            0 => start,
            1 => second,
            _ => start + i as f64 * delta,
        })
        .collect()
}

/// improved-diffusion's `space_timesteps(T, section_counts)`: the kept steps, ascending.
pub fn improved_space_timesteps(num_timesteps: usize, spec: &str) -> Result<Vec<usize>> {
    let big_t = num_timesteps;
    let bad = |why: String| Error::Unsupported(format!("improved spacing '{spec}': {why}"));
    if let Some(n) = spec.strip_prefix("ddim") {
        let want: usize = n
            .parse()
            .map_err(|_| bad("ddimN needs an integer N".into()))?;
        // The smallest integer stride i in [1, T) with exactly N steps in range(0, T, i).
        return (1..big_t)
            .find(|i| big_t.div_ceil(*i) == want)
            .map(|i| (0..big_t).step_by(i).collect())
            .ok_or_else(|| {
                bad(format!(
                    "cannot create exactly {want} steps with an integer stride"
                ))
            });
    }
    let counts: Vec<usize> = spec
        .split(',')
        .map(|c| c.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| bad("expected ddimN or comma-separated section counts".into()))?;
    let size_per = big_t / counts.len();
    let extra = big_t % counts.len();
    let mut start = 0usize;
    let mut all = Vec::new();
    for (i, &count) in counts.iter().enumerate() {
        let size = size_per + usize::from(i < extra);
        if size < count {
            return Err(bad(format!(
                "cannot divide a section of {size} steps into {count}"
            )));
        }
        let stride = if count <= 1 {
            1.0
        } else {
            (size - 1) as f64 / (count - 1) as f64
        };
        // Python accumulates the fractional index by repeated addition and rounds ties to even.
        let mut cur = 0.0f64;
        for _ in 0..count {
            all.push(start + cur.round_ties_even() as usize);
            cur += stride;
        }
        start += size;
    }
    all.sort_unstable();
    all.dedup();
    if all.is_empty() {
        return Err(bad("keeps no step".into()));
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffusers_spacings_of_ten_of_a_thousand() {
        let lead = timesteps(1000, 10, &Spacing::Leading { steps_offset: 1 }).unwrap();
        assert_eq!(lead, [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
        let lin = timesteps(1000, 10, &Spacing::Linspace).unwrap();
        assert_eq!(lin, [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
        let trail = timesteps(1000, 10, &Spacing::Trailing).unwrap();
        assert_eq!(trail, [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    }

    #[test]
    fn improved_sections_and_ddim_strides() {
        assert_eq!(
            improved_space_timesteps(1000, "ddim50").unwrap(),
            (0..1000).step_by(20).collect::<Vec<_>>()
        );
        // Ten steps in one section of 100: stride 99 / 9 = 11.
        assert_eq!(
            improved_space_timesteps(100, "10").unwrap(),
            [0, 11, 22, 33, 44, 55, 66, 77, 88, 99]
        );
        // Three sections of 4, 3, 3 steps (T = 10): 2 + 1 + 3 kept.
        assert_eq!(
            improved_space_timesteps(10, "2,1,3").unwrap(),
            [0, 3, 4, 7, 8, 9]
        );
        assert!(improved_space_timesteps(10, "5,5,5").is_err());
        assert!(improved_space_timesteps(1000, "ddim999").is_err());
        assert!(improved_space_timesteps(10, "x").is_err());
    }

    #[test]
    fn out_of_range_and_bad_counts_are_errors() {
        // leading with an offset that reaches T.
        assert!(timesteps(10, 10, &Spacing::Leading { steps_offset: 1 }).is_err());
        assert!(timesteps(10, 0, &Spacing::Linspace).is_err());
        assert!(timesteps(10, 11, &Spacing::Trailing).is_err());
        assert!(parse_respace("leading:x", 0).is_err());
        assert_eq!(
            parse_respace("trailing:5", 0).unwrap(),
            (Spacing::Trailing, 5)
        );
    }
}
