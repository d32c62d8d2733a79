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
    /// A tensor is larger than the adapter can bind or address. No longer returned by the
    /// library, which reports [`Error::BufferTooLarge`] (naming the buffer) instead; kept so that
    /// code matching on it still compiles.
    #[error(
        "tensor of {bytes} bytes exceeds the adapter's limit of {limit} bytes per storage binding"
    )]
    TooLarge {
        /// Size requested.
        bytes: u64,
        /// The adapter's `max_storage_buffer_binding_size`.
        limit: u64,
    },
    /// A buffer the library would create exceeds one of the device's limits (checked before
    /// wgpu is asked for it, so no invalid buffer is ever made).
    #[error(
        "{what} needs {bytes} bytes, {excess} more than the device's {limit_name} of {limit} bytes",
        excess = bytes.saturating_sub(u128::from(*limit))
    )]
    BufferTooLarge {
        /// The buffer's label, e.g. "schedule tables".
        what: String,
        /// Size requested (u128: sizes that overflow u64 are reported exactly too).
        bytes: u128,
        /// The limit's wgpu name, e.g. "max_storage_buffer_binding_size".
        limit_name: &'static str,
        /// The limit's value.
        limit: u64,
    },
    /// The device was lost (destroyed, reset by the driver, or removed): nothing more can run
    /// on this context; make a new one.
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
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
    /// A numeric parameter lies outside the range the operation defines (a quantile ratio
    /// outside [0, 1], a threshold maximum below 1...).
    #[error("{name} = {value} is outside its range ({expected})")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The accepted range, in words.
        expected: &'static str,
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
    /// The device (or, for read-back, the host) ran out of memory for our work.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
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

    /// Class labels handed to a denoiser that is not class-conditional (the default of
    /// `Denoiser::set_class_labels` and of the twin's `CpuDenoiser::denoise_labeled`).
    pub(crate) fn labels_refused() -> Self {
        Error::Unsupported("class labels for a denoiser that is not class-conditional".into())
    }
}
