//! The UNet kernels' uniform structs and dispatch constants against their WGSL, read by naga
//! (the element and step kernels' are in tests/shader_layout.rs).

#[path = "common/naga_layout.rs"]
mod naga_layout;
use ddpm_wgpu::gpu::runtime::shaders::Kernel;
use naga_layout::{module, wgsl_u32_const};

/// The UNet kernels' parameter structs (shaders/nn/common.wgsl, src/gpu/nn/params.rs), and the
/// workgroup sizes their host code dispatches by.
#[test]
fn nn_layouts() {
    use ddpm_wgpu::gpu::nn::params::{
        CastParams, ConvParams, FlashParams, GuidanceParams, LinearParams, MatmulParams,
        NormParams, SoftmaxParams,
    };
    assert_layout!(
        module(Kernel::AttentionFlash),
        "FlashParams",
        FlashParams,
        [
            n,
            head_dim,
            inner,
            qkv_offset,
            qkv_bstride,
            out_offset,
            out_bstride,
            scale
        ]
    );
    assert_layout!(
        module(Kernel::Guidance),
        "GuidanceParams",
        GuidanceParams,
        [batch, mean_len, var_len, _pad0, scale, rescale, _pad1, _pad2]
    );
    assert_layout!(
        module(Kernel::CastIn),
        "CastParams",
        CastParams,
        [
            batch,
            len,
            in_offset,
            in_bstride,
            out_offset,
            out_bstride,
            _pad0,
            _pad1
        ]
    );
    let m = module(Kernel::Conv2d);
    assert_layout!(
        m,
        "ConvParams",
        ConvParams,
        [
            batch,
            cin,
            h,
            w,
            cout,
            oh,
            ow,
            cout_padded,
            pad_top,
            pad_left,
            x_tiles,
            tiles,
            in_offset,
            in_bstride,
            out_offset,
            out_bstride,
            res_offset,
            res_bstride,
            temb_offset,
            temb_stride,
            split,
            out2_offset,
            out2_bstride,
            out_scale,
            o_tiles,
            w_xstride,
            in_xstride,
            out_xstride,
        ]
    );
    assert_layout!(
        m,
        "WinogradParams",
        ddpm_wgpu::gpu::nn::params::WinogradParams,
        [
            batch,
            channels,
            h,
            w,
            oh,
            ow,
            ty,
            tx,
            pad_top,
            pad_left,
            in_offset,
            in_bstride,
            xstride,
            out_offset,
            out_bstride,
            res_offset,
            res_bstride,
            temb_offset,
            temb_stride,
            split,
            out2_offset,
            out2_bstride,
            out_scale,
            cstride,
        ]
    );
    assert_layout!(
        m,
        "NormParams",
        NormParams,
        [
            batch,
            channels,
            groups,
            plane,
            in_offset,
            in_bstride,
            out_offset,
            out_bstride,
            temb_offset,
            temb_stride,
            eps,
            _pad,
        ]
    );
    assert_layout!(
        m,
        "LinearParams",
        LinearParams,
        [
            rows,
            in_features,
            out_features,
            num_timesteps,
            t_offset,
            _pad0,
            _pad1,
            _pad2,
        ]
    );
    assert_layout!(
        m,
        "MatmulParams",
        MatmulParams,
        [
            m, n, k, heads, batch, a_offset, a_bstride, a_hstride, a_mstride, a_kstride, b_offset,
            b_bstride, b_hstride, b_kstride, b_nstride, c_offset, c_bstride, c_hstride, c_mstride,
            c_nstride, n_tiles, scale, _pad0, _pad1,
        ]
    );
    assert_layout!(m, "SoftmaxParams", SoftmaxParams, [rows, len, scale, _pad]);
    // The tile and workgroup constants the host dispatches by.
    let conv = module(Kernel::Conv2d);
    assert_eq!(
        wgsl_u32_const(&conv, "CONV_TM") as usize,
        ddpm_wgpu::gpu::nn::conv2d::CONV_TM
    );
    assert_eq!(
        wgsl_u32_const(&conv, "CONV_TN") as usize,
        ddpm_wgpu::gpu::nn::conv2d::CONV_TN
    );
    assert_eq!(
        wgsl_u32_const(&conv, "CONV_WG") as usize,
        ddpm_wgpu::gpu::nn::conv2d::CONV_WG
    );
    assert_layout!(
        module(Kernel::Conv2dTiled),
        "TiledConvParams",
        ddpm_wgpu::gpu::nn::params::TiledConvParams,
        [
            batch,
            cin,
            h,
            w,
            cout,
            oh,
            ow,
            cout_padded,
            pad_top,
            pad_left,
            k_total,
            n_total,
            n_tiles,
            in_offset,
            in_bstride,
            out_offset,
            out_bstride,
            res_offset,
            res_bstride,
            temb_offset,
            temb_stride,
            split,
            out2_offset,
            out2_bstride,
            out_scale,
            _pad0,
            _pad1,
            _pad2,
        ]
    );
    let tiled = module(Kernel::Conv2dTiled);
    assert_eq!(
        wgsl_u32_const(&tiled, "TILE_PAD"),
        ddpm_wgpu::gpu::runtime::shaders::tiles::TILE_PAD
    );
    assert_eq!(
        wgsl_u32_const(&tiled, "TILE_MAX"),
        ddpm_wgpu::gpu::runtime::shaders::tiles::TILE_MAX
    );
    let norm = module(Kernel::GroupNorm);
    assert_eq!(
        wgsl_u32_const(&norm, "NORM_WG") as usize,
        ddpm_wgpu::gpu::nn::group_norm::NORM_WG
    );
    let mm = module(Kernel::Attention);
    assert_eq!(
        wgsl_u32_const(&mm, "MM_TILE") as usize,
        ddpm_wgpu::gpu::nn::attention::MM_TILE
    );
    assert_eq!(
        wgsl_u32_const(&mm, "MM_WG") as usize,
        ddpm_wgpu::gpu::nn::attention::MM_WG
    );
}

/// The tiled conv with each tile shape's pipeline constants, and every option on and off,
/// resolved by naga as wgpu does before it makes a pipeline: it validates, its workgroup size
/// is the shape's invocations, and its workgroup memory is what the host checks against the
/// device's limits (`TileShape::workgroup_bytes`).
#[test]
fn tiled_conv_shapes_resolve_and_validate() {
    use ddpm_wgpu::gpu::runtime::shaders::flags;
    use ddpm_wgpu::gpu::runtime::shaders::tiles::TileShape;
    let m = module(Kernel::Conv2dTiled);
    let info = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&m)
    .unwrap();
    for (shape, small) in [(TileShape::LARGE, 0), (TileShape::SMALL, flags::TILE_SMALL)] {
        assert!(shape.is_consistent(), "{shape:?}");
        for options in [
            0,
            flags::KSIZE3 | flags::STRIDE2 | flags::CENTER,
            flags::KSIZE3 | flags::UPSAMPLE | flags::TEMB | flags::RESIDUAL | flags::SPLIT,
        ] {
            let mut constants = naga::back::PipelineConstants::default();
            for (name, v) in flags::constants(Kernel::Conv2dTiled, small | options) {
                constants.insert(name.to_string(), v);
            }
            let (resolved, _) = naga::back::pipeline_constants::process_overrides(
                &m,
                &info,
                Some((naga::ShaderStage::Compute, "main")),
                &constants,
            )
            .unwrap_or_else(|e| panic!("{}: {e:?}", shape.name));
            let ep = &resolved.entry_points[0];
            assert_eq!(
                ep.workgroup_size,
                [shape.invocations(), 1, 1],
                "{}",
                shape.name
            );
            let bytes: u32 = resolved
                .global_variables
                .iter()
                .filter(|(_, g)| g.space == naga::AddressSpace::WorkGroup)
                .map(|(_, g)| resolved.types[g.ty].inner.size(resolved.to_ctx()))
                .sum();
            assert_eq!(bytes, shape.workgroup_bytes(), "{}", shape.name);
        }
    }
    // The large shape fits lavapipe's 32 KiB and NVIDIA Vulkan's 48 KiB, not wgpu's default
    // 16 KiB: the host refuses it there with an error instead of letting wgpu fail.
    assert!(TileShape::LARGE.workgroup_bytes() <= 32 * 1024);
    let default =
        ddpm_wgpu::gpu::runtime::shaders::tiles::TileShape::LARGE.check(&wgpu::Limits::default());
    assert!(
        matches!(default, Err(ddpm_wgpu::Error::Unsupported(_))),
        "{default:?}"
    );
    assert!(TileShape::SMALL.check(&wgpu::Limits::default()).is_ok());
}
