//! Host mirrors of the WGSL parameter structs and enum codes in shaders/common.wgsl and
//! shaders/sample_mean.wgsl. tests/shader_layout.rs checks sizes, offsets and codes against naga.

use crate::options::{LossType, MeanType, ModelOptions, VarType};

/// Launch parameters of every elementwise kernel (`ElementParams` in common.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ElementParams {
    /// B * sample_len.
    pub n_elements: u32,
    /// Elements per sample.
    pub sample_len: u32,
    /// T.
    pub num_timesteps: u32,
    /// [`mean_type_code`].
    pub mean_type: u32,
    /// [`var_type_code`].
    pub var_type: u32,
    /// 1 to clip pred_xstart to [-1, 1].
    pub clip_denoised: u32,
    /// [`loss_type_code`].
    pub loss_type: u32,
    /// 1/255 rounded to f32 ([`BIN_HALF_WIDTH_HI`]).
    pub bin_half_width_hi: f32,
    /// 1/255 minus `bin_half_width_hi`, rounded to f32 ([`BIN_HALF_WIDTH_LO`]). Passed at run time
    /// so that the driver cannot fold hi + lo back into one rounded constant.
    pub bin_half_width_lo: f32,
    /// R: clip_denoised clips pred_xstart to [-R, R] (`ModelOptions::clip_range`).
    pub clip_range: f32,
    /// The step kernels: where host-drawn noise starts in their `aux` binding, in floats.
    pub aux_noise_offset: u32,
    /// Padding.
    pub _pad2: u32,
}

/// vec4 kernels on a flat grid: invocation i takes vec4 i of the whole batch (`GRID_FLAT` in
/// common.wgsl), the value of their `GRID` pipeline constant.
pub const GRID_FLAT: u32 = 0;
/// vec4 kernels on a per-sample grid: x counts vec4s within a sample, y and z count samples
/// (`GRID_PER_SAMPLE` in common.wgsl).
pub const GRID_PER_SAMPLE: u32 = 1;

/// Values of the `override` constants in common.wgsl, fixed when a pipeline is compiled. A kernel
/// gets only those it declares ([`Kernel::takes_grid`], [`Kernel::takes_model_constants`]); the
/// others are zeroed ([`Kernel::own_constants`]), so the pipeline cache never compiles the same
/// shader twice.
///
/// [`Kernel::takes_grid`]: crate::gpu::runtime::shaders::Kernel::takes_grid
/// [`Kernel::takes_model_constants`]: crate::gpu::runtime::shaders::Kernel::takes_model_constants
/// [`Kernel::own_constants`]: crate::gpu::runtime::shaders::Kernel::own_constants
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PipelineConstants {
    /// `GRID`: [`GRID_FLAT`] or [`GRID_PER_SAMPLE`].
    pub grid: u32,
    /// `MEAN_TYPE`: [`mean_type_code`].
    pub mean_type: u32,
    /// `VAR_TYPE`: [`var_type_code`].
    pub var_type: u32,
    /// `CLIP_DENOISED`: 1 to clip pred_xstart to [-R, R].
    pub clip_denoised: u32,
    /// `NOISE_SOURCE` of the step kernels: [`NOISE_PHILOX`] or [`NOISE_AUX`].
    pub noise_source: u32,
    /// `THRESHOLD` of the step kernels: 1 to divide pred_xstart by the dynamic threshold.
    pub threshold: u32,
    /// `CLIPPED_EPS` of the DDIM steps: 1 to re-derive eps from the processed x_0.
    pub clipped_eps: u32,
    /// `KEEP_XSTART` of the multistep step: 1 (the default) to write x_0 to pred_xstart, 0
    /// where nothing reads it (no snapshots).
    pub keep_xstart: u32,
    /// The UNet layer kernels' options (shaders/nn/): a bit set whose bits each kernel names
    /// (`crate::gpu::runtime::shaders::flags`); zero for every other kernel.
    pub nn: u32,
}

/// Step noise drawn in the shader by Philox (`NOISE_PHILOX` in common.wgsl).
pub const NOISE_PHILOX: u32 = 0;
/// Step noise read from the step kernel's `aux` binding, drawn on the host (`NOISE_AUX`).
pub const NOISE_AUX: u32 = 1;

impl Default for PipelineConstants {
    /// The per-sample grid and zero model codes.
    fn default() -> Self {
        PipelineConstants::on_grid(GRID_PER_SAMPLE)
    }
}

impl PipelineConstants {
    /// `grid`, with zero model codes.
    pub fn on_grid(grid: u32) -> Self {
        PipelineConstants {
            grid,
            mean_type: 0,
            var_type: 0,
            clip_denoised: 0,
            noise_source: NOISE_PHILOX,
            threshold: 0,
            clipped_eps: 0,
            keep_xstart: 1,
            nn: 0,
        }
    }

    /// These constants with the model options of `params`, which the step kernels take as
    /// constants rather than from the uniform.
    pub fn with_model(self, params: &ElementParams) -> Self {
        PipelineConstants {
            mean_type: params.mean_type,
            var_type: params.var_type,
            clip_denoised: params.clip_denoised,
            ..self
        }
    }
}

/// 1/255 rounded to f32: the high part of half an 8-bit bin.
pub const BIN_HALF_WIDTH_HI: f32 = (1.0f64 / 255.0) as f32;
/// The rest of 1/255 after [`BIN_HALF_WIDTH_HI`], rounded to f32.
pub const BIN_HALF_WIDTH_LO: f32 = (1.0f64 / 255.0 - BIN_HALF_WIDTH_HI as f64) as f32;

impl ElementParams {
    /// Parameters for `n_elements` in samples of `sample_len`, with the model options set.
    pub fn new(n_elements: u32, sample_len: u32, num_timesteps: u32, opts: &ModelOptions) -> Self {
        ElementParams {
            n_elements,
            sample_len,
            num_timesteps,
            mean_type: mean_type_code(opts.mean_type),
            var_type: var_type_code(opts.var_type),
            clip_denoised: u32::from(opts.clip_denoised),
            loss_type: 0,
            bin_half_width_hi: BIN_HALF_WIDTH_HI,
            bin_half_width_lo: BIN_HALF_WIDTH_LO,
            clip_range: opts.clip_range as f32,
            aux_noise_offset: 0,
            _pad2: 0,
        }
    }
}

/// Parameters of the per-sample mean (`ReduceParams` in sample_mean.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ReduceParams {
    /// Elements per sample.
    pub sample_len: u32,
    /// B.
    pub n_samples: u32,
    /// The scale divided by sample_len, rounded once from f64.
    pub scale_over_len: f32,
    /// Pads the struct to 16 bytes.
    pub _pad: u32,
}

/// Parameters of the noise kernels (`NoiseParams` in philox.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct NoiseParams {
    /// B * sample_len.
    pub n_elements: u32,
    /// Elements per sample.
    pub sample_len: u32,
    /// Global index of the chunk's first sample (keys the draws, so chunking does not matter).
    pub first_sample: u32,
    /// `STREAM_*` in philox.wgsl / `cpu::noise::stream`.
    pub stream: u32,
    /// The diffusion step the draw belongs to.
    pub step: u32,
    /// Low half of the 64-bit seed.
    pub seed_lo: u32,
    /// High half of the 64-bit seed.
    pub seed_hi: u32,
    /// Pads the struct to 16 bytes.
    /// What noise.wgsl multiplies its draws by: 1 (the draws themselves, and ignored by the
    /// step kernels), or a sampler's x_T scale (`Sampler::init_scale`).
    pub scale: f32,
}

impl NoiseParams {
    /// Draws for `batch` samples of `sample_len` starting at global sample `first_sample`.
    pub fn new(
        seed: u64,
        stream: u32,
        step: u32,
        first_sample: u32,
        batch: usize,
        sample_len: usize,
    ) -> Self {
        NoiseParams {
            n_elements: (batch * sample_len) as u32,
            sample_len: sample_len as u32,
            first_sample,
            stream,
            step,
            seed_lo: seed as u32,
            seed_hi: (seed >> 32) as u32,
            scale: 1.0,
        }
    }
}

/// Parameters of the mixture denoiser's kernels (`MixtureParams` in common.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MixtureParams {
    /// B.
    pub batch: u32,
    /// Elements per sample (and per data point).
    pub sample_len: u32,
    /// M, the number of data points.
    pub num_points: u32,
    /// T.
    pub num_timesteps: u32,
    /// [`mean_type_code`] of the output.
    pub mean_type: u32,
    /// [`var_type_code`]; model_var is written for the learned types.
    pub var_type: u32,
    /// S^2.
    pub data_var: f32,
    /// Pads the struct to 16 bytes.
    pub _pad: u32,
}

/// Parameters of the bandwidth copy (`CopyParams` in bandwidth_copy.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CopyParams {
    /// Number of `vec4<f32>` to copy.
    pub n_vec4: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// `MEAN_*` in common.wgsl.
pub fn mean_type_code(m: MeanType) -> u32 {
    match m {
        MeanType::Eps => 0,
        MeanType::Xstart => 1,
        MeanType::Xprev => 2,
        MeanType::V => 3,
    }
}

/// `VAR_*` in common.wgsl.
pub fn var_type_code(v: VarType) -> u32 {
    match v {
        VarType::FixedSmall => 0,
        VarType::FixedLarge => 1,
        VarType::Learned => 2,
        VarType::LearnedRange => 3,
    }
}

/// `LOSS_*` in common.wgsl.
pub fn loss_type_code(l: LossType) -> u32 {
    match l {
        LossType::Mse => 0,
        LossType::Kl => 1,
    }
}
