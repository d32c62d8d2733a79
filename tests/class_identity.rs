//! `class_embed_type` "identity" (tests/fixtures/class_cond/identity): the caller's float row
//! of the time-embedding width (32) per sample, added to the time embedding. The twin against
//! diffusers; the GPU (the rows uploaded, added by linear.wgsl's CLASS_ROW) against both, whole
//! and in sub-batches, rows rewritten without another `prepare`; `ddpm op unet` on both
//! devices; rows of the wrong width, integer labels, guidance and `ddpm sample` refused by
//! name, and float labels for the other kinds.

mod common;

use common::class::{assert_close, case, max_shift, model, widen};
use common::cli::{assert_refused, ddpm, op_args, read_f32, tmp_dir, write_f32, write_i64};
use ddpm_wgpu::cpu::nn::unet::forward_classes;
use ddpm_wgpu::cpu::nn::UNetCpu;
use ddpm_wgpu::gpu::{Denoiser, DenoiserIo, GpuSteps, GpuTables, GpuTensor, UNetDenoiser};
use ddpm_wgpu::nn::{ClassKind, ClassLabels, Guidance};
use ddpm_wgpu::{ScheduleKind, Tables};

const KIND: &str = "identity";

/// The twin within 1e-5 + 1e-5 relative of diffusers (common::class::assert_close says why)
/// for B = 1 and 3; rows shifted by one move the output far past that.
#[test]
fn the_twin_matches_diffusers() {
    let m = model(KIND);
    let kind = m.class_embedding.as_ref().map(|c| c.kind());
    assert_eq!(kind, Some(ClassKind::Identity { width: 32 }));
    for b in [1, 3] {
        let c = case(KIND, b);
        let got = c.twin(&m, &c.labels);
        assert_close(&format!("twin B = {b}"), &got, &widen(&c.want));
        let moved = max_shift(&c.twin(&m, &c.labels.next()), &got);
        assert!(moved > 1e-2, "B = {b}: other rows moved it {moved:.2e}");
    }
}

/// Each refusal is a typed error naming what is wrong: rows of another width, integer labels,
/// a non-finite row, no rows; guidance (no null class) on both sides.
#[test]
fn wrong_inputs_and_guidance_are_refused() {
    let m = model(KIND);
    let c = case(KIND, 3);
    let x: Vec<f64> = widen(&c.x);
    let t: Vec<f32> = c.t.iter().map(|&v| v as f32).collect();
    let run = |labels: Option<ClassLabels<'_>>| {
        forward_classes(&m, x.clone(), c.shape, &t, labels)
            .unwrap_err()
            .to_string()
    };
    let narrow = ClassLabels::Rows {
        rows: &[0.0; 3 * 16],
        width: 16,
    };
    let e = run(Some(narrow));
    assert!(e.contains("takes [3, 32]"), "{e}");
    let e = run(Some(ClassLabels::Ids(&[0, 1, 2])));
    assert!(e.contains("class_embed_type identity"), "{e}");
    let mut nan = vec![0.0f32; 96];
    nan[40] = f32::NAN;
    let e = run(Some(ClassLabels::Rows {
        rows: &nan,
        width: 32,
    }));
    assert!(e.contains("non-finite value at flat index 40"), "{e}");
    assert!(run(None).contains("class_labels"));
    let g = Some(Guidance {
        scale: 2.0,
        rescale: None,
    });
    let e = UNetCpu::new(&m, 8, 8)
        .unwrap()
        .with_guidance(g, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("identity"), "{e}");
    let Some(ctx) = common::gpu() else { return };
    let mut den = UNetDenoiser::new(&ctx, &m, 1000).unwrap();
    let e = den.set_guidance(g, 0).unwrap_err().to_string();
    assert!(e.contains("identity"), "{e}");
    assert!(den.set_class_labels(&ctx, &[0, 1, 2]).is_err());
    assert!(den.set_classes(&ctx, narrow).is_err());
    let e = den
        .forward_classes(&ctx, &c.x, &c.shape, &c.t, Some(narrow))
        .unwrap_err()
        .to_string();
    assert!(e.contains("takes [3, 32]"), "{e}");
}

/// The GPU within the same budget of diffusers and of the twin, whole and in sub-batches of
/// one sample; through the `Denoiser` side, rows set once are rewritten in place without
/// another `prepare`.
#[test]
fn the_gpu_matches_diffusers_and_the_twin() {
    let Some(ctx) = common::gpu() else { return };
    let m = model(KIND);
    let mut den = UNetDenoiser::new(&ctx, &m, 1000).unwrap();
    for b in [1, 3] {
        let c = case(KIND, b);
        let twin = c.twin(&m, &c.labels);
        for sub in [None, Some(1)] {
            den.set_max_sub_batch(sub);
            let got = den
                .forward_classes(&ctx, &c.x, &c.shape, &c.t, Some(c.labels.get()))
                .unwrap();
            let what = format!("GPU B = {b}, sub-batch {sub:?}");
            assert_close(
                &format!("{what} against diffusers"),
                &widen(&got),
                &widen(&c.want),
            );
            assert_close(&format!("{what} against the twin"), &widen(&got), &twin);
        }
    }
    den.set_max_sub_batch(None);
    let c = case(KIND, 3);
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let gt = GpuTables::new(&ctx, &tables).unwrap();
    let steps = GpuSteps::new(&ctx, &gt, &c.t).unwrap();
    let x_t = GpuTensor::from_slice(&ctx, &c.shape, &c.x).unwrap();
    let out = GpuTensor::zeros(&ctx, &c.shape).unwrap();
    let io = DenoiserIo {
        x_t: &x_t,
        timesteps: steps.buffer(),
        tables: &gt,
        model_output: &out,
        model_var: None,
        times: None,
    };
    let run = |den: &UNetDenoiser| {
        let mut enc = ctx.encoder();
        den.record(&ctx, &mut enc, &io).unwrap();
        ctx.submit(enc).unwrap();
        widen(&out.to_vec(&ctx).unwrap())
    };
    den.set_classes(&ctx, c.labels.get()).unwrap();
    den.prepare(&ctx, &io).unwrap();
    assert_close("prepare and record", &run(&den), &widen(&c.want));
    den.set_classes(&ctx, c.labels.next().get()).unwrap();
    assert!(max_shift(&run(&den), &widen(&c.want)) > 1e-2);
    den.set_classes(&ctx, c.labels.get()).unwrap();
    assert_close("rows rewritten", &run(&den), &widen(&c.want));
}

/// `ddpm op unet --input class_labels=L.npy` (float32 [B, 32]) writes diffusers' output on
/// either device; rows of another width or integer labels: one line, no output. Float labels
/// for the other kinds (a table, the timestep kind) likewise.
#[test]
fn op_unet_takes_rows() {
    let dir = tmp_dir("op-unet-identity");
    let f = |name: &str| common::class::fixture(KIND, name).display().to_string();
    let model = f("");
    let (x, t) = (
        format!("x={}", f("b3_x.npy")),
        format!("t={}", f("b3_t.npy")),
    );
    let inputs = [
        x.clone(),
        t.clone(),
        format!("class_labels={}", f("b3_labels.npy")),
    ];
    let want = widen(&case(KIND, 3).want);
    let mut devices = vec!["cpu"];
    if common::gpu().is_some() {
        devices.push("gpu");
    }
    for dev in devices {
        let out = dir.join(dev).display().to_string();
        let r = ddpm(&op_args(
            "unet",
            &inputs,
            &out,
            &["--model", &model, "--device", dev],
        ));
        assert_eq!(r.code, 0, "{dev}: {:?}", r.stderr_lines);
        let (shape, got) = read_f32(&dir.join(dev).join("model_output.npy"));
        assert_eq!(shape, [3, 3, 8, 8]);
        assert_close(&format!("ddpm op unet --device {dev}"), &widen(&got), &want);
    }
    let narrow = write_f32(&dir, "narrow", &[3, 16], &[0.5; 48]);
    let ints = write_i64(&dir, "ints", &[0, 1, 2]);
    let floats = write_f32(&dir, "floats", &[3], &[0.0, 1.0, 2.0]);
    let embedding = common::class::fixture("embedding", "")
        .display()
        .to_string();
    let timestep = common::class::fixture("timestep", "").display().to_string();
    let bad = dir.join("bad").display().to_string();
    for (m, labels, needle) in [
        (&model, &narrow, "[3, 32]"),
        (&model, &ints, "float32 [B, D]"),
        (&embedding, &floats, "int32 or int64"),
        (&timestep, &floats, "int32 or int64"),
    ] {
        for dev in ["cpu", "gpu"] {
            let all = [x.clone(), t.clone(), format!("class_labels={labels}")];
            let r = ddpm(&op_args(
                "unet",
                &all,
                &bad,
                &["--model", m, "--device", dev],
            ));
            assert_ne!(r.code, 0, "{m} {labels}");
            assert_eq!(r.stderr_lines.len(), 1, "{:?}", r.stderr_lines);
            assert!(r.stderr_lines[0].contains(needle), "{:?}", r.stderr_lines);
            assert!(!dir.join("bad").exists());
        }
    }
    // ddpm sample draws from integer labels: an identity model is refused by name.
    let out = dir.join("sample.npy");
    for extra in [vec![], vec!["--class", "1"], vec!["--guidance-scale", "2"]] {
        let mut args = vec!["sample", "--model", &model, "--count", "1", "--quiet"];
        args.extend(extra);
        assert_refused(&args, "class_embed_type identity", &out);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
