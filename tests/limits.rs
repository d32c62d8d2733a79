//! Every buffer a user's sizes reach is checked against the device's limits before wgpu is
//! asked for it: a typed `BufferTooLarge` naming the buffer and the limit, never a panic inside
//! wgpu. A device with small limits (64 KiB per storage binding, 1 MiB per buffer) makes the
//! sizes small; the same sizes one step under each limit must still work, so the checks are
//! not merely refusing everything.

mod common;
use ddpm_wgpu::gpu::runtime::alloc;
use ddpm_wgpu::gpu::{self, Context, GpuTables, GpuTensor, GpuTensorF16};
use ddpm_wgpu::gpu::{GaussianDenoiser, MixtureDenoiser, SampleOptions};
use ddpm_wgpu::{Error, ModelOptions};

const BINDING: u64 = 64 << 10;
const BUFFER: u64 = 1 << 20;
const STORAGE: &str = "max_storage_buffer_binding_size";

fn small() -> Option<Context> {
    let ctx = common::gpu_with_limits("small limits", |l| wgpu::Limits {
        max_storage_buffer_binding_size: BINDING,
        max_buffer_size: BUFFER,
        ..l
    })?;
    assert_eq!(ctx.limits().max_storage_buffer_binding_size, BINDING);
    assert_eq!(ctx.limits().max_buffer_size, BUFFER);
    Some(ctx)
}

/// Assert `r` is `BufferTooLarge` for a buffer whose name contains `what`, of `bytes`, over
/// `limit_name`.
#[track_caller]
fn assert_too_large<T: std::fmt::Debug>(r: Result<T, Error>, what: &str, bytes: u128, limit: &str) {
    match r {
        Err(Error::BufferTooLarge {
            what: w,
            bytes: b,
            limit_name,
            ..
        }) if w.contains(what) && b == bytes && limit_name == limit => {}
        other => panic!("expected BufferTooLarge for '{what}' ({bytes} bytes, {limit}): {other:?}"),
    }
}

fn sample_opts(keep_every: Option<usize>) -> SampleOptions {
    SampleOptions {
        keep_every,
        ..SampleOptions::default()
    }
}

#[test]
fn tables_past_one_binding_are_refused_before_they_are_built() {
    let Some(ctx) = small() else { return };
    // 64-byte rows: 1024 fill the binding exactly, one more does not.
    let fits = GpuTables::new(&ctx, &common::linear(1024)).unwrap();
    assert_eq!(fits.num_timesteps(), 1024);
    assert_too_large(
        GpuTables::new(&ctx, &common::linear(1025)),
        "schedule tables",
        1025 * 64,
        STORAGE,
    );
    // The pre-check needs no host tables, and its size cannot wrap.
    assert_too_large(
        GpuTables::check_fits(&ctx, usize::MAX),
        "schedule tables",
        usize::MAX as u128 * 64,
        STORAGE,
    );
    let err = GpuTables::check_fits(&ctx, 1025).unwrap_err().to_string();
    assert_eq!(
        err,
        "schedule tables needs 65600 bytes, 64 more than the device's \
         max_storage_buffer_binding_size of 65536 bytes"
    );
}

#[test]
fn tensors_past_one_binding_or_any_size_are_refused() {
    let Some(ctx) = small() else { return };
    let n = (BINDING / 4) as usize;
    GpuTensor::zeros(&ctx, &[n]).unwrap();
    assert_too_large(
        GpuTensor::zeros(&ctx, &[n + 1]),
        "tensor",
        (n as u128 + 1) * 4,
        STORAGE,
    );
    // Shapes whose element count overflows usize, and data that does not match.
    let huge = [usize::MAX, 3];
    let exact = usize::MAX as u128 * 3 * 4;
    assert_too_large(GpuTensor::zeros(&ctx, &huge), "tensor", exact, STORAGE);
    assert_too_large(
        GpuTensor::from_slice(&ctx, &huge, &[1.0]),
        "tensor",
        exact,
        STORAGE,
    );
    // f16: whole groups of eight halves, 16 bytes each.
    GpuTensorF16::zeros(&ctx, &[2 * n]).unwrap();
    let bytes = ((2 * n + 1).div_ceil(8) * 16) as u128;
    assert_too_large(
        GpuTensorF16::zeros(&ctx, &[2 * n + 1]),
        "f16 tensor",
        bytes,
        STORAGE,
    );
    // An application's buffer wrapped with a shape past the limit.
    let own = ctx
        .create_buffer(&wgpu::BufferDescriptor {
            label: Some("application buffer"),
            size: BINDING,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
        .unwrap();
    let r = GpuTensor::from_buffer(&ctx, own, &[n + 1]);
    assert_too_large(r, "tensor", (n as u128 + 1) * 4, STORAGE);
}

#[test]
fn the_allocation_place_checks_every_limit_and_overflow() {
    let Some(ctx) = small() else { return };
    let copy = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let desc = |size| wgpu::BufferDescriptor {
        label: Some("plain"),
        size,
        usage: copy,
        mapped_at_creation: false,
    };
    // No binding: only max_buffer_size applies.
    ctx.create_buffer(&desc(BUFFER)).unwrap();
    let r = ctx.create_buffer(&desc(BUFFER + 1));
    assert_too_large(r, "plain", u128::from(BUFFER) + 1, "max_buffer_size");
    let uniform = wgpu::BufferUsages::UNIFORM;
    let limit = ctx.limits().max_uniform_buffer_binding_size;
    let r = ctx.check_buffer("params", u128::from(limit) + 1, uniform);
    assert_too_large(
        r,
        "params",
        u128::from(limit) + 1,
        "max_uniform_buffer_binding_size",
    );
    // Uploads: the contents' length is checked before anything is allocated.
    let big = vec![0u8; BINDING as usize + 4];
    let r = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("upload"),
        contents: &big,
        usage: wgpu::BufferUsages::STORAGE,
    });
    assert_too_large(r, "upload", u128::from(BINDING) + 4, STORAGE);
    // Byte counts are exact past u64 and host sizes past isize.
    assert!(alloc::array_bytes("x", usize::MAX, 16).is_err());
    assert_eq!(alloc::array_bytes("x", 3, 16).unwrap(), 48);
    assert!(alloc::elements("x", &[usize::MAX, 2]).is_err());
    assert!(alloc::elements("x", &[1 << 62]).is_err()); // 2^64 bytes of f32
    assert_eq!(alloc::elements("x", &[2, 3]).unwrap(), 6);
}

#[test]
fn noise_and_philox_buffers_are_checked() {
    let Some(ctx) = small() else { return };
    let n = (BINDING / 4) as usize;
    let mut enc = ctx.encoder();
    let r = gpu::noise(&ctx, &mut enc, 0, 0, 0, 0, &[1, n + 1]);
    assert_too_large(r, "tensor", (n as u128 + 1) * 4, STORAGE);
    gpu::noise(&ctx, &mut enc, 0, 0, 0, 0, &[1, n]).unwrap();
    // Four words per element.
    let r = gpu::philox_bits(&ctx, 0, 0, 0, 0, 1, n / 4 + 1);
    assert_too_large(r, "philox bits", (n as u128 / 4 + 1) * 16, STORAGE);
    // Counts past the kernels' 32-bit indices, before any multiplication can wrap.
    let r = gpu::philox_bits(&ctx, 0, 0, 0, 0, usize::MAX, 2);
    assert!(matches!(r, Err(Error::BufferTooLarge { .. })), "{r:?}");
    let r = gpu::philox_bits(&ctx, 0, 0, 0, 0, 1 << 20, 1 << 12);
    assert!(matches!(r, Err(Error::TooManyItems { .. })), "{r:?}");
}

#[test]
fn the_mixture_scratch_buffers_are_checked_for_many_points_times_samples() {
    let Some(ctx) = small() else { return };
    let tables = GpuTables::new(&ctx, &common::linear(10)).unwrap();
    let model = ModelOptions::default();
    // B x M partial distances (one chunk each, 4-element samples): 64 x 300 = 19200 f32
    // = 76800 bytes, past 64 KiB; the points themselves (300 x 4 f32) fit.
    let points: Vec<f32> = (0..300 * 4).map(|i| (i % 7) as f32 / 7.0 - 0.5).collect();
    let mut den = MixtureDenoiser::new(&ctx, &points, &[300, 4], 0.1, model).unwrap();
    let r = gpu::p_sample_loop(
        &ctx,
        &tables,
        &mut den,
        &[64, 4],
        &sample_opts(None),
        &mut |_, _| {},
    );
    assert_too_large(r, "mixture partial distances", 64 * 300 * 4, STORAGE);
    // 48 samples: 14400 partials and as many weight slots (samples padded to fours) fit.
    let r = gpu::p_sample_loop(
        &ctx,
        &tables,
        &mut den,
        &[48, 4],
        &sample_opts(None),
        &mut |_, _| {},
    );
    assert_eq!(r.unwrap().x0.len(), 48 * 4);
    // Points past one binding.
    let many = vec![0.0f32; 5000 * 4];
    let r = MixtureDenoiser::new(&ctx, &many, &[5000, 4], 0.1, model);
    assert_too_large(r, "mixture points", 5000 * 16, STORAGE);
    // Points without a point dimension are a shape error, not an index panic.
    let r = MixtureDenoiser::new(&ctx, &[0.5], &[], 0.1, model);
    assert!(matches!(r, Err(Error::ShapeMismatch(_))), "{r:?}");
}

#[test]
fn progressive_snapshots_are_checked_against_the_buffer_limit() {
    let Some(ctx) = small() else { return };
    let tables = GpuTables::new(&ctx, &common::linear(1000)).unwrap();
    let model = ModelOptions::default();
    let mut den = GaussianDenoiser::new(0.5, model).unwrap();
    // [4, 64]: 2 KiB of x_t and pred_xstart per kept step; 1000 steps want 2,048,000 bytes.
    let shape = [4, 64];
    let r = gpu::p_sample_loop(
        &ctx,
        &tables,
        &mut den,
        &shape,
        &sample_opts(Some(1)),
        &mut |_, _| {},
    );
    assert_too_large(r, "progressive snapshots", 1000 * 2048, "max_buffer_size");
    // Every second step: 500 x 2048 = 1,024,000 bytes, within 1 MiB.
    let r = gpu::p_sample_loop(
        &ctx,
        &tables,
        &mut den,
        &shape,
        &sample_opts(Some(2)),
        &mut |_, _| {},
    );
    assert_eq!(r.unwrap().kept.len(), 500);
    // keep_every past T keeps t = 0 only.
    let r = gpu::p_sample_loop(
        &ctx,
        &tables,
        &mut den,
        &shape,
        &sample_opts(Some(usize::MAX)),
        &mut |_, _| {},
    );
    assert_eq!(r.unwrap().kept.len(), 1);
}

#[test]
fn sample_shapes_past_any_size_fail_with_an_error() {
    let Some(ctx) = small() else { return };
    let tables = GpuTables::new(&ctx, &common::linear(10)).unwrap();
    let mut den = GaussianDenoiser::new(0.5, ModelOptions::default()).unwrap();
    let mut run = |shape: &[usize]| {
        gpu::p_sample_loop(
            &ctx,
            &tables,
            &mut den,
            shape,
            &sample_opts(None),
            &mut |_, _| {},
        )
    };
    for shape in [&[1, usize::MAX, 2][..], &[1 << 62, 4], &[usize::MAX, 1]] {
        let r = run(shape);
        assert!(
            matches!(r, Err(Error::BufferTooLarge { .. })),
            "{shape:?}: {r:?}"
        );
    }
    // One sample larger than a binding: the chunk of one sample is refused by name.
    let r = run(&[2, (BINDING / 4) as usize + 4]);
    assert_too_large(r, "tensor", u128::from(BINDING) + 16, STORAGE);
}

#[test]
fn the_bpd_loop_rows_are_checked() {
    let Some(ctx) = small() else { return };
    let tables = GpuTables::new(&ctx, &common::linear(1000)).unwrap();
    let model = ModelOptions::default();
    let mut den = GaussianDenoiser::new(0.5, model).unwrap();
    // [T, B] rows of per-step terms: 1000 x 17 f32 = 68000 bytes.
    let x0 = GpuTensor::from_slice(&ctx, &[17, 4], &[0.25; 68]).unwrap();
    let r = gpu::calc_bpd_loop(&ctx, &tables, &mut den, &model, &x0, 0, &mut |_, _| {});
    assert_too_large(r, "tensor", 68000, STORAGE);
}

/// Through the CLI: one line on stderr, exit code 1, no output file, and quickly (T = 10^8
/// would take 13 GB of host tables if they were built before the check).
#[test]
fn the_cli_refuses_sizes_past_the_limits_in_one_line() {
    if common::gpu().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ddpm-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = |name: &str| dir.join(name).display().to_string();
    let cases: [(Vec<String>, &str); 4] = [
        (
            vec![
                "sample".into(),
                "--denoiser".into(),
                "mixture".into(),
                "--timesteps".into(),
                "100000000".into(),
                "--out".into(),
                d("s.png"),
            ],
            "schedule tables needs 6400000000 bytes",
        ),
        (
            vec![
                "bpd".into(),
                "--timesteps".into(),
                "100000000".into(),
                "--out".into(),
                d("bpd"),
            ],
            "schedule tables",
        ),
        (
            vec![
                "op".into(),
                "q-sample".into(),
                "--timesteps".into(),
                "100000000".into(),
                "--out-dir".into(),
                d("op"),
            ],
            "schedule tables",
        ),
        // 10^12 digits of 256 values: a petabyte of results, refused before any step.
        (
            vec![
                "sample".into(),
                "--denoiser".into(),
                "mixture".into(),
                "--count".into(),
                "1000000000000".into(),
                "--out".into(),
                d("n.npy"),
            ],
            "out of memory: host memory for samples",
        ),
    ];
    for (args, message) in cases {
        let start = std::time::Instant::now();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(
            start.elapsed().as_secs() < 60,
            "{args:?} took {:?}",
            start.elapsed()
        );
    }
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert!(left.is_empty(), "output files were written: {left:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
