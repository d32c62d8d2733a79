//! The table of kernels: each WGSL file in `shaders/`, prepended with [`COMMON_WGSL`],
//! embedded at compile time, compiled once per [`Context`](crate::gpu::Context).

mod audited;
pub mod flags;
mod nn;
mod properties;
pub mod tiles;

/// Invocations per workgroup. Keep in sync with `WG_SIZE` in shaders/common.wgsl (checked by
/// tests/shader_layout.rs).
pub const WG_SIZE: u32 = 256;

/// The WGSL shared by every kernel: structs, option codes and pipeline constants
/// (shaders/common.wgsl), then the shared element math of shaders/shared/: the vec4 grids, the
/// model's mean and variance, the likelihood terms, the exact denoisers.
pub const COMMON_WGSL: &str = concat!(
    include_str!("../../../../shaders/common.wgsl"),
    "\n",
    include_str!("../../../../shaders/shared/grid.wgsl"),
    "\n",
    include_str!("../../../../shaders/shared/model.wgsl"),
    "\n",
    include_str!("../../../../shaders/shared/likelihood.wgsl"),
    "\n",
    include_str!("../../../../shaders/shared/mixture.wgsl"),
);

/// The structs and helpers shared by the UNet layer kernels (shaders/nn/common.wgsl), prepended
/// to each of them instead of [`COMMON_WGSL`] (see [`Kernel::source`]).
pub const NN_COMMON_WGSL: &str = include_str!("../../../../shaders/nn/common.wgsl");

/// The counter-based noise shared by the kernels that draw normals.
pub const PHILOX_WGSL: &str = include_str!("../../../../shaders/philox.wgsl");

/// The bindings of the scalar sampling-step kernels (see [`Kernel::source`]).
pub const STEP_BINDINGS_WGSL: &str = include_str!("../../../../shaders/shared/step_bindings.wgsl");

/// The bindings of the vec4 sampling-step kernels (see [`Kernel::source`]).
pub const STEP_BINDINGS_VEC4_WGSL: &str =
    include_str!("../../../../shaders/shared/step_bindings_vec4.wgsl");

/// The entry point of the vec4 reverse-step kernels, appended to each (see [`Kernel::source`]).
pub const STEP_VEC4_ENTRY_WGSL: &str = include_str!("../../../../shaders/step_vec4_entry.wgsl");

/// The uniform, keys and scale shared by the dynamic thresholding kernels, appended to each (see
/// [`Kernel::source`]).
pub const THRESHOLD_SCALE_WGSL: &str =
    include_str!("../../../../shaders/shared/dynamic_threshold_scale.wgsl");

/// One compute kernel: one WGSL file, one entry point `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// shaders/q_mean_variance.wgsl
    QMeanVariance,
    /// shaders/q_sample.wgsl
    QSample,
    /// shaders/q_posterior_mean_variance.wgsl
    QPosteriorMeanVariance,
    /// shaders/p_mean_variance.wgsl
    PMeanVariance,
    /// shaders/p_sample.wgsl
    PSample,
    /// shaders/normal_kl.wgsl
    NormalKl,
    /// shaders/discretized_gaussian_log_likelihood.wgsl
    DiscretizedGaussianLogLikelihood,
    /// shaders/vb_terms_bpd.wgsl
    VbTermsBpd,
    /// shaders/training_losses.wgsl
    TrainingLosses,
    /// shaders/prior_bpd.wgsl
    PriorBpd,
    /// shaders/sample_mean.wgsl
    SampleMean,
    /// shaders/noise.wgsl
    Noise,
    /// shaders/philox_bits.wgsl
    PhiloxBits,
    /// shaders/ddpm_step.wgsl
    DdpmStep,
    /// shaders/mixture_distances.wgsl
    MixtureDistances,
    /// shaders/mixture_weights.wgsl
    MixtureWeights,
    /// shaders/mixture_output.wgsl
    MixtureOutput,
    /// shaders/bpd_noising.wgsl
    BpdNoising,
    /// shaders/bpd_mse.wgsl
    BpdMse,
    /// shaders/bandwidth_copy.wgsl
    BandwidthCopy,
    /// shaders/gaussian_denoiser.wgsl
    GaussianDenoiser,
    /// shaders/q_sample_vec4.wgsl
    QSampleVec4,
    /// shaders/p_sample_vec4.wgsl
    PSampleVec4,
    /// shaders/q_sample_f16.wgsl
    QSampleF16,
    /// shaders/p_sample_f16.wgsl
    PSampleF16,
    /// shaders/ddpm_step_vec4.wgsl
    DdpmStepVec4,
    /// shaders/gaussian_denoiser_vec4.wgsl
    GaussianDenoiserVec4,
    /// shaders/ddpm_step_gaussian_vec4.wgsl
    DdpmStepGaussianVec4,
    /// shaders/mixture_output_vec4.wgsl
    MixtureOutputVec4,
    /// shaders/mixture_distances_vec4.wgsl
    MixtureDistancesVec4,
    /// shaders/ddim_step.wgsl
    DdimStep,
    /// shaders/ddim_step_vec4.wgsl
    DdimStepVec4,
    /// shaders/predict_xstart.wgsl
    PredictXstart,
    /// shaders/ddim_step_gaussian_vec4.wgsl
    DdimStepGaussianVec4,
    /// shaders/dynamic_threshold.wgsl
    DynamicThreshold,
    /// shaders/dynamic_threshold_short.wgsl
    DynamicThresholdShort,
    /// shaders/multistep_step.wgsl
    MultistepStep,
    /// shaders/multistep_step_vec4.wgsl
    MultistepStepVec4,
    /// shaders/nn/conv2d.wgsl with conv2d_weights.wgsl
    Conv2d,
    /// shaders/nn/conv2d.wgsl with conv2d_weights_subgroup.wgsl (needs subgroups of 8)
    Conv2dSubgroup,
    /// shaders/nn/conv2d_tiled.wgsl (workgroup-tiled implicit GEMM; tile shape by
    /// `flags::TILE_SMALL`, see `tiles`)
    Conv2dTiled,
    /// shaders/nn/winograd_input.wgsl
    WinogradInput,
    /// shaders/nn/winograd_output.wgsl
    WinogradOutput,
    /// shaders/nn/group_norm.wgsl with group_norm_sum.wgsl
    GroupNorm,
    /// shaders/nn/group_norm.wgsl with group_norm_sum_subgroup.wgsl (needs subgroups of 8)
    GroupNormSubgroup,
    /// shaders/nn/group_norm.wgsl with group_norm_sum_subgroups.wgsl (subgroups of any size)
    GroupNormSubgroups,
    /// shaders/nn/linear.wgsl
    Linear,
    /// shaders/nn/attention.wgsl with attention_a.wgsl
    Attention,
    /// shaders/nn/attention.wgsl with attention_a_subgroup.wgsl (needs subgroups of 8)
    AttentionSubgroup,
    /// shaders/nn/attention_softmax.wgsl (a row per invocation)
    AttentionSoftmax,
    /// shaders/nn/attention_softmax_rows.wgsl with group_norm_sum.wgsl and workgroup_max.wgsl
    /// (a row per workgroup, tree reductions)
    AttentionSoftmaxRows,
    /// shaders/nn/attention_softmax_rows.wgsl with group_norm_sum_subgroups.wgsl and
    /// workgroup_max_subgroups.wgsl (a row per workgroup, subgroups of any size)
    AttentionSoftmaxRowsSubgroups,
    /// shaders/nn/attention_flash.wgsl (scores, online softmax and p v in one pass)
    AttentionFlash,
    /// shaders/nn/guidance.wgsl
    Guidance,
    /// shaders/nn/cast.wgsl from the loop's f32 into the UNet's storage (`act`)
    CastIn,
    /// shaders/nn/cast.wgsl from the UNet's storage (`act`) into the loop's f32
    CastOut,
}

impl Kernel {
    /// Every kernel.
    pub const ALL: [Kernel; 56] = [
        Kernel::QMeanVariance,
        Kernel::QSample,
        Kernel::QPosteriorMeanVariance,
        Kernel::PMeanVariance,
        Kernel::PSample,
        Kernel::NormalKl,
        Kernel::DiscretizedGaussianLogLikelihood,
        Kernel::VbTermsBpd,
        Kernel::TrainingLosses,
        Kernel::PriorBpd,
        Kernel::SampleMean,
        Kernel::Noise,
        Kernel::PhiloxBits,
        Kernel::DdpmStep,
        Kernel::MixtureDistances,
        Kernel::MixtureWeights,
        Kernel::MixtureOutput,
        Kernel::BpdNoising,
        Kernel::BpdMse,
        Kernel::BandwidthCopy,
        Kernel::GaussianDenoiser,
        Kernel::QSampleVec4,
        Kernel::PSampleVec4,
        Kernel::QSampleF16,
        Kernel::PSampleF16,
        Kernel::DdpmStepVec4,
        Kernel::GaussianDenoiserVec4,
        Kernel::DdpmStepGaussianVec4,
        Kernel::MixtureOutputVec4,
        Kernel::MixtureDistancesVec4,
        Kernel::DdimStep,
        Kernel::DdimStepVec4,
        Kernel::PredictXstart,
        Kernel::DdimStepGaussianVec4,
        Kernel::DynamicThreshold,
        Kernel::DynamicThresholdShort,
        Kernel::MultistepStep,
        Kernel::MultistepStepVec4,
        Kernel::Conv2d,
        Kernel::Conv2dSubgroup,
        Kernel::Conv2dTiled,
        Kernel::WinogradInput,
        Kernel::WinogradOutput,
        Kernel::GroupNorm,
        Kernel::GroupNormSubgroup,
        Kernel::GroupNormSubgroups,
        Kernel::Linear,
        Kernel::Attention,
        Kernel::AttentionSubgroup,
        Kernel::AttentionSoftmax,
        Kernel::AttentionSoftmaxRows,
        Kernel::AttentionSoftmaxRowsSubgroups,
        Kernel::AttentionFlash,
        Kernel::Guidance,
        Kernel::CastIn,
        Kernel::CastOut,
    ];

    /// The shader file's stem, also the name of its host and CPU modules.
    pub fn name(self) -> &'static str {
        self.file().0
    }

    fn file(self) -> (&'static str, &'static str) {
        macro_rules! shader {
            ($name:literal) => {
                (
                    $name,
                    include_str!(concat!("../../../../shaders/", $name, ".wgsl")),
                )
            };
        }
        macro_rules! nn_shader {
            ($name:literal) => {
                (
                    $name,
                    include_str!(concat!("../../../../shaders/nn/", $name, ".wgsl")),
                )
            };
        }
        match self {
            Kernel::Conv2d => nn_shader!("conv2d"),
            Kernel::Conv2dSubgroup => ("conv2d_subgroup", nn_shader!("conv2d").1),
            Kernel::Conv2dTiled => nn_shader!("conv2d_tiled"),
            Kernel::WinogradInput => nn_shader!("winograd_input"),
            Kernel::WinogradOutput => nn_shader!("winograd_output"),
            Kernel::GroupNorm => nn_shader!("group_norm"),
            Kernel::GroupNormSubgroup => ("group_norm_subgroup", nn_shader!("group_norm").1),
            Kernel::GroupNormSubgroups => ("group_norm_subgroups", nn_shader!("group_norm").1),
            Kernel::Linear => nn_shader!("linear"),
            Kernel::Attention => nn_shader!("attention"),
            Kernel::AttentionSubgroup => ("attention_subgroup", nn_shader!("attention").1),
            Kernel::AttentionSoftmax => nn_shader!("attention_softmax"),
            Kernel::AttentionSoftmaxRows => nn_shader!("attention_softmax_rows"),
            Kernel::AttentionSoftmaxRowsSubgroups => (
                "attention_softmax_rows_subgroups",
                nn_shader!("attention_softmax_rows").1,
            ),
            Kernel::AttentionFlash => nn_shader!("attention_flash"),
            Kernel::Guidance => nn_shader!("guidance"),
            Kernel::CastIn => ("cast_in", nn_shader!("cast").1),
            Kernel::CastOut => ("cast_out", nn_shader!("cast").1),
            Kernel::QMeanVariance => shader!("q_mean_variance"),
            Kernel::QSample => shader!("q_sample"),
            Kernel::QPosteriorMeanVariance => shader!("q_posterior_mean_variance"),
            Kernel::PMeanVariance => shader!("p_mean_variance"),
            Kernel::PSample => shader!("p_sample"),
            Kernel::NormalKl => shader!("normal_kl"),
            Kernel::DiscretizedGaussianLogLikelihood => {
                shader!("discretized_gaussian_log_likelihood")
            }
            Kernel::VbTermsBpd => shader!("vb_terms_bpd"),
            Kernel::TrainingLosses => shader!("training_losses"),
            Kernel::PriorBpd => shader!("prior_bpd"),
            Kernel::SampleMean => shader!("sample_mean"),
            Kernel::Noise => shader!("noise"),
            Kernel::PhiloxBits => shader!("philox_bits"),
            Kernel::DdpmStep => shader!("ddpm_step"),
            Kernel::MixtureDistances => shader!("mixture_distances"),
            Kernel::MixtureWeights => shader!("mixture_weights"),
            Kernel::MixtureOutput => shader!("mixture_output"),
            Kernel::BpdNoising => shader!("bpd_noising"),
            Kernel::BpdMse => shader!("bpd_mse"),
            Kernel::BandwidthCopy => shader!("bandwidth_copy"),
            Kernel::GaussianDenoiser => shader!("gaussian_denoiser"),
            Kernel::QSampleVec4 => shader!("q_sample_vec4"),
            Kernel::PSampleVec4 => shader!("p_sample_vec4"),
            Kernel::QSampleF16 => shader!("q_sample_f16"),
            Kernel::PSampleF16 => shader!("p_sample_f16"),
            Kernel::DdpmStepVec4 => shader!("ddpm_step_vec4"),
            Kernel::GaussianDenoiserVec4 => shader!("gaussian_denoiser_vec4"),
            Kernel::DdpmStepGaussianVec4 => shader!("ddpm_step_gaussian_vec4"),
            Kernel::MixtureOutputVec4 => shader!("mixture_output_vec4"),
            Kernel::MixtureDistancesVec4 => shader!("mixture_distances_vec4"),
            Kernel::DdimStep => shader!("ddim_step"),
            Kernel::DdimStepVec4 => shader!("ddim_step_vec4"),
            Kernel::PredictXstart => shader!("predict_xstart"),
            Kernel::DdimStepGaussianVec4 => shader!("ddim_step_gaussian_vec4"),
            Kernel::DynamicThreshold => shader!("dynamic_threshold"),
            Kernel::DynamicThresholdShort => shader!("dynamic_threshold_short"),
            Kernel::MultistepStep => shader!("multistep_step"),
            Kernel::MultistepStepVec4 => shader!("multistep_step_vec4"),
        }
    }

    /// The full WGSL source: [`COMMON_WGSL`] and philox.wgsl; for the sampling-step kernels
    /// their shared bindings (shaders/shared/step_bindings*.wgsl); the kernel's own file; and for
    /// the vec4 reverse-step kernels their shared entry point (step_vec4_entry.wgsl), and for the
    /// dynamic thresholding kernels their shared scale (shared/dynamic_threshold_scale.wgsl).
    pub fn source(self) -> String {
        self.source_with(0)
    }

    /// [`Kernel::source`] with the UNet kernels' storage type chosen by `nn` (their pipeline
    /// flags): the aliases `act` (a stored value) and `act4` (four of them) are f32, or with
    /// [`flags::F16`] f16 behind `enable f16;` (see `precision.rs`). Other kernels ignore `nn`.
    pub fn source_with(self, nn: u32) -> String {
        if self.is_nn() {
            let storage = match nn & flags::F16 != 0 {
                true => "enable f16;\nalias act = f16;\nalias act4 = vec4<f16>;",
                false => "alias act = f32;\nalias act4 = vec4<f32>;",
            };
            return format!(
                "{storage}\n{NN_COMMON_WGSL}\n{}\n{}",
                self.nn_prelude(),
                self.file().1
            );
        }
        let bindings = match (self.is_step(), self.takes_grid()) {
            (true, false) => STEP_BINDINGS_WGSL,
            (true, true) => STEP_BINDINGS_VEC4_WGSL,
            _ => "",
        };
        let entry = match self {
            Kernel::PSampleVec4
            | Kernel::DdpmStepVec4
            | Kernel::DdpmStepGaussianVec4
            | Kernel::DdimStepVec4
            | Kernel::DdimStepGaussianVec4
            | Kernel::MultistepStepVec4 => STEP_VEC4_ENTRY_WGSL,
            Kernel::DynamicThreshold | Kernel::DynamicThresholdShort => THRESHOLD_SCALE_WGSL,
            _ => "",
        };
        format!(
            "{COMMON_WGSL}\n{PHILOX_WGSL}\n{bindings}\n{}\n{entry}",
            self.file().1
        )
    }
}

#[cfg(test)]
mod tests;
