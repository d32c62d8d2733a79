//! Every shader parses and validates with naga; the host structs match their WGSL layout; the
//! constants shared by name between Rust and WGSL agree. Needs no GPU.

use ddpm_wgpu::gpu::runtime::params::{
    loss_type_code, mean_type_code, var_type_code, ElementParams, ReduceParams,
};
use ddpm_wgpu::gpu::runtime::shaders::{Kernel, WG_SIZE};
use ddpm_wgpu::gpu::StepCoefs;
use ddpm_wgpu::{LossType, MeanType, VarType};

#[path = "common/naga_layout.rs"]
mod naga_layout;
use naga_layout::{module, wgsl_u32_const};

#[test]
fn every_shader_parses_and_validates() {
    for kernel in Kernel::ALL {
        let m = module(kernel);
        // The f16-storage kernels need pack2x16float/unpack2x16float (wgpu enables that where
        // the adapter has DownlevelFlags::SHADER_F16_IN_F32: Vulkan and GLES 3.1 do); every
        // other kernel must validate with no optional capability at all.
        let caps = if kernel.name().ends_with("_f16") {
            naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32
        } else if kernel.name().ends_with("_subgroup") || kernel.name().ends_with("_subgroups") {
            // Used only on devices with subgroups (Context::subgroup_size; `_subgroups`: of any
            // size).
            naga::valid::Capabilities::SUBGROUP
        } else {
            naga::valid::Capabilities::empty()
        };
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&m)
            .unwrap_or_else(|e| panic!("{}: {e:?}", kernel.name()));
        assert_eq!(
            m.entry_points.len(),
            1,
            "{}: one entry point",
            kernel.name()
        );
        assert_eq!(m.entry_points[0].name, "main");
        // The tiled conv's workgroup size is a pipeline constant (its tile shape's): checked
        // per shape in tests/shader_layout_nn.rs, after naga resolves the constants.
        if m.entry_points[0].workgroup_size_overrides.is_some() {
            assert_eq!(
                kernel,
                Kernel::Conv2dTiled,
                "only the tiled conv's size is overridable"
            );
            continue;
        }
        assert_eq!(
            m.entry_points[0].workgroup_size,
            [kernel.workgroup_size(), 1, 1],
            "{}: workgroup size must be Kernel::workgroup_size (WG_SIZE, or 64 for shaders/nn/)",
            kernel.name()
        );
        if !kernel.is_nn() {
            assert_eq!(kernel.workgroup_size(), WG_SIZE);
        }
    }
}

/// The UNet kernels' f16 storage variant (`Precision::F16`: `act` is f16 behind `enable f16;`)
/// validates too, with naga's SHADER_FLOAT16 (wgpu's SHADER_F16) and subgroups where the f32
/// variant needs them.
#[test]
fn every_nn_shader_validates_with_f16_storage() {
    use ddpm_wgpu::gpu::runtime::shaders::flags::F16;
    let nn: Vec<Kernel> = Kernel::ALL.into_iter().filter(|k| k.is_nn()).collect();
    assert!(nn.len() >= 18, "{} UNet kernels", nn.len());
    for kernel in nn {
        let src = kernel.source_with(F16);
        assert!(src.starts_with("enable f16;"), "{}", kernel.name());
        let m = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{} (f16): {}", kernel.name(), e.emit_to_string(&src)));
        let mut caps = naga::valid::Capabilities::SHADER_FLOAT16;
        if kernel.name().ends_with("_subgroup") || kernel.name().ends_with("_subgroups") {
            caps |= naga::valid::Capabilities::SUBGROUP;
        }
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&m)
            .unwrap_or_else(|e| panic!("{} (f16): {e:?}", kernel.name()));
        // The f32 variant is today's kernel: the aliases name f32.
        assert!(kernel.source().starts_with("alias act = f32;"));
    }
}

/// (member name, offset) of the WGSL struct `name`, and its size.
#[test]
fn host_structs_match_wgsl_layout() {
    let m = module(Kernel::PSample);
    assert_layout!(
        m,
        "StepCoefs",
        StepCoefs,
        [
            beta,
            log_beta,
            sqrt_abar,
            one_minus_abar,
            sqrt_one_minus_abar,
            log_one_minus_abar,
            sqrt_recip_abar,
            sqrt_recipm1_abar,
            posterior_variance,
            posterior_log_variance_clipped,
            posterior_mean_coef1,
            posterior_mean_coef2,
            recip_coef1,
            coef2_over_coef1,
            fixedlarge_log_variance,
            next_t,
        ]
    );
    assert_layout!(
        m,
        "ElementParams",
        ElementParams,
        [
            n_elements,
            sample_len,
            num_timesteps,
            mean_type,
            var_type,
            clip_denoised,
            loss_type,
            bin_half_width_hi,
            bin_half_width_lo,
            clip_range,
            aux_noise_offset,
            _pad2,
        ]
    );
    let d = module(Kernel::DdimStep);
    assert_layout!(
        d,
        "DdimCoefs",
        ddpm_wgpu::gpu::kernels::ddim_step::DdimCoefs,
        [
            sqrt_recip_abar,
            sqrt_recipm1_abar,
            sqrt_abar,
            sqrt_one_minus_abar,
            recip_sqrt_one_minus_abar,
            sqrt_abar_target,
            direction,
            sigma,
            next_t,
            one_minus_abar,
            _pad1,
            _pad2,
        ]
    );
    assert_layout!(
        module(Kernel::MultistepStep),
        "MultistepCoefs",
        ddpm_wgpu::gpu::kernels::multistep_step::MultistepCoefs,
        [
            sqrt_recip_abar,
            sqrt_recipm1_abar,
            sqrt_abar,
            sqrt_one_minus_abar,
            ax,
            al,
            a0,
            a1,
            a2,
            a3,
            bx,
            b0,
            b1,
            b2,
            b3,
            bz,
            ring_rows,
            ring,
            next_t,
            flags,
        ]
    );
    assert_layout!(
        d,
        "NoiseParams",
        ddpm_wgpu::gpu::runtime::params::NoiseParams,
        [
            n_elements,
            sample_len,
            first_sample,
            stream,
            step,
            seed_lo,
            seed_hi,
            scale,
        ]
    );
    let c = module(Kernel::BandwidthCopy);
    assert_layout!(
        c,
        "CopyParams",
        ddpm_wgpu::gpu::runtime::params::CopyParams,
        [n_vec4, _pad0, _pad1, _pad2]
    );
    let g = module(Kernel::GaussianDenoiserVec4);
    assert_layout!(
        g,
        "MixtureParams",
        ddpm_wgpu::gpu::runtime::params::MixtureParams,
        [
            batch,
            sample_len,
            num_points,
            num_timesteps,
            mean_type,
            var_type,
            data_var,
            _pad,
        ]
    );
    let r = module(Kernel::SampleMean);
    assert_layout!(
        r,
        "ReduceParams",
        ReduceParams,
        [sample_len, n_samples, scale_over_len, _pad]
    );
    let t = module(Kernel::DynamicThreshold);
    assert_layout!(
        t,
        "ThresholdParams",
        ddpm_wgpu::gpu::kernels::dynamic_threshold::ThresholdParams,
        [sample_len, n_samples, rank_lo, rank_hi, coef, base_is_hi, max_value, _pad]
    );
}

#[test]
fn option_codes_match_wgsl_constants() {
    let m = module(Kernel::TrainingLosses);
    assert_eq!(wgsl_u32_const(&m, "WG_SIZE"), WG_SIZE);
    {
        use ddpm_wgpu::gpu::sampling::mixture_denoiser as mix;
        for (name, value) in [
            ("SHORT_REDUCTION", mix::SHORT_REDUCTION),
            ("DIST_CHUNK", mix::DIST_CHUNK),
            ("DIST_POINTS_VEC4", mix::DIST_POINTS_VEC4),
            ("DIST_SAMPLES_VEC4", mix::DIST_SAMPLES_VEC4),
        ] {
            assert_eq!(wgsl_u32_const(&m, name) as usize, value, "{name}");
        }
    }
    for (name, code) in [
        ("MEAN_EPS", mean_type_code(MeanType::Eps)),
        ("MEAN_XSTART", mean_type_code(MeanType::Xstart)),
        ("MEAN_XPREV", mean_type_code(MeanType::Xprev)),
        ("MEAN_V", mean_type_code(MeanType::V)),
        ("VAR_FIXEDSMALL", var_type_code(VarType::FixedSmall)),
        ("VAR_FIXEDLARGE", var_type_code(VarType::FixedLarge)),
        ("VAR_LEARNED", var_type_code(VarType::Learned)),
        ("VAR_LEARNED_RANGE", var_type_code(VarType::LearnedRange)),
        ("LOSS_MSE", loss_type_code(LossType::Mse)),
        ("LOSS_KL", loss_type_code(LossType::Kl)),
        ("GRID_FLAT", ddpm_wgpu::gpu::runtime::params::GRID_FLAT),
        (
            "GRID_PER_SAMPLE",
            ddpm_wgpu::gpu::runtime::params::GRID_PER_SAMPLE,
        ),
        (
            "MULTISTEP_EPS_HISTORY",
            ddpm_wgpu::cpu::kernels::multistep_step::EPS_HISTORY,
        ),
        (
            "MULTISTEP_CORRECT",
            ddpm_wgpu::cpu::kernels::multistep_step::CORRECT,
        ),
    ] {
        assert_eq!(wgsl_u32_const(&m, name), code, "{name}");
    }
}
