//! Fuzz entry points: turn arbitrary bytes into calls of the library's input-facing functions.
//! The coverage-guided targets in `fuzz/` (cargo-fuzz, not built by `cargo test`) and the
//! replay test `tests/fuzz_corpus.rs` (which runs the committed corpus on every `cargo test`)
//! both call these, so a crash input found by the fuzzer is replayed through the same code.
//!
//! Each function must return normally on every input: a typed error from the library is fine,
//! a panic is the bug the fuzzer looks for, and `Err` names a broken invariant that the callers
//! turn into a failure. The decoding is hand-written (no `arbitrary` dependency) and keeps
//! sizes small, so one execution takes microseconds.
//!
//! The third target, `model_folder`, takes config.json, safetensors and scheduler_config.json
//! bytes through the U-Net's loader, its layer tree and, for small models, a CPU forward.

use ddpm_wgpu::npy::{self, NpyArray, NpyData};
use ddpm_wgpu::ops::{self, Backend, Op, OpSettings, StepSettings};
use ddpm_wgpu::options::{LossType, MeanType, ModelOptions, VarType};
use ddpm_wgpu::sampler::{DdimOptions, Threshold};
use ddpm_wgpu::schedule::{ScheduleKind, Tables};
use std::collections::BTreeMap;

/// `npy::parse` on `data`; when it parses as float32, also check that writing and re-reading
/// the array gives it back (a parser that accepts what it cannot round-trip is wrong too).
pub fn npy(data: &[u8]) -> Result<(), String> {
    let Ok(arr) = npy::parse(data) else {
        return Ok(());
    };
    let count: usize = arr.shape.iter().product();
    let len = match &arr.data {
        NpyData::F32(v) => v.len(),
        NpyData::F64(v) => v.len(),
        NpyData::I32(v) => v.len(),
        NpyData::I64(v) => v.len(),
    };
    if count != len {
        return Err(format!("parsed shape {:?} but {len} elements", arr.shape));
    }
    if let NpyData::F32(v) = &arr.data {
        // Bit for bit: NaN payloads must survive too, and NaN != NaN.
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        match npy::parse(&npy::to_bytes_f32(&arr.shape, v)) {
            Ok(NpyArray {
                shape,
                data: NpyData::F32(w),
            }) if shape == arr.shape && bits(&w) == bits(v) => {}
            other => {
                return Err(format!(
                    "float32 {:?} does not round-trip: {other:?}",
                    arr.shape
                ))
            }
        }
    }
    Ok(())
}

/// Bytes read front to back; past the end every read gives zero, so any input decodes.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// One of `items` (not empty), chosen by the next byte; `items[0]` past its end.
    fn pick<T: Copy>(&mut self, items: &[T], first: T) -> T {
        let i = usize::from(self.u8()) % items.len().max(1);
        items.get(i).copied().unwrap_or(first)
    }
    /// Mostly ordinary values in [-2, 2], sometimes raw bits (NaN, infinities, huge, denormal).
    fn f32(&mut self) -> f32 {
        match self.u8() % 8 {
            0 => f32::from_bits(self.u32()),
            _ => (f32::from(self.u8()) - 127.5) / 64.0,
        }
    }
    /// A dimension: mostly 0..=4, sometimes up to 2^15 (the data's length does not follow
    /// it), and now and then any u32 or a dimension near usize::MAX, so that products overflow:
    /// `ops::validate` must refuse those (it once multiplied them unchecked; see
    /// tests/fuzz_corpus.rs, `hand_made_shape_overflow_in_ops_is_an_error`).
    fn dim(&mut self) -> usize {
        match self.u8() % 32 {
            0 | 16 => (self.u32() % (1 << 15)) as usize,
            1 | 17 => (1 << 15) - usize::from(self.u8() % 2),
            2 => self.u32() as usize,
            3 => usize::MAX >> (self.u8() % 64),
            d => usize::from(d % 5),
        }
    }
}

/// A small array with a shape from the bytes; its data has the shape's element count when that
/// is small, else a few elements (what a hand-built `NpyArray` may hold: the fields are public).
fn array(b: &mut Bytes<'_>) -> NpyArray {
    let rank = usize::from(b.u8() % 5);
    let shape: Vec<usize> = (0..rank).map(|_| b.dim()).collect();
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= 64)
        .unwrap_or(usize::from(b.u8() % 8));
    // Off by one now and then: inconsistent arrays must be refused, not trusted.
    let len = match b.u8() % 16 {
        0 => count + 1,
        1 => count.saturating_sub(1),
        _ => count,
    };
    let data = match b.u8() % 8 {
        0 => NpyData::I32((0..len).map(|_| b.u32() as i32 % 40).collect()),
        1 => NpyData::I64((0..len).map(|_| i64::from(b.u32() as i32) % 40).collect()),
        2 => NpyData::F64((0..len).map(|_| f64::from(b.f32())).collect()),
        _ => NpyData::F32((0..len).map(|_| b.f32()).collect()),
    };
    NpyArray { shape, data }
}

/// Timesteps for `batch` samples: mostly valid for T, sometimes negative or past T.
fn timesteps(b: &mut Bytes<'_>, batch: usize, big_t: usize) -> NpyArray {
    let batch = batch.min(64);
    let t: Vec<i64> = (0..batch)
        .map(|_| match b.u8() % 8 {
            0 => i64::from(b.u32() as i32),
            _ => i64::from(b.u8()) % big_t.max(1) as i64,
        })
        .collect();
    NpyArray {
        shape: vec![t.len()],
        data: NpyData::I64(t),
    }
}

/// The settings an op runs with: a named schedule (T up to 64, start and end possibly
/// invalid), mean, variance and loss type, clipping and its range; the stepping ops' respacing
/// (kept steps possibly out of range or repeated), DDIM's options and thresholding (each
/// possibly invalid).
fn settings(b: &mut Bytes<'_>) -> Option<OpSettings> {
    let kind = b.pick(ScheduleKind::ALL, ScheduleKind::Linear);
    let big_t = usize::from(b.u8() % 65);
    let start = f64::from(b.f32()).abs() / 100.0;
    let end = f64::from(b.f32()).abs() / 10.0;
    let tables = Tables::from_schedule(kind, start, end, big_t).ok()?;
    let model = ModelOptions {
        mean_type: b.pick(MeanType::ALL, MeanType::Eps),
        var_type: b.pick(VarType::ALL, VarType::FixedLarge),
        clip_denoised: b.u8().is_multiple_of(2),
        clip_range: f64::from(b.f32()),
    };
    let loss = b.pick(&[LossType::Mse, LossType::Kl], LossType::Mse);
    let respace = match b.u8() % 4 {
        0 => Some((0..b.u8() % 6).map(|_| usize::from(b.u8() % 70)).collect()),
        _ => None,
    };
    let ddim = DdimOptions {
        eta: f64::from(b.f32()),
        set_alpha_to_one: b.u8().is_multiple_of(2),
        use_clipped_model_output: b.u8().is_multiple_of(2),
    };
    let threshold = match b.u8() % 4 {
        0 => Some(Threshold {
            ratio: f64::from(b.f32()),
            max: f64::from(b.f32()) * 4.0,
        }),
        _ => None,
    };
    Some(OpSettings {
        step: StepSettings {
            respace,
            ddim,
            threshold,
        },
        ..OpSettings::new(tables, model, loss)
    })
}

/// `ops::run` on the CPU with an op, settings and inputs decoded from `data`: each input the op
/// takes is present or missing, of a shape shared with the first input or its own, any dtype;
/// t valid or not; now and then an input the op does not take.
pub fn op(data: &[u8]) {
    let mut b = Bytes { data, at: 0 };
    let op = b.pick(Op::ALL, Op::QSample);
    let Some(settings) = settings(&mut b) else {
        return;
    };
    let mut inputs = BTreeMap::new();
    let first = array(&mut b);
    for &name in op.input_names().iter().filter(|&&n| n != "t") {
        let arr = match b.u8() % 8 {
            0 => continue,
            1 => array(&mut b),
            _ => first.clone(),
        };
        inputs.insert(name.to_string(), arr);
    }
    if op.takes_t() && !b.u8().is_multiple_of(8) {
        let batch = first.shape.first().copied().unwrap_or(1);
        let t = timesteps(&mut b, batch, settings.tables.num_timesteps());
        inputs.insert("t".into(), t);
    }
    if b.u8().is_multiple_of(16) {
        inputs.insert("unknown".into(), first.clone());
    }
    let _ = ops::run(op, &settings, &inputs, Backend::Cpu);
}

/// The model-folder loader on arbitrary bytes: `data` is split into a config.json text, a
/// safetensors file and an optional scheduler_config.json (`model_folder_input` lays out the
/// seeds); then `ModelFolder::from_parts`, the layer tree (`unet()`, every tensor by name and
/// shape), the scheduler's mapping to the toolkit's settings, and for small models one CPU
/// forward of one sample. Every failure must be a typed error.
pub fn model_folder(data: &[u8]) {
    let mut b = Bytes { data, at: 0 };
    let config_len = usize::from(u16::from_le_bytes([b.u8(), b.u8()]));
    let weights_len = b.u32() as usize;
    let has_scheduler = b.u8().is_multiple_of(2);
    let rest = data.get(b.at..).unwrap_or(&[]);
    let (config, rest) = rest.split_at(config_len.min(rest.len()));
    let (weights, scheduler) = rest.split_at(weights_len.min(rest.len()));
    let config = String::from_utf8_lossy(config);
    let scheduler = String::from_utf8_lossy(scheduler);
    let Ok(folder) = ddpm_wgpu::nn::ModelFolder::from_parts(
        &config,
        weights,
        has_scheduler.then_some(scheduler.as_ref()),
    ) else {
        return;
    };
    if let Some(s) = &folder.scheduler {
        let _ = s.sampling();
    }
    let Ok(unet) = folder.unet() else { return };
    let _ = folder.unused_tensors();
    // One forward where it is cheap: the fuzzer runs thousands of inputs a second.
    let c = unet.config.in_channels;
    let (h, w) = unet.config.sample_size.unwrap_or((8, 8));
    let small = unet.num_parameters() < 50_000 && h * w <= 64 && unet.flops(h, w) < 20_000_000;
    if small && unet.check_sample_size(h, w).is_ok() {
        let x = vec![0.25f32; c * h * w];
        let _ = ddpm_wgpu::cpu::nn::unet::forward(&unet, &x, [1, c, h, w], &[7]);
    }
}

/// The bytes `model_folder` reads as a config, safetensors and (when `scheduler` is given) a
/// scheduler config: how the seeds of its corpus are made from real model folders.
pub fn model_folder_input(config: &[u8], safetensors: &[u8], scheduler: Option<&[u8]>) -> Vec<u8> {
    let mut v = Vec::with_capacity(7 + config.len() + safetensors.len());
    v.extend_from_slice(&(config.len().min(u16::MAX as usize) as u16).to_le_bytes());
    v.extend_from_slice(&(safetensors.len().min(u32::MAX as usize) as u32).to_le_bytes());
    v.push(if scheduler.is_some() { 0 } else { 1 });
    v.extend_from_slice(config);
    v.extend_from_slice(safetensors);
    v.extend_from_slice(scheduler.unwrap_or(&[]));
    v
}
