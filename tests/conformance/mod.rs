//! Reading tests/fixtures/samplers/, written by tests/reference/sampler_conformance.py from
//! diffusers and improved-diffusion (the file formats: tests/reference/conformance_fixtures.py),
//! into the op settings and inputs `ddpm op` would build from the same flags.
#![allow(dead_code)] // each test binary uses a different subset

use ddpm_wgpu::check::Case;
use ddpm_wgpu::npy::{self, NpyArray, NpyData};
use ddpm_wgpu::ops::{Op, OpSettings, StepSettings};
use ddpm_wgpu::sampler::{DdimOptions, Threshold};
use ddpm_wgpu::schedule::{beta_schedule, rescale_zero_terminal_snr};
use ddpm_wgpu::spacing;
use ddpm_wgpu::{LossType, ModelOptions, ScheduleKind, Tables};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samplers")
}

fn lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// A `timesteps.txt` line: `spacing T N offset: t t t ...` or `...: error`.
pub struct TimestepCase {
    pub spacing: String,
    pub big_t: usize,
    pub n: usize,
    pub offset: usize,
    /// diffusers' list (descending), or `None` where it is no chain and ours must refuse.
    pub want: Option<Vec<usize>>,
}

pub fn timestep_cases() -> Vec<TimestepCase> {
    lines("timesteps.txt")
        .iter()
        .map(|l| {
            let (head, body) = l.split_once(':').unwrap_or_else(|| panic!("bad line {l}"));
            // `improved:SPEC` has its own colon: the head is everything before the last ':'.
            let (head, body) = match head.starts_with("improved") {
                true => l.rsplit_once(':').unwrap(),
                false => (head, body),
            };
            let w: Vec<&str> = head.split_whitespace().collect();
            let body = body.trim();
            TimestepCase {
                spacing: w[0].to_string(),
                big_t: w[1].parse().unwrap(),
                n: w[2].parse().unwrap(),
                offset: w[3].parse().unwrap(),
                want: (body != "error").then(|| {
                    body.split_whitespace()
                        .map(|v| v.parse().unwrap())
                        .collect()
                }),
            }
        })
        .collect()
}

/// The concatenated arrays of steps_*.npy.
pub struct Arrays {
    pub inputs: Vec<f32>,
    pub want64: Vec<f64>,
    pub want32: Vec<f32>,
    pub slack32: Vec<f32>,
}

fn read(name: &str) -> NpyData {
    npy::read(dir().join(name)).unwrap().data
}

pub fn arrays() -> Arrays {
    match (
        read("steps_in.npy"),
        read("steps_want64.npy"),
        read("steps_want32.npy"),
        read("steps_slack32.npy"),
    ) {
        (NpyData::F32(inputs), NpyData::F64(want64), NpyData::F32(want32), NpyData::F32(s)) => {
            Arrays {
                inputs,
                want64,
                want32,
                slack32: s,
            }
        }
        _ => panic!("steps_*.npy: unexpected dtypes"),
    }
}

/// The betas of a fixture file (float64, diffusers' formulas).
pub fn betas(name: &str) -> Vec<f64> {
    match read(name) {
        NpyData::F64(v) => v,
        other => panic!("{name}: {} instead of float64", other.dtype()),
    }
}

/// diffusers' schedule name and its beta range in the fixtures (tests/reference/
/// conformance_cases.py SCHEDULES).
pub fn schedule_of(name: &str) -> (ScheduleKind, f64, f64) {
    match name {
        "linear" => (ScheduleKind::Linear, 1e-4, 0.02),
        "scaled_linear" => (ScheduleKind::Quad, 0.00085, 0.012),
        "squaredcos_cap_v2" => (ScheduleKind::Cosine, 1e-4, 0.02),
        "sigmoid" => (ScheduleKind::Sigmoid, 1e-4, 0.02),
        other => panic!("no schedule {other}"),
    }
}

/// Our own betas for a fixture's `betas_<diffusers name>_<T>_<rescale>.npy`: the named
/// schedule (`ddpm op --schedule ... [--rescale-zero-snr]`).
pub fn our_betas(file: &str) -> Vec<f64> {
    let stem = file.trim_start_matches("betas_").trim_end_matches(".npy");
    let mut parts = stem.rsplitn(3, '_');
    let rescale = parts.next().unwrap() == "1";
    let big_t: usize = parts.next().unwrap().parse().unwrap();
    let (kind, b0, b1) = schedule_of(parts.next().unwrap());
    let betas = beta_schedule(kind, b0, b1, big_t).unwrap();
    match rescale {
        true => rescale_zero_terminal_snr(&betas).unwrap(),
        false => betas,
    }
}

/// A `steps.txt` line.
pub struct StepCase {
    pub name: String,
    pub op: Op,
    pub betas: String,
    pub t: Vec<u32>,
    pub shape: Vec<usize>,
    /// (input name, offset into `Arrays::inputs`); each holds `shape`'s elements.
    pub inputs: Vec<(String, usize)>,
    /// (output name, offset, length) into the want arrays.
    pub outputs: Vec<(String, usize, usize)>,
    /// ok, error (ours must refuse: diffusers cannot do it either) or skip (thresholding, while
    /// ours says it is not available yet).
    pub expect: String,
    pub flags: Vec<String>,
    pub notes: String,
}

fn list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',')
        .filter(|v| !v.is_empty())
        .map(|v| v.parse().ok().unwrap())
        .collect()
}

pub fn step_cases() -> Vec<StepCase> {
    lines("steps.txt")
        .iter()
        .map(|l| {
            let mut f = l.split('\t');
            let name = f.next().unwrap().to_string();
            let kv: BTreeMap<&str, &str> = f.filter_map(|p| p.split_once('=')).collect();
            let pairs = |key: &str| -> Vec<Vec<String>> {
                kv[key]
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| p.split(':').map(str::to_string).collect())
                    .collect()
            };
            StepCase {
                name,
                op: kv["op"].parse().unwrap(),
                betas: kv["betas"].to_string(),
                t: list(kv["t"]),
                shape: list(kv["shape"]),
                inputs: pairs("inputs")
                    .into_iter()
                    .map(|p| (p[0].clone(), p[1].parse().unwrap()))
                    .collect(),
                outputs: pairs("outputs")
                    .into_iter()
                    .map(|p| (p[0].clone(), p[1].parse().unwrap(), p[2].parse().unwrap()))
                    .collect(),
                expect: kv["expect"].to_string(),
                flags: kv["flags"].split_whitespace().map(str::to_string).collect(),
                notes: kv.get("notes").unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

impl StepCase {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The op's settings from its flags, as `ddpm op` parses them (src/op_cmd.rs,
    /// src/step_args.rs), on the fixture's float64 betas (`--betas`), or with `named` on our
    /// own schedule of the same name (`--schedule`). Errors (a respacing that is no chain) come
    /// back as `Err`, as `ddpm op` reports them.
    pub fn settings(&self, named: bool) -> ddpm_wgpu::Result<OpSettings> {
        let tables = Tables::new(match named {
            true => our_betas(&self.betas),
            false => betas(&self.betas),
        })?;
        let mut flags: BTreeMap<&str, &str> = BTreeMap::new();
        let mut it = self.flags.iter();
        while let Some(flag) = it.next() {
            let value = match flag.as_str() {
                "--thresholding" => "",
                _ => it.next().map_or("", String::as_str),
            };
            flags.insert(flag.as_str(), value);
        }
        let get = |k: &str| flags.get(k).copied();
        let num = |k: &str, default: f64| get(k).map_or(default, |v| v.parse().unwrap());
        let yes = |k: &str, default: bool| get(k).map_or(default, |v| v == "true");
        let model = ModelOptions {
            mean_type: get("--mean-type").unwrap_or("eps").parse()?,
            var_type: get("--var-type").unwrap_or("fixedlarge").parse()?,
            clip_denoised: yes("--clip-denoised", self.op.default_clip_denoised()),
            clip_range: num("--clip-range", 1.0),
        };
        let ddim = DdimOptions {
            eta: num("--eta", 0.0),
            use_clipped_model_output: yes("--use-clipped-model-output", false),
            set_alpha_to_one: yes("--set-alpha-to-one", true),
        };
        let threshold = get("--thresholding").map(|_| Threshold {
            ratio: num("--threshold-ratio", Threshold::DEFAULT.ratio),
            max: num("--sample-max", Threshold::DEFAULT.max),
        });
        let respace = match get("--respace") {
            Some(spec) => {
                let offset = num("--steps-offset", 0.0) as usize;
                let (sp, n) = spacing::parse_respace(spec, offset)?;
                let mut kept = spacing::timesteps(tables.num_timesteps(), n, &sp)?;
                kept.reverse();
                Some(kept)
            }
            None => None,
        };
        Ok(OpSettings {
            tables,
            model,
            loss: LossType::Mse,
            step: StepSettings {
                respace,
                ddim,
                threshold,
            },
        })
    }

    /// The inputs as `ddpm op` reads them from .npy files (t as int64).
    pub fn inputs(&self, a: &Arrays) -> BTreeMap<String, NpyArray> {
        let n = self.len();
        let mut m: BTreeMap<String, NpyArray> = self
            .inputs
            .iter()
            .map(|(name, off)| {
                let data = a.inputs[*off..off + n].to_vec();
                let arr = NpyArray {
                    shape: self.shape.clone(),
                    data: NpyData::F32(data),
                };
                (name.clone(), arr)
            })
            .collect();
        let t = NpyArray {
            shape: vec![self.t.len()],
            data: NpyData::I64(self.t.iter().map(|&v| i64::from(v)).collect()),
        };
        m.insert("t".into(), t);
        m
    }

    /// The case as `ddpm check` sees one, for its term scales.
    pub fn check_case(&self, settings: &OpSettings, a: &Arrays) -> Case {
        Case {
            op: self.op,
            settings: settings.clone(),
            label: self.name.clone(),
            inputs: self.inputs(a),
        }
    }

    pub fn label(&self) -> String {
        format!(
            "{} {} t={:?} {}",
            self.name,
            self.op,
            self.t,
            self.flags.join(" ")
        )
    }
}
