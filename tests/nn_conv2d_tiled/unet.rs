//! The whole UNet with the tiled conv forced (tests/nn_conv2d_tiled.rs): every committed
//! fixture against the f64 twin, and `ddpm bench --model` running it (by `--conv` and by
//! `DDPM_KERNEL`), every conv of the profiled forward on the tiled kernel.

use super::common;
use common::unet::{inputs, model, FIXTURES};
use ddpm_wgpu::cpu::nn as cpu_nn;
use ddpm_wgpu::gpu::nn::conv2d_tiled::ConvKernel;
use ddpm_wgpu::gpu::nn::UNetOptions;
use ddpm_wgpu::gpu::UNetDenoiser;
use std::process::Command;

/// tests/unet_gpu.rs's budget, for the same reason: the twin's own against diffusers, 1e-5
/// absolute plus 1e-5 relative. The tiled convs sum K = C_in x 9 <= 567 terms per output, each
/// within (K + 3) u S of exact (the layer test above), far inside it.
const ABS_TOL: f64 = 1e-5;
const REL_TOL: f64 = 1e-5;

#[test]
fn every_fixture_with_the_tiled_conv_matches_the_twin() {
    let Some(ctx) = common::gpu() else { return };
    let mut all = 0.0f64;
    // On GL the small shape on two fixtures (see `shapes_on`).
    let gl = ctx.adapter_info().backend == wgpu::Backend::Gl;
    let fixtures = if gl { &FIXTURES[..2] } else { FIXTURES };
    for shape in super::shapes_on(&ctx) {
        for name in fixtures {
            let (unet, big_t) = model(name);
            let opts = UNetOptions {
                conv: Some(ConvKernel::Tiled(shape)),
                ..UNetOptions::default()
            };
            let den = UNetDenoiser::with_options(&ctx, &unet, big_t, opts).unwrap();
            for b in [1, 3] {
                let (xs, x, t, _) = inputs(name, b);
                let got = den.forward(&ctx, &x, &xs, &t).unwrap();
                let s: [usize; 4] = xs.clone().try_into().unwrap();
                let twin = cpu_nn::forward(&unet, &x, s, &t).unwrap();
                let mut worst = (0.0f64, 0usize);
                for (i, (&g, &w)) in got.iter().zip(&twin).enumerate() {
                    let err = (g as f64 - w).abs();
                    assert!(
                        err <= ABS_TOL + REL_TOL * w.abs(),
                        "{} {name} B={b}: [{i}] gpu {g} twin {w} |diff| {err:.3e}",
                        shape.name
                    );
                    if err > worst.0 {
                        worst = (err, i);
                    }
                }
                assert_eq!(got.len(), twin.len());
                println!(
                    "{} {name} B={b}: worst |gpu - twin| {:.3e} at [{}]",
                    shape.name, worst.0, worst.1
                );
                all = all.max(worst.0);
            }
        }
    }
    println!("tiled UNet: worst |gpu - twin| {all:.3e}");
}

/// `ddpm bench --model FIXTURE --profile --json` with `args` and `DDPM_KERNEL=env`: the
/// report's conv kernel and its profile's dispatch kinds.
fn bench(args: &[&str], env: Option<&str>) -> (String, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ddpm"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "bench",
        "--model",
        "tests/fixtures/unet/attn_two_levels_heads",
        "--batch",
        "2",
        "--trials",
        "1",
        "--ddim-steps",
        "0",
        "--ddpm-steps",
        "0",
        "--dpm-steps",
        "0",
        "--unipc-steps",
        "0",
        "--profile",
        "--json",
    ]);
    cmd.args(args);
    match env {
        Some(v) => cmd.env("DDPM_KERNEL", v),
        None => cmd.env_remove("DDPM_KERNEL"),
    };
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds = r["profile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_string())
        .collect();
    (r["conv_kernel"].as_str().unwrap().to_string(), kinds)
}

#[test]
fn bench_runs_the_kernel_asked_for() {
    let Some(ctx) = common::gpu() else { return };
    // The environment's kernel: the large tile, but on GL the small one, whose pipelines the
    // flag's case below has already compiled (GL compiles each for minutes; see `shapes_on`).
    let env_shape = match ctx.adapter_info().backend {
        wgpu::Backend::Gl => "small",
        _ => "large",
    };
    let env_kernel = format!("conv2d_tiled_{env_shape}");
    let convs = |kinds: &[String]| -> Vec<String> {
        kinds
            .iter()
            .filter(|k| k.starts_with("conv2d"))
            .cloned()
            .collect()
    };
    // Default: tuned (auto), which keeps the direct kernel on a software adapter (the tiled
    // one is 8-39x slower there and must win by 10%); with --tune off, the rule's direct
    // kernel.
    for (args, want) in [(&[][..], "tune auto"), (&["--tune", "off"][..], "tune off")] {
        let (name, kinds) = bench(args, None);
        assert_eq!(name, want);
        assert!(convs(&kinds).iter().all(|k| !k.starts_with("conv2d_tiled")));
    }
    let (name, kinds) = bench(&["--conv", "conv2d"], None);
    assert_eq!(name, "conv2d");
    assert!(convs(&kinds).iter().all(|k| !k.starts_with("conv2d_tiled")));
    // Forced by the flag and by the environment: every conv of the forward tiled.
    for (args, env, want) in [
        (&["--conv", "conv2d_tiled_small"][..], None, "small"),
        (&[][..], Some(env_kernel.as_str()), env_shape),
        // The flag wins over the environment.
        (
            &["--conv", "conv2d_tiled_small"][..],
            Some("conv2d"),
            "small",
        ),
    ] {
        let (name, kinds) = bench(args, env);
        assert_eq!(name, format!("conv2d_tiled_{want}"));
        let c = convs(&kinds);
        assert!(!c.is_empty(), "{kinds:?}");
        for k in &c {
            assert!(
                k.starts_with("conv2d_tiled") && k.contains(want),
                "{k} in {kinds:?}"
            );
        }
    }
    // A conv kernel and the one-pass attention together: the profile has the one-pass kernel
    // and neither the scores' softmax nor their products.
    let (name, kinds) = bench(&[], Some("conv2d_tiled_small, attention_flash"));
    assert_eq!(name, "conv2d_tiled_small");
    assert!(kinds.iter().any(|k| k == "attention_flash"), "{kinds:?}");
    assert!(
        kinds.iter().all(|k| !k.starts_with("attention_softmax")),
        "{kinds:?}"
    );
    // An unknown name is an error, not the default.
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "bench",
            "--model",
            "tests/fixtures/unet/attn_two_levels_heads",
        ])
        .env("DDPM_KERNEL", "conv2d_tiled_huge")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("conv2d_tiled_huge"));
}
