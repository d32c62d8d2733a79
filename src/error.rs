//! The one error type of the crate. Every user-reachable failure is a variant here; the library
//! never panics on user input, a failed buffer map or a lost device.

use std::path::PathBuf;

/// Everything that can go wrong in ddpm-wgpu.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The beta schedule or its parameters are not usable (T = 0, a beta outside (0, 1], NaN...).
    #[error("invalid schedule: {0}")]
    InvalidSchedule(String),
    /// A name (schedule, op, mean type, variance type, loss type, device) is not known.
    #[error("unknown {kind} '{name}' (expected one of: {expected})")]
    UnknownName {
        /// What kind of name it was, e.g. "schedule".
        kind: &'static str,
        /// The name that was given.
        name: String,
        /// The accepted names, comma separated.
        expected: String,
    },
    /// A required input tensor was not supplied.
    #[error("missing input '{0}'")]
    MissingInput(String),
    /// An input was supplied that the operation does not take.
    #[error("unexpected input '{name}' for {op} (it takes: {expected})")]
    UnexpectedInput {
        /// The op's CLI name.
        op: &'static str,
        /// The extra input's name.
        name: String,
        /// The inputs the op takes.
        expected: String,
    },
    /// Two tensors that must agree in shape do not.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// An input has a dtype the operation does not accept.
    #[error("input '{name}' has dtype {found}, expected {expected}")]
    WrongDtype {
        /// The input's name.
        name: String,
        /// The dtype found in the file.
        found: String,
        /// The dtype(s) accepted.
        expected: &'static str,
    },
    /// A timestep lies outside [0, T).
    #[error("timestep t[{index}] = {value} is outside [0, {num_timesteps})")]
    TimestepOutOfRange {
        /// Position in the t array.
        index: usize,
        /// The offending value.
        value: i64,
        /// T of the schedule.
        num_timesteps: usize,
    },
    /// An input contains NaN or infinity.
    #[error("input '{name}' has a non-finite value at flat index {index}")]
    NonFinite {
        /// The input's name.
        name: String,
        /// Flat index of the first non-finite element.
        index: usize,
    },
    /// An option combination the original code does not define.
    #[error("unsupported option combination: {0}")]
    Unsupported(String),
    /// A tensor is larger than the adapter can bind or address.
    #[error(
        "tensor of {bytes} bytes exceeds the adapter's limit of {limit} bytes per storage binding"
    )]
    TooLarge {
        /// Size requested.
        bytes: u64,
        /// The adapter's `max_storage_buffer_binding_size`.
        limit: u64,
    },
    /// A device buffer the UNet needs is larger than the adapter can bind or allocate.
    #[error(
        "{name}: {bytes} bytes exceed the adapter's limit of {limit} bytes per storage buffer"
    )]
    BufferTooLarge {
        /// Which buffer (layer and role), e.g. "up_blocks.0.resnets.1 activation".
        name: String,
        /// Size requested.
        bytes: u64,
        /// min(max_storage_buffer_binding_size, max_buffer_size).
        limit: u64,
    },
    /// A problem needs more work items than the kernels' 32-bit indices address.
    #[error("{count} {what} exceed the kernels' limit of {limit}")]
    TooManyItems {
        /// What was counted, e.g. "sample-point pairs".
        what: &'static str,
        /// How many were needed.
        count: u128,
        /// The most the kernels index.
        limit: u64,
    },
    /// A file is not a valid .npy array of a supported kind.
    #[error("{path}: not a supported .npy file: {reason}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// No adapter able to run compute shaders was found.
    #[error("no GPU adapter with compute support found ({0})")]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("could not create a device: {0}")]
    RequestDevice(String),
    /// wgpu reported a validation, out-of-memory or internal error for our work.
    #[error("GPU error: {0}")]
    Gpu(String),
    /// Mapping a buffer for read-back failed (device lost, out of memory...).
    #[error("GPU read-back failed: {0}")]
    Readback(String),
    /// A model folder lacks a file it needs (config.json, the safetensors weights...).
    #[error("{path}: missing {what}")]
    MissingModelFile {
        /// The file that was looked for.
        path: PathBuf,
        /// What it should hold, e.g. "model config".
        what: &'static str,
    },
    /// A model or scheduler config is not JSON, lacks a key or has a value of the wrong type.
    #[error("{file}: bad config: {reason}")]
    ModelConfig {
        /// The config file (or "config.json" for one given as text).
        file: String,
        /// What is wrong, naming the key.
        reason: String,
    },
    /// A safetensors file is truncated or malformed.
    #[error("{file}: not a valid safetensors file: {reason}")]
    Safetensors {
        /// The file (or a label for bytes).
        file: String,
        /// What the parser found wrong.
        reason: String,
    },
    /// A tensor is stored in a dtype other than F32, F16 or BF16.
    #[error("tensor '{name}' has dtype {dtype}; only F32, F16 and BF16 are supported")]
    TensorDtype {
        /// The tensor's dotted name.
        name: String,
        /// Its dtype as safetensors names it.
        dtype: String,
    },
    /// A tensor the model needs is not in its weights.
    #[error("missing tensor '{name}'")]
    MissingTensor {
        /// The dotted name that was looked for.
        name: String,
    },
    /// A tensor's shape is not the one the model config implies.
    #[error("tensor '{name}' has shape {found:?}, expected {expected:?}")]
    TensorShape {
        /// The tensor's dotted name.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// The model uses a block type or option the toolkit does not implement.
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error tagged with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
