//! Input validation of the ops, shared by both backends.

use super::{Op, OpSettings, MODEL_VAR};
use crate::chain::Chain;
use crate::cpu;
use crate::error::{Error, Result};
use crate::npy::{NpyArray, NpyData};
use crate::options::LossType;
use crate::schedule::Tables;
use std::collections::BTreeMap;

/// Validated inputs: f32 tensors by name, t, the reference shape, the chain.
pub(super) struct Inputs {
    pub tensors: BTreeMap<&'static str, Vec<f32>>,
    /// The training timesteps given.
    pub train_t: Vec<u32>,
    /// The timesteps the plain kernels index `tables` by: `train_t`, or on a respaced chain
    /// their chain indices.
    pub t: Vec<u32>,
    /// The tables `t` indexes: the schedule's, or the respaced chain's.
    pub tables: Tables,
    /// The chain the stepping ops run on.
    pub chain: Chain,
    pub shape: Vec<usize>,
}

impl Inputs {
    pub fn get(&self, name: &str) -> &[f32] {
        self.tensors.get(name).map_or(&[], Vec::as_slice)
    }
    pub fn opt(&self, name: &str) -> Option<&[f32]> {
        self.tensors.get(name).map(Vec::as_slice)
    }
    pub fn batch(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }
    pub fn sample_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }
}

/// An array built by hand (not by `npy::parse`) may claim a shape its data does not fill, or
/// one whose element count overflows: refuse both before any length is derived from the shape.
fn check_count(name: &str, arr: &NpyArray, len: usize) -> Result<()> {
    let count = arr.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(len) {
        return Err(Error::ShapeMismatch(format!(
            "'{name}' has shape {:?} but {len} values",
            arr.shape
        )));
    }
    Ok(())
}

/// The step options an op does not take are an error, not silently ignored.
fn check_step_options(op: Op, s: &OpSettings) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::Unsupported(format!(
            "{what} does not apply to {}",
            op.name()
        )))
    };
    if s.step.respace.is_some() && !op.takes_respace() {
        return refuse("--respace");
    }
    if s.step.threshold.is_some() && !op.takes_threshold() {
        return refuse("--thresholding");
    }
    if op == Op::DdimReverseStep && s.step.ddim.eta != 0.0 {
        return Err(Error::Unsupported(
            "ddim-reverse-step is deterministic: eta must be 0".into(),
        ));
    }
    Ok(())
}

pub(super) fn validate(
    op: Op,
    s: &OpSettings,
    given: &BTreeMap<String, NpyArray>,
) -> Result<Inputs> {
    let accepted = op.input_names();
    if let Some(name) = given.keys().find(|k| !accepted.contains(&k.as_str())) {
        return Err(Error::UnexpectedInput {
            op: op.name(),
            name: name.clone(),
            expected: accepted.join(", "),
        });
    }
    s.model.validate()?;
    check_step_options(op, s)?;
    let chain = s.chain()?;
    if op == Op::TrainingLosses {
        cpu::kernels::training_losses::check_loss(&s.model, s.loss)?;
    }
    let learned = op.takes_model_var() && s.model.var_type.is_learned();
    if given.contains_key(MODEL_VAR) && !learned {
        return Err(Error::Unsupported(format!(
            "model_var is only used by the learned variance types, not {}",
            s.model.var_type
        )));
    }
    let mut names: Vec<&'static str> = op.tensor_inputs().to_vec();
    if learned {
        names.push(MODEL_VAR);
    }
    // DDIM's noise: required when eta > 0, accepted (and unused) otherwise.
    if op == Op::DdimStep && (s.step.ddim.eta > 0.0 || given.contains_key("noise")) {
        names.push("noise");
    }
    let mut tensors = BTreeMap::new();
    let mut shape: Option<Vec<usize>> = None;
    for name in names {
        let arr = given
            .get(name)
            .ok_or_else(|| Error::MissingInput(name.to_string()))?;
        let NpyData::F32(data) = &arr.data else {
            return Err(Error::WrongDtype {
                name: name.into(),
                found: arr.data.dtype().into(),
                expected: "float32",
            });
        };
        if let Some(index) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                name: name.into(),
                index,
            });
        }
        if data.is_empty() {
            return Err(Error::ShapeMismatch(format!(
                "'{name}' of shape {:?} is empty",
                arr.shape
            )));
        }
        check_count(name, arr, data.len())?;
        match &shape {
            None => shape = Some(arr.shape.clone()),
            Some(s0) if *s0 != arr.shape => {
                return Err(Error::ShapeMismatch(format!(
                    "'{name}' has shape {:?} but '{}' has {:?}",
                    arr.shape,
                    op.tensor_inputs()[0],
                    s0
                )))
            }
            Some(_) => {}
        }
        tensors.insert(name, data.clone());
    }
    let shape = shape.unwrap_or_default();
    if op.batched() && shape.is_empty() {
        return Err(Error::ShapeMismatch(format!(
            "'{}' needs a batch dimension: shape [B, ...]",
            op.tensor_inputs()[0]
        )));
    }
    let train_t = if op.takes_t() {
        let arr = given
            .get("t")
            .ok_or_else(|| Error::MissingInput("t".into()))?;
        let values: Vec<i64> = match &arr.data {
            NpyData::I32(v) => v.iter().map(|&x| x as i64).collect(),
            NpyData::I64(v) => v.clone(),
            other => {
                return Err(Error::WrongDtype {
                    name: "t".into(),
                    found: other.dtype().into(),
                    expected: "int32 or int64",
                })
            }
        };
        check_count("t", arr, values.len())?;
        if arr.shape.len() != 1 || arr.shape[0] != shape[0] {
            return Err(Error::ShapeMismatch(format!(
                "t has shape {:?} but the batch has {} samples: t must be [{}]",
                arr.shape, shape[0], shape[0]
            )));
        }
        let big_t = s.tables.num_timesteps();
        let values = values
            .iter()
            .enumerate()
            .map(|(index, &value)| {
                if value < 0 || value as u64 >= big_t as u64 {
                    Err(Error::TimestepOutOfRange {
                        index,
                        value,
                        num_timesteps: big_t,
                    })
                } else {
                    Ok(value as u32)
                }
            })
            .collect::<Result<Vec<u32>>>()?;
        // x_0 from eps divides by sqrt(abar_t), which is 0 at the end of a zero-terminal-SNR
        // schedule; the mse loss of eps needs no x_0.
        if op.takes_model() && !(op == Op::TrainingLosses && s.loss == LossType::Mse) {
            for &t in &values {
                s.tables.check_eps_defined(s.model.mean_type, t as usize)?;
            }
        }
        values
    } else {
        Vec::new()
    };
    // On a respaced chain every t must be kept; the plain kernels then index the chain's tables
    // by chain index.
    let (t, tables) = match &s.step.respace {
        Some(_) => (chain.indices(&train_t)?, chain.tables.clone()),
        None => (train_t.clone(), s.tables.clone()),
    };
    Ok(Inputs {
        tensors,
        train_t,
        t,
        tables,
        chain,
        shape,
    })
}
