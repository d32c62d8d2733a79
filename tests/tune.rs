//! The conv tuner (gpu::nn::tune): its choice is a correct variant (the tuned forward against
//! the f64 twin), the cache of this adapter and driver is used and one of another adapter or
//! driver, or a corrupt one, is not (and is rewritten), DDPM_KERNEL-style forcing wins, and the
//! fixed rule per device type.

mod common;

use common::unet::{inputs, model};
use ddpm_wgpu::cpu::nn as cpu_nn;
use ddpm_wgpu::gpu::nn::conv2d_tiled::{ConvKernel, TileShape};
use ddpm_wgpu::gpu::nn::tune::{self, Source, Tune, TuneCache};
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::{Context, UNetDenoiser};
use std::path::{Path, PathBuf};

/// tests/unet_gpu.rs's budget, for the same reason: the twin's own against diffusers, 1e-5
/// absolute plus 1e-5 relative; every variant sums K <= 567 terms per output far inside it
/// (tests/nn_conv2d_tiled.rs), so whichever the tuner picks must meet it.
const ABS_TOL: f64 = 1e-5;
const REL_TOL: f64 = 1e-5;

/// Two levels with attention: 3x3 at stride 1 and 2, 1x1 shortcuts and projections, an
/// upsampler read through.
const FIXTURE: &str = "attn_two_levels_heads";

/// A fresh directory under the target dir for one test's cache.
fn cache_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tune-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The model's denoiser with `opts`, caching in `dir`.
fn denoiser(ctx: &Context, opts: UNetOptions, dir: &Path) -> UNetDenoiser {
    let (unet, big_t) = model(FIXTURE);
    let mut den = UNetDenoiser::with_options(ctx, &unet, big_t, opts).unwrap();
    den.set_tune_cache(Some(dir.to_path_buf()));
    den
}

/// One forward at B = 3 against the twin; the worst error.
fn check_forward(ctx: &Context, den: &UNetDenoiser, what: &str) -> f64 {
    let (unet, _) = model(FIXTURE);
    let (xs, x, t, _) = inputs(FIXTURE, 3);
    let got = den.forward(ctx, &x, &xs, &t).unwrap();
    let s: [usize; 4] = xs.clone().try_into().unwrap();
    let twin = cpu_nn::forward(&unet, &x, s, &t).unwrap();
    assert_eq!(got.len(), twin.len());
    let mut worst = 0.0f64;
    for (i, (&g, &w)) in got.iter().zip(&twin).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            err <= ABS_TOL + REL_TOL * w.abs(),
            "{what}: [{i}] gpu {g} twin {w} |diff| {err:.3e}"
        );
        worst = worst.max(err);
    }
    println!("{what}: worst |gpu - twin| {worst:.3e}");
    worst
}

fn opts(tune: Tune) -> UNetOptions {
    UNetOptions {
        tune,
        ..UNetOptions::default()
    }
}

fn cache_file(ctx: &Context, dir: &Path) -> PathBuf {
    tune::cache::Identity::of(ctx.adapter_info()).file_in(dir)
}

#[test]
fn tuned_choices_are_timed_correct_variants() {
    let Some(ctx) = common::gpu() else { return };
    let dir = cache_dir("full");
    let den = denoiser(&ctx, opts(Tune::Full), &dir);
    check_forward(&ctx, &den, "tune full");
    let choices = den.tuner().choices();
    let ok = tune::candidates(ctx.limits());
    assert!(choices.len() >= 5, "{choices:?}");
    for (key, kernel, source) in &choices {
        assert!(ok.contains(kernel), "{key}: {kernel:?} is not a candidate");
        assert_eq!(*source, Source::Measured, "{key}");
    }
    // Every shape timed every candidate (full drops none) and chose the fastest of them.
    let rows = den.tuner().rows();
    assert_eq!(rows.len(), choices.len());
    for row in &rows {
        assert_eq!(row.variants.len(), ok.len(), "{row:?}");
        let best = row
            .variants
            .iter()
            .filter_map(|v| v.seconds.map(|s| (s, &v.variant)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        assert_eq!(&row.choice, best.1, "{row:?}");
        assert!(row.variants.iter().all(|v| v.seconds.unwrap() > 0.0));
    }
    // The results went to the cache, under this adapter.
    let file = TuneCache::load(&dir, &tune::cache::Identity::of(ctx.adapter_info()));
    assert_eq!(file.choices.len(), choices.len());
}

#[test]
fn the_cache_of_this_adapter_is_used_and_another_is_not() {
    let Some(ctx) = common::gpu() else { return };
    let dir = cache_dir("foreign");
    // The model's keys, from a first tuning.
    check_forward(&ctx, &denoiser(&ctx, opts(Tune::Auto), &dir), "tune auto");
    let identity = tune::cache::Identity::of(ctx.adapter_info());
    let mut planted = TuneCache::load(&dir, &identity);
    assert!(
        !planted.choices.is_empty(),
        "the first tuning cached nothing"
    );
    // Every shape on the small tile: a choice the timing would not make on a software
    // adapter, so that its use shows the file was read.
    let small = ConvKernel::Tiled(TileShape::SMALL);
    for v in planted.choices.values_mut() {
        *v = small.name().to_string();
    }
    planted.save(&dir).unwrap();
    let den = denoiser(&ctx, opts(Tune::Auto), &dir);
    check_forward(&ctx, &den, "cached small tiles");
    let from_cache = den.tuner().choices();
    assert!(from_cache
        .iter()
        .all(|(_, k, s)| *k == small && *s == Source::Cache));

    // The same choices under another driver, then another adapter: ignored, and the file is
    // rewritten with this adapter's identity.
    for foreign in ["driver", "adapter"] {
        let mut other = planted.clone();
        match foreign {
            "driver" => other.adapter.driver_info.push_str(" (another build)"),
            _ => other.adapter.name = "Some Other GPU".into(),
        }
        let text = serde_json::to_vec(&other).unwrap();
        std::fs::write(cache_file(&ctx, &dir), text).unwrap();
        let den = denoiser(&ctx, opts(Tune::Auto), &dir);
        check_forward(&ctx, &den, &format!("foreign {foreign}"));
        let choices = den.tuner().choices();
        assert!(
            choices.iter().all(|(_, _, s)| *s != Source::Cache),
            "another {foreign}'s cache was used: {choices:?}"
        );
        let again = TuneCache::load(&dir, &identity);
        assert_eq!(again.adapter, identity);
        assert!(!again.choices.is_empty());
    }

    // A corrupt file: ignored, rewritten.
    std::fs::write(cache_file(&ctx, &dir), b"{\"version\": 1, \"adapt").unwrap();
    let den = denoiser(&ctx, opts(Tune::Auto), &dir);
    check_forward(&ctx, &den, "corrupt cache");
    let text = std::fs::read(cache_file(&ctx, &dir)).unwrap();
    let parsed: TuneCache = serde_json::from_slice(&text).unwrap();
    assert_eq!(parsed.adapter, identity);
}

#[test]
fn a_forced_kernel_wins_and_off_keeps_the_rule() {
    let Some(ctx) = common::gpu() else { return };
    let dir = cache_dir("forced");
    let small = ConvKernel::Tiled(TileShape::SMALL);
    let forced = UNetOptions {
        conv: Some(small),
        tune: Tune::Full,
        ..UNetOptions::default()
    };
    let den = denoiser(&ctx, forced, &dir);
    check_forward(&ctx, &den, "forced small tiles");
    let c = den.tuner().choices();
    assert!(!c.is_empty());
    assert!(c
        .iter()
        .all(|(_, k, s)| *k == small && *s == Source::Forced));
    assert!(
        den.tuner().rows().is_empty(),
        "a forced kernel timed variants"
    );
    assert!(!dir.exists(), "a forced kernel wrote a cache");

    let den = denoiser(&ctx, opts(Tune::Off), &dir);
    check_forward(&ctx, &den, "tune off");
    let device = ctx.adapter_info().device_type;
    for (key, k, s) in den.tuner().choices() {
        assert_eq!(s, Source::Rule);
        assert_eq!(k, tune::rule(device, ctx.limits(), &key));
    }
    assert!(!dir.exists(), "tune off wrote a cache");
}

#[test]
fn the_fixed_rule_per_device_type() {
    let key = |cout| tune::ConvKey {
        cin: 64,
        cout,
        kernel: 3,
        stride: 1,
        pad: (1, 1),
        h: 16,
        w: 16,
        upsample: false,
        epilogue: 0,
        f16: false,
    };
    // An f16-stored conv is another shape to time and cache; the f32 key is as before.
    let f16 = tune::ConvKey {
        f16: true,
        ..key(64)
    };
    assert_eq!(key(64).cache_key(), "64-64-k3s1p1,1-16x16-e0");
    assert_eq!(f16.cache_key(), "64-64-k3s1p1,1-16x16-e0-f16");
    let roomy = wgpu::Limits {
        max_compute_workgroup_storage_size: 48 << 10,
        max_compute_invocations_per_workgroup: 1024,
        max_compute_workgroup_size_x: 1024,
        ..wgpu::Limits::default()
    };
    let large = ConvKernel::Tiled(TileShape::LARGE);
    let small = ConvKernel::Tiled(TileShape::SMALL);
    use wgpu::DeviceType::*;
    for gpu in [DiscreteGpu, IntegratedGpu, VirtualGpu] {
        assert_eq!(tune::rule(gpu, &roomy, &key(128)), large);
        assert_eq!(tune::rule(gpu, &roomy, &key(256)), large);
        assert_eq!(tune::rule(gpu, &roomy, &key(64)), small);
        // WebGPU's default 16 KiB of workgroup memory is short of the large tile's 16.5 KiB.
        assert_eq!(tune::rule(gpu, &wgpu::Limits::default(), &key(128)), small);
        let tiny = wgpu::Limits {
            max_compute_workgroup_storage_size: 4096,
            ..wgpu::Limits::default()
        };
        assert_eq!(tune::rule(gpu, &tiny, &key(128)), ConvKernel::Direct);
    }
    for soft in [Cpu, Other] {
        assert_eq!(tune::rule(soft, &roomy, &key(128)), ConvKernel::Direct);
    }
    assert_eq!(Tune::from_name("auto").unwrap(), Tune::Auto);
    let err = Tune::from_name("fastest").unwrap_err().to_string();
    assert!(
        err.contains("fastest") && err.contains("off, auto, full"),
        "{err}"
    );
}
