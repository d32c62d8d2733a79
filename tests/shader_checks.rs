//! The kernels compiled without naga's runtime checks (`ShaderChecks::Audited`, the default;
//! each one's reason in src/gpu/runtime/shaders/audited.rs) give the same bits as the same
//! kernels with the checks (`ShaderChecks::All`, `DDPM_SHADER_CHECKS=all`): the checks only
//! clamp indices that the audit says stay in range, so any difference is an index that did not.
//! Every UNet fixture at batch 3 through each audited kernel: direct and tiled convs, both
//! attention paths and softmaxes the device has, f16 storage where the device has SHADER_F16.

mod common;

use common::unet::{inputs, model, FIXTURES};
use ddpm_wgpu::gpu::nn::attention::AttentionKind;
use ddpm_wgpu::gpu::nn::conv2d_tiled::ConvKernel;
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::runtime::pipeline::ShaderChecks;
use ddpm_wgpu::gpu::runtime::shaders::tiles::TileShape;
use ddpm_wgpu::gpu::runtime::shaders::Kernel;
use ddpm_wgpu::gpu::runtime::Precision;
use ddpm_wgpu::gpu::{Context, UNetDenoiser};

#[test]
fn audited_kernels_give_the_checked_bits() {
    let Some(audited) = common::gpu() else { return };
    assert_eq!(audited.shader_checks(), ShaderChecks::Audited);
    let checked = Context::new()
        .unwrap()
        .with_shader_checks(ShaderChecks::All);
    let mut variants = vec![
        (None, AttentionKind::Scores, Precision::F32),
        (None, AttentionKind::Flash, Precision::F32),
    ];
    if Precision::F16.runs_on(&audited) {
        variants.push((None, AttentionKind::Flash, Precision::F16));
    }
    // The tiled conv on the first fixture only, and not on GL: llvmpipe's GL compiles each of
    // its pipelines for over a minute with a cold shader cache (Vulkan runs it).
    let tiled = (
        Some(ConvKernel::Tiled(TileShape::SMALL)),
        AttentionKind::Scores,
        Precision::F32,
    );
    for name in FIXTURES {
        let (unet, big_t) = model(name);
        let (xs, x, t, _) = inputs(name, 3);
        let gl = audited.adapter_info().backend == wgpu::Backend::Gl;
        let first = *name == FIXTURES[0] && !gl;
        for &(conv, attention, precision) in variants.iter().chain(first.then_some(&tiled)) {
            let opts = UNetOptions {
                conv,
                attention: Some(attention),
                precision,
                ..UNetOptions::default()
            };
            let run = |ctx: &Context| {
                let den = UNetDenoiser::with_options(ctx, &unet, big_t, opts).unwrap();
                den.forward(ctx, &x, &xs, &t).unwrap()
            };
            let (a, c) = (run(&audited), run(&checked));
            let same = a.iter().zip(&c).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(
                same && a.len() == c.len(),
                "{name} {opts:?}: the builds differ"
            );
        }
    }
}

/// The audit covers the UNet's hot kernels and nothing outside shaders/nn/ (the element and
/// step kernels keep naga's checks).
#[test]
fn the_audited_set() {
    for k in Kernel::ALL {
        if k.unchecked_because().is_some() {
            assert!(k.is_nn(), "{} is audited but not a UNet kernel", k.name());
        }
    }
    for k in [
        Kernel::Conv2d,
        Kernel::Conv2dTiled,
        Kernel::GroupNorm,
        Kernel::Linear,
        Kernel::Attention,
        Kernel::AttentionFlash,
        Kernel::CastIn,
    ] {
        let why = k.unchecked_because().unwrap_or_default();
        assert!(
            why.starts_with(k.name().split('_').next().unwrap_or("")),
            "{}: {why}",
            k.name()
        );
    }
    assert!(Kernel::Guidance.unchecked_because().is_none());
    assert!(Kernel::DdpmStep.unchecked_because().is_none());
}
