//! Class labels in the sampling loop: `LoopOptions::class_labels` on the device (each chunk
//! its own samples' labels) against the f64 twin, and `ddpm sample --class`, `--class-labels`
//! `--null-class` and `--guidance-scale` / `--guidance-rescale` on a class-conditional fixture
//! model (tests/fixtures/class_cond/, see
//! tests/class_cond.rs): the same samples from a list and from a file, rows of a run with
//! `--first-index`, the null class by default; the refusals in one line.

mod common;

use common::cli::{assert_refused, ddpm, read_f32, tmp_dir, write_i64};
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::nn::UNetCpu;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions};
use ddpm_wgpu::gpu::UNetDenoiser;
use ddpm_wgpu::nn::ModelFolder;
use ddpm_wgpu::sampler::{Ddim, DdimOptions};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{ModelOptions, ScheduleKind, Tables};
use std::path::{Path, PathBuf};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/class_cond/embedding")
}

/// DDIM-5 on the class fixture, labels 0, 6 and 10 (the null class): the device's loop whole
/// and in chunks of one sample (the same bits: each chunk hands its own labels to the model),
/// against the twin within 1e-4 of the largest value (f32 UNet and steps against f64 over five
/// steps, as the other model loops are bounded); other labels move the samples.
#[test]
fn the_loop_hands_each_chunk_its_labels() {
    let Some(ctx) = common::gpu() else { return };
    let unet = ModelFolder::open(folder()).unwrap().unet().unwrap();
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let leading = Spacing::Leading { steps_offset: 0 };
    let chain = Chain::respaced(&tables, &timesteps(1000, 5, &leading).unwrap()).unwrap();
    let ddim = Ddim::new(chain, ModelOptions::default(), None, DdimOptions::default()).unwrap();
    let shape = [3, 3, 8, 8];
    let mut den = UNetDenoiser::new(&ctx, &unet, 1000).unwrap();
    let run = |den: &mut UNetDenoiser, labels: Vec<u32>, chunk: Option<usize>| {
        let opts = LoopOptions {
            seed: 5,
            class_labels: Some(labels),
            max_chunk_samples: chunk,
            ..LoopOptions::default()
        };
        sample_loop(&ctx, &ddim, den, &shape, &opts, &mut |_, _| {})
            .unwrap()
            .x0
    };
    let whole = run(&mut den, vec![0, 6, 10], None);
    assert_eq!(run(&mut den, vec![0, 6, 10], Some(1)), whole);
    assert_ne!(run(&mut den, vec![1, 7, 9], None), whole);
    let twin = UNetCpu::new(&unet, 8, 8).unwrap();
    let opts = LoopOptions {
        seed: 5,
        class_labels: Some(vec![0, 6, 10]),
        ..LoopOptions::default()
    };
    let cpu =
        ddpm_wgpu::cpu::sampling::sample_loop::sample_loop(&ddim, &twin, 3, 192, &opts).unwrap();
    let scale = cpu.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = whole
        .iter()
        .zip(&cpu)
        .map(|(g, c)| (f64::from(*g) - c).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "GPU against twin: {:.2e} of the largest value",
        worst / scale
    );
    assert!(worst <= 1e-4 * scale, "{worst:.3e} of {scale}");
    // Unlabelled, or labels of the wrong count: refused.
    let none = LoopOptions::default();
    assert!(sample_loop(&ctx, &ddim, &mut den, &shape, &none, &mut |_, _| {}).is_err());
    let two = LoopOptions {
        class_labels: Some(vec![0, 1]),
        ..LoopOptions::default()
    };
    assert!(sample_loop(&ctx, &ddim, &mut den, &shape, &two, &mut |_, _| {}).is_err());
}

#[test]
fn sample_takes_classes_from_a_list_a_file_or_the_null_class() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = tmp_dir("cli-class");
    let model = folder().display().to_string();
    let run = |extra: &[&str], name: &str, count: &str| {
        let out = dir.join(name).display().to_string();
        let mut args = vec!["sample", "--model", &model, "--sampler", "ddim"];
        args.extend(["--steps", "4", "--seed", "3", "--count", count, "--quiet"]);
        args.extend(extra);
        args.extend(["--out", &out]);
        let r = ddpm(&args);
        assert_eq!(r.code, 0, "{extra:?}: {:?}", r.stderr_lines);
        read_f32(&dir.join(name)).1
    };
    let listed = run(&["--class", "2,5,7"], "list.npy", "3");
    let file = write_i64(&dir, "labels", &[2, 5, 7]);
    assert_eq!(run(&["--class-labels", &file], "file.npy", "3"), listed);
    // The list cycles by the sample's index in the run: samples 1 and 2 of the run of 3.
    let tail = run(&["--class", "2,5,7", "--first-index", "1"], "tail.npy", "2");
    assert_eq!(tail, listed[192..]);
    // Without --class: the null class, the last row (10) unless --null-class says.
    let null = run(&[], "null.npy", "2");
    assert_eq!(null, run(&["--class", "10"], "ten.npy", "2"));
    assert_eq!(
        run(&["--null-class", "3"], "three.npy", "2"),
        run(&["--class", "3"], "three_b.npy", "2")
    );
    assert_ne!(null, run(&["--class", "3"], "three_c.npy", "2"));
    // Guidance: scale 1 is the class alone; 3 combines both passes, the same on the twin
    // within the loops' 1e-4 of the largest value (tests/guided_loop.rs).
    let one = run(
        &["--class", "2,5,7", "--guidance-scale", "1"],
        "g1.npy",
        "3",
    );
    assert_eq!(one, listed);
    let three = [
        "--class",
        "2,5,7",
        "--guidance-scale",
        "3",
        "--guidance-rescale",
        "0.5",
    ];
    let guided = run(&three, "g3.npy", "3");
    assert_ne!(guided, listed);
    let mut on_cpu = three.to_vec();
    on_cpu.extend(["--device", "cpu"]);
    let twin = run(&on_cpu, "g3cpu.npy", "3");
    let scale = twin.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (a, b) in guided.iter().zip(&twin) {
        assert!((a - b).abs() <= 1e-4 * scale, "{a} vs {b}");
    }
    let out = dir.join("bad.npy");
    let base = ["sample", "--model", &model, "--count", "3", "--quiet"];
    let plain = common::unet::fixture("attn_two_levels_heads")
        .display()
        .to_string();
    let two = write_i64(&dir, "two", &[1, 2]);
    for (extra, needle) in [
        (vec!["--class", "11"], "--class 11"),
        (vec!["--class", "1,x"], "'x'"),
        (vec!["--class", "1", "--class-labels", &file], "not both"),
        (vec!["--null-class", "11"], "--null-class 11"),
        (vec!["--class-labels", &two], "--class-labels has shape [2]"),
        (vec!["--guidance-scale", "-1"], "guidance scale -1"),
        (vec!["--guidance-scale", "NaN"], "guidance scale NaN"),
        (vec!["--guidance-rescale", "1.5"], "guidance rescale 1.5"),
    ] {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        assert_refused(&args, needle, &out);
    }
    let args = ["sample", "--model", &plain, "--count", "1", "--class", "1"];
    assert_refused(&args, "no class embeddings", &out);
    let args = [
        "sample",
        "--model",
        &plain,
        "--count",
        "1",
        "--guidance-scale",
        "2",
    ];
    assert_refused(&args, "no class embeddings", &out);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `class_embed_type` timestep model (tests/fixtures/class_cond/timestep, no
/// num_class_embeds): any label samples, from a list or a file alike; it has no default null
/// class, so sampling without `--class`, or guided, needs `--null-class` (any label), and is
/// refused by name without it.
#[test]
fn sample_on_a_timestep_model() {
    let Some(_ctx) = common::gpu() else { return };
    let dir = tmp_dir("cli-class-timestep");
    let model = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/class_cond/timestep")
        .display()
        .to_string();
    let base = [
        "sample",
        "--model",
        &model,
        "--sampler",
        "ddim",
        "--steps",
        "3",
    ];
    let run = |extra: &[&str], name: &str, count: &str| {
        let out = dir.join(name).display().to_string();
        let mut args = base.to_vec();
        args.extend(["--seed", "2", "--count", count, "--quiet"]);
        args.extend(extra);
        args.extend(["--out", &out]);
        let r = ddpm(&args);
        assert_eq!(r.code, 0, "{extra:?}: {:?}", r.stderr_lines);
        read_f32(&dir.join(name)).1
    };
    let listed = run(&["--class", "0,7,123"], "list.npy", "3");
    let file = write_i64(&dir, "labels", &[0, 7, 123]);
    assert_eq!(run(&["--class-labels", &file], "file.npy", "3"), listed);
    assert_ne!(run(&["--class", "1,8,124"], "next.npy", "3"), listed);
    let null = run(&["--null-class", "500"], "null.npy", "2");
    assert_eq!(null, run(&["--class", "500"], "500.npy", "2"));
    let guided = [
        "--class",
        "0,7,123",
        "--guidance-scale",
        "2",
        "--null-class",
        "500",
    ];
    assert_ne!(run(&guided, "guided.npy", "3"), listed);
    let out = dir.join("bad.npy");
    let mut args = base.to_vec();
    args.extend(["--count", "2", "--quiet"]);
    assert_refused(&args, "no default null class", &out);
    args.extend(["--class", "3", "--guidance-scale", "2"]);
    assert_refused(&args, "--guidance-scale: a class_embed_type timestep", &out);
    let _ = std::fs::remove_dir_all(&dir);
}
