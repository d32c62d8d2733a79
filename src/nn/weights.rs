//! Weights by diffusers' dotted names, with shape checks (candle-nn's `VarBuilder`):
//! `weights.root().pp("down_blocks").pp(0).pp("resnets").pp(0).pp("conv1").get(&[out, in, 3, 3],
//! "weight")` returns the f32 data or an error naming the full tensor and both shapes.

use crate::error::{Error, Result};
use half::{bf16, f16};
use safetensors::{Dtype, SafeTensors};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// One tensor, converted to f32 on load.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Outermost dimension first, as PyTorch stores it.
    pub shape: Vec<usize>,
    /// The elements in C order.
    pub data: Vec<f32>,
}

#[derive(Debug)]
enum Source {
    Tensors(HashMap<String, Tensor>),
    /// Deterministic values for any name and shape: random models without a file.
    Synthetic(u64),
}

/// The tensors of a model, by dotted name. Records which names were read, so that a loader can
/// list the ones a model did not use (diffusers warns about those; they are not an error).
#[derive(Debug)]
pub struct Weights {
    source: Source,
    used: RefCell<BTreeSet<String>>,
}

/// Little-endian element conversion; `chunks_exact` never reads past the data, whose length
/// safetensors has already checked against shape x dtype.
fn to_f32(name: &str, dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>> {
    let data = match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| bf16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
            .collect(),
        other => {
            return Err(Error::TensorDtype {
                name: name.to_string(),
                dtype: format!("{other:?}"),
            })
        }
    };
    Ok(data)
}

impl Weights {
    /// Every tensor of a safetensors file (its bytes), converted to f32. `file` names it in
    /// errors. A truncated or malformed file and a dtype other than F32/F16/BF16 are errors.
    pub fn from_safetensors(bytes: &[u8], file: &str) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Safetensors {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        let mut tensors = HashMap::with_capacity(st.len());
        for (name, view) in st.iter() {
            let data = to_f32(name, view.dtype(), view.data())?;
            let shape = view.shape().to_vec();
            tensors.insert(name.to_string(), Tensor { shape, data });
        }
        Ok(Self::from_tensors(tensors))
    }

    /// Weights from tensors already in memory.
    pub fn from_tensors(tensors: HashMap<String, Tensor>) -> Self {
        Weights {
            source: Source::Tensors(tensors),
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// Deterministic pseudo-random weights for any name and shape, keyed by `seed`: weights
    /// uniform with variance 1 / fan_in (unit gain), 1-D tensors 0.1 x uniform(-1, 1), except
    /// norm scales (a 1-D `weight` under a name containing "norm"): 1 + 0.1 x uniform(-1, 1).
    /// For tests and benchmarks of architectures without a checkpoint.
    pub fn synthetic(seed: u64) -> Self {
        Weights {
            source: Source::Synthetic(seed),
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// The builder at the root of the names.
    pub fn root(&self) -> VarBuilder<'_> {
        VarBuilder {
            weights: self,
            prefix: String::new(),
        }
    }

    /// The stored tensor `name`, if any (synthetic weights store none).
    pub fn tensor(&self, name: &str) -> Option<&Tensor> {
        match &self.source {
            Source::Tensors(t) => t.get(name),
            Source::Synthetic(_) => None,
        }
    }

    /// Every stored name, sorted.
    pub fn names(&self) -> Vec<String> {
        match &self.source {
            Source::Tensors(t) => {
                let mut n: Vec<String> = t.keys().cloned().collect();
                n.sort();
                n
            }
            Source::Synthetic(_) => Vec::new(),
        }
    }

    /// Stored names no builder has read so far, sorted.
    pub fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.names()
            .into_iter()
            .filter(|n| !used.contains(n))
            .collect()
    }

    fn contains(&self, name: &str) -> bool {
        match &self.source {
            Source::Tensors(t) => t.contains_key(name),
            Source::Synthetic(_) => true,
        }
    }

    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let data = match &self.source {
            Source::Tensors(t) => {
                let tensor = t.get(name).ok_or_else(|| Error::MissingTensor {
                    name: name.to_string(),
                })?;
                if tensor.shape != shape {
                    return Err(Error::TensorShape {
                        name: name.to_string(),
                        expected: shape.to_vec(),
                        found: tensor.shape.clone(),
                    });
                }
                tensor.data.clone()
            }
            Source::Synthetic(seed) => synthetic_values(*seed, name, shape)?,
        };
        self.used.borrow_mut().insert(name.to_string());
        Ok(data)
    }
}

/// splitmix64: a fixed, portable generator for [`Weights::synthetic`].
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn synthetic_values(seed: u64, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::UnsupportedModel(format!("tensor '{name}' is too large")))?;
    let key = name
        .bytes()
        .fold(splitmix(seed), |h, b| splitmix(h ^ u64::from(b)));
    let (scale, offset) = match shape {
        [_] if name.ends_with("weight") && name.contains("norm") => (0.1, 1.0),
        [_] => (0.1, 0.0),
        // Uniform(-a, a) has variance a^2 / 3: a = sqrt(3 / fan_in) gives 1 / fan_in.
        [_, rest @ ..] => (
            (3.0 / rest.iter().product::<usize>().max(1) as f64).sqrt(),
            0.0,
        ),
        [] => (0.1, 0.0),
    };
    Ok((0..n as u64)
        .map(|i| {
            let u = (splitmix(key ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d)) >> 11) as f64
                / (1u64 << 53) as f64;
            (offset + scale * (2.0 * u - 1.0)) as f32
        })
        .collect())
}

/// A position in the tree of names: `pp` descends, `get` reads a tensor below it.
#[derive(Clone, Debug)]
pub struct VarBuilder<'a> {
    weights: &'a Weights,
    prefix: String,
}

impl<'a> VarBuilder<'a> {
    /// The builder one level down: `pp("down_blocks").pp(0)` is "down_blocks.0".
    pub fn pp(&self, name: impl std::fmt::Display) -> VarBuilder<'a> {
        let prefix = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        VarBuilder {
            weights: self.weights,
            prefix,
        }
    }

    /// The dotted prefix of this position ("" at the root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The full name of `name` below this position.
    pub fn full_name(&self, name: &str) -> String {
        self.pp(name).prefix
    }

    /// Whether a tensor `name` exists below this position.
    pub fn contains(&self, name: &str) -> bool {
        self.weights.contains(&self.full_name(name))
    }

    /// The f32 data of tensor `name` below this position, which must have exactly `shape`.
    pub fn get(&self, shape: &[usize], name: &str) -> Result<Vec<f32>> {
        self.weights.get(&self.full_name(name), shape)
    }

    /// The first of `children` (e.g. the new name "to_q", then the old "query") that has a
    /// `weight` tensor; the first one when none has, so that errors name the current naming.
    pub fn pp_first(&self, children: &[&str]) -> VarBuilder<'a> {
        children
            .iter()
            .map(|c| self.pp(c))
            .find(|vb| vb.contains("weight"))
            .unwrap_or_else(|| self.pp(children.first().copied().unwrap_or_default()))
    }
}
