//! GPU `dynamic_threshold` against its CPU twins: bit for bit against the torch-exact f32 twin
//! (the selection is exact and the shader's interpolation rounds as torch's does), within a
//! stated bound of the f64 yardstick, and bit for bit against torch's own output
//! (tests/fixtures/threshold, written by tests/reference/threshold_fixtures.py).

mod common;
use common::*;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::cpu::kernels::dynamic_threshold::{self as twin, torch_rank};
use ddpm_wgpu::gpu::{self, Context, DynamicThreshold, GpuTensor};
use ddpm_wgpu::npy::NpyData;
use ddpm_wgpu::Error;

const RATIOS: [f64; 4] = [0.0, 0.5, 0.995, 1.0];
const MAXES: [f64; 3] = [1.0, 1.5, 1e30];

fn gpu_scales(ctx: &Context, shape: &[usize], x: &[f32], ratio: f64, max: f64) -> Vec<f32> {
    let t = GpuTensor::from_slice(ctx, shape, x).unwrap();
    let mut enc = ctx.encoder();
    let s = gpu::dynamic_threshold(ctx, &mut enc, &t, ratio, max).unwrap();
    ctx.submit(enc).unwrap();
    s.to_vec(ctx).unwrap()
}

/// Fail with the first sample whose bits differ.
fn assert_bits(got: &[f32], want: &[f32], label: &str) {
    assert_eq!(got.len(), want.len(), "{label}: lengths");
    if let Some((b, (g, w))) = got
        .iter()
        .zip(want)
        .enumerate()
        .find(|(_, (g, w))| g.to_bits() != w.to_bits())
    {
        panic!(
            "{label}: sample {b}: gpu {g:e} ({:#010x}), want {w:e} ({:#010x})",
            g.to_bits(),
            w.to_bits()
        );
    }
}

/// The bound on |GPU - f64 yardstick| for one sample, from the sorted |x| of that sample.
///
/// torch (and so the GPU) rounds the ratio to f32 first: that moves the rank r = ratio (L - 1)
/// by up to |ratio - f32(ratio)| (L - 1) < 2^-25 L, under one position for every L tested, and
/// the piecewise-linear quantile moves by at most that times the largest gap between the order
/// statistics around r. The f32 arithmetic then rounds the weight, b - a and the result, each
/// by half an ulp of at most the upper value b: 4 ulps of b cover them.
fn f64_bound(sorted: &[f64], ratio: f64) -> f64 {
    let len = sorted.len();
    let r = ratio * (len - 1) as f64;
    let shift = (ratio - f64::from(ratio as f32)).abs() * (len - 1) as f64;
    let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
    let gap = sorted[(hi + 1).min(len - 1)] - sorted[lo.saturating_sub(1)];
    shift * gap + 4.0 * f64::from(f32::EPSILON) * sorted[hi]
}

/// GPU against both twins for one input.
fn check(ctx: &Context, shape: &[usize], x: &[f32], ratio: f64, max: f64, label: &str) {
    let sample_len: usize = shape[1..].iter().product();
    let got = gpu_scales(ctx, shape, x, ratio, max);
    let want = twin::dynamic_threshold_torch_f32(x, sample_len, ratio as f32, max as f32).unwrap();
    assert_bits(&got, &want, label);
    let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let reference = twin::dynamic_threshold(&x64, sample_len, ratio, max).unwrap();
    for (b, (sample, (&g, &r))) in x64
        .chunks(sample_len)
        .zip(got.iter().zip(&reference))
        .enumerate()
    {
        let mut sorted: Vec<f64> = sample.iter().map(|v| v.abs()).collect();
        sorted.sort_by(f64::total_cmp);
        let bound = f64_bound(&sorted, ratio);
        let err = (f64::from(g) - r).abs();
        assert!(
            err <= bound,
            "{label}: sample {b}: gpu {g:e}, f64 {r:e}, error {err:e} > bound {bound:e}"
        );
    }
}

/// Normal values times a per-sample scale of 10^U(-1, 3), so most quantiles exceed 1 and the
/// clamp hides little.
fn scaled_normals(g: &mut Gen, batch: usize, len: usize) -> Vec<f32> {
    (0..batch)
        .flat_map(|_| {
            let scale = 10f64.powf(g.range(-1.0, 3.0));
            g.vec(len, |g| g.normal() * scale)
        })
        .collect()
}

/// Beside the suite's shapes (sizes not multiples of the workgroup): the longest short sample
/// ([2, 128], one per invocation), the shortest radix one ([2, 129]) and more radix lengths.
#[rustfmt::skip]
const MORE_SHAPES: [&[usize]; 6] =
    [&[2, 128], &[2, 129], &[2, 256], &[2, 260], &[3, 3, 16, 20], &[1, 4096]];

#[test]
fn shapes_ratios_and_maxima() {
    let Some(ctx) = gpu() else { return };
    let mut g = Gen::new(1);
    for shape in SHAPES.into_iter().chain(MORE_SHAPES) {
        let (batch, len) = (shape[0], shape[1..].iter().product());
        let x = scaled_normals(&mut g, batch, len);
        for ratio in RATIOS {
            for max in MAXES {
                let label = format!("{shape:?} ratio {ratio} max {max}");
                check(&ctx, shape, &x, ratio, max, &label);
            }
        }
    }
}

/// 70000 samples: a 2-D grid of workgroups, one per sample.
#[test]
fn more_samples_than_one_grid_dimension() {
    let Some(ctx) = gpu() else { return };
    let mut g = Gen::new(2);
    let x = scaled_normals(&mut g, 70_000, 2);
    for ratio in [0.5, 0.995] {
        let label = format!("[70000, 2] ratio {ratio}");
        check(&ctx, &[70_000, 2], &x, ratio, 1e30, &label);
    }
}

/// Rows of 8 workgroups on a device limited to 8 per dimension. The radix kernel: 60 samples in
/// 8 x 8 with 4 idle, and 65 would need 9 rows and must be refused, not truncated. The short
/// kernel (256 samples a workgroup): 3000 samples in 8 + 4 workgroups, and 16641 (66 workgroups)
/// refused.
#[test]
fn rows_of_workgroups_on_a_small_grid() {
    let Some(ctx) = small_grid_gpu() else { return };
    let mut g = Gen::new(3);
    let x = scaled_normals(&mut g, 60, 300);
    check(&ctx, &[60, 300], &x, 0.995, 1e30, "[60, 300] on 8 x 8");
    let x = scaled_normals(&mut g, 3000, 3);
    check(&ctx, &[3000, 3], &x, 0.995, 1e30, "[3000, 3] on 8 x 8");
    for shape in [[65, 300], [65 * 256 + 1, 1]] {
        let t = GpuTensor::zeros(&ctx, &shape).unwrap();
        let refused = DynamicThreshold::new(&ctx, &t, 0.5, 2.0);
        assert!(
            matches!(refused, Err(Error::TooManyItems { .. })),
            "{shape:?}: {refused:?}"
        );
    }
}

/// 2^20 values in one sample: 4096 per lane per pass.
#[test]
fn one_long_sample() {
    let Some(ctx) = gpu() else { return };
    let mut g = Gen::new(4);
    let x = scaled_normals(&mut g, 1, 1 << 20);
    for ratio in [0.5, 0.995] {
        let label = format!("[1, 2^20] ratio {ratio}");
        check(&ctx, &[1, 1 << 20], &x, ratio, 1e30, &label);
    }
}

/// The longest samples: 2^24 + 3 values (the last three read past the buffer's last whole
/// vec4), and 2^25, lavapipe's largest binding (or the adapter's, if smaller). llvmpipe stops
/// every loop once an invocation has run 65535 iterations of all its loops together, so four
/// passes of one vec4 a lane an iteration would stop short here (65536 at 2^24, 131072 at
/// 2^25), and of two at 2^25. Values: a Weyl sequence. Checked against the torch-exact twin
/// only: sorting 2^25 values for the f64 bound would take longer than the rest of this file.
#[test]
fn longest_samples() {
    let Some(ctx) = gpu() else { return };
    let largest = (ctx.limits().max_storage_buffer_binding_size / 4).min(1 << 25) as usize;
    for len in [(1 << 24) + 3, largest] {
        let x: Vec<f32> = (0..len)
            .map(|i| (i as f64 * 0.618_033_988_749_895).fract() as f32 * 100.0 + 1.0)
            .collect();
        for ratio in [0.5, 0.999_999_9] {
            let got = gpu_scales(&ctx, &[1, len], &x, ratio, 1e30);
            let want = twin::dynamic_threshold_torch_f32(&x, len, ratio as f32, 1e30).unwrap();
            assert_bits(&got, &want, &format!("[1, {len}] ratio {ratio}"));
        }
    }
}

/// Per sample: all zero, all equal, many ties, 1e30 beside 1e-30, denormals (alone and beside
/// normals), signed zeros, two far-apart magnitudes, and random finite bit patterns (every
/// exponent).
#[test]
fn extremes() {
    let Some(ctx) = gpu() else { return };
    let mut g = Gen::new(5);
    let len = 300;
    let pick = |g: &mut Gen, set: &[f32]| set[(g.next_u64() % set.len() as u64) as usize];
    let mut x = Vec::new();
    #[rustfmt::skip]
    let rows: [&[f32]; 8] = [
        &[0.0], &[3.0], &[2.0, -2.0, 7.0, -7.0, 7.5], &[1e30, -1e30, 1e-30, -1e-30],
        &[1e-40, -3e-45, 1e-39], &[1e-40, 5.0, -1e-39, 1e30], &[0.0, -0.0, 2.5, -2.5],
        &[1e30, 1.0, -1.5],
    ];
    for set in rows {
        x.extend((0..len).map(|_| pick(&mut g, set)));
    }
    for _ in 0..4 {
        // Random bits with the exponent kept below 255 (finite).
        let finite = |b: u32| {
            if b & 0x7f80_0000 == 0x7f80_0000 {
                b & 0xbfff_ffff
            } else {
                b
            }
        };
        x.extend((0..len).map(|_| f32::from_bits(finite(g.next_u64() as u32))));
    }
    let batch = x.len() / len;
    for ratio in RATIOS.into_iter().chain([0.1, 0.9, 0.999]) {
        for max in [1.5, 1e30] {
            let label = format!("extremes ratio {ratio} max {max}");
            check(&ctx, &[batch, len], &x, ratio, max, &label);
            // The same values in samples of 60 (one per invocation) and 299 (the radix
            // kernel's scalar loads; 300 takes its vec4 loads).
            let label = format!("extremes in samples of 60, ratio {ratio} max {max}");
            check(&ctx, &[batch * 5, 60], &x, ratio, max, &label);
            let label = format!("extremes in samples of 299, ratio {ratio} max {max}");
            check(&ctx, &[batch, 299], &x[..batch * 299], ratio, max, &label);
        }
    }
}

/// The interpolation alone, against Rust's fused f32 mul_add: 4096 samples of two values each
/// (rank 0 and 1, weight = the ratio rounded to f32, its full 24 bits), values from 1 to 1e30,
/// nearly equal pairs (b - a cancels), both of torch's branches; then three values per sample
/// (weight = frac(2 q32), one more rounding case each).
#[test]
fn interpolation_rounds_once_like_torch() {
    let Some(ctx) = gpu() else { return };
    let mut g = Gen::new(6);
    let batch = 4096;
    let mut x = Vec::with_capacity(batch * 2);
    for b in 0..batch {
        let a = 10f64.powf(g.range(0.0, 30.0));
        let other = match b % 3 {
            0 => 10f64.powf(g.range(0.0, 30.0)),
            1 => a * (1.0 + g.range(-1e-6, 1e-6)),
            _ => a * g.range(0.5, 2.0),
        };
        x.extend([a as f32, -(other as f32)]);
    }
    for _ in 0..12 {
        let ratio = g.uniform();
        check(
            &ctx,
            &[batch, 2],
            &x,
            ratio,
            1e30,
            &format!("pairs, ratio {ratio}"),
        );
    }
    let x3: Vec<f32> = x.iter().take(batch / 2 * 3).copied().collect();
    for _ in 0..4 {
        let ratio = g.uniform();
        let label = format!("triples, ratio {ratio}");
        check(&ctx, &[batch / 2, 3], &x3, ratio, 1e30, &label);
    }
}

/// Hand-made roundings, two values per sample (weight = the ratio): exact ties (the lerp's exact
/// value halfway between two floats, which must go to the even one), ties that carry into the
/// exponent, and a denormal weight (ratio 1e-40) against a huge gap. Each case is checked
/// against the twin's fused `mul_add`, and the ties against the even neighbour written out.
#[test]
fn ties_carries_and_denormal_weights() {
    let Some(ctx) = gpu() else { return };
    let ulp = f32::EPSILON; // 2^-23, the spacing of floats in [1, 2)
    let cases: [(f64, [f32; 2], Option<f32>); 8] = [
        // 1 + 0.25 (6 ulp) = 1 + 1.5 ulp: halfway, to the even 1 + 2 ulp.
        (0.25, [1.0, 1.0 + 6.0 * ulp], Some(1.0 + 2.0 * ulp)),
        // 1 + 0.25 (10 ulp) = 1 + 2.5 ulp: halfway, down to the even 1 + 2 ulp.
        (0.25, [1.0, 1.0 + 10.0 * ulp], Some(1.0 + 2.0 * ulp)),
        // The upper branch (w = 0.5): (2 - ulp) - 0.5 ulp, halfway, to the even 2 - 2 ulp.
        (0.5, [2.0 - 2.0 * ulp, 2.0 - ulp], Some(2.0 - 2.0 * ulp)),
        // 2 - 0.5 ulp: halfway between 2 - ulp and 2, up to 2 across the exponent.
        (0.5, [2.0 - ulp, 2.0], Some(2.0)),
        // b - a = 2 + ulp is itself a tie (to 2); then (2 - ulp) + 2^-25 * 2 = 2 - 0.5 ulp
        // rounds up to 2 across the exponent in the lower branch.
        (2f64.powi(-25), [2.0 - ulp, 4.0], Some(2.0)),
        // w b = 6 (2^23 + 3) 2^-25 is exactly halfway between two floats; the tiny a breaks
        // the tie upwards, though all its bits lie below the product's (the sticky bit).
        (0.25 + 3.0 * 2f64.powi(-25), [1e-30, 6.0], None),
        // An ordinary rounding in the upper branch.
        (0.75, [1.0, 2.0 - ulp], None),
        // A denormal weight against a gap of 3e38: 0.99 + 1e-40 * 3e38 = 1.02.
        (1e-40, [0.99, 3e38], None),
    ];
    for (ratio, x, want) in cases {
        let got = gpu_scales(&ctx, &[1, 2], &x, ratio, 1e30);
        let twin = twin::dynamic_threshold_torch_f32(&x, 2, ratio as f32, 1e30).unwrap();
        assert_bits(&got, &twin, &format!("ratio {ratio} on {x:?}"));
        if let Some(w) = want {
            assert_eq!(twin[0], w, "ratio {ratio} on {x:?}: round half to even");
        }
    }
    assert!(gpu_scales(&ctx, &[1, 2], &[0.99, 3e38], 1e-40, 1e30)[0] > 1.0);
}

/// A weight that rounds up to 1.0 in f32 (q32 (L - 1) = 3.99999998 for L = 30): torch's upper
/// branch then returns the upper value itself.
#[test]
fn weight_rounding_to_one() {
    let Some(ctx) = gpu() else { return };
    let ratio = 0.137_931_033_968_925_48;
    assert_eq!(torch_rank(ratio as f32, 30).weight, 1.0);
    let mut g = Gen::new(7);
    let x = g.vec(5 * 30, |g| g.range(1.0, 10.0));
    check(&ctx, &[5, 30], &x, ratio, 1e30, "weight 1.0");
}

/// Prepared once, recorded twice: the second record sees the buffer's new contents.
#[test]
fn prepared_threshold_reads_current_values() {
    let Some(ctx) = gpu() else { return };
    let mut g = Gen::new(8);
    let shape = [3, 3, 16, 16];
    let len = 3 * 16 * 16;
    let first = scaled_normals(&mut g, 3, len);
    let second = scaled_normals(&mut g, 3, len);
    let values = GpuTensor::from_slice(&ctx, &shape, &first).unwrap();
    let threshold = DynamicThreshold::new(&ctx, &values, 0.995, 1e30).unwrap();
    for x in [&first, &second] {
        let bytes = bytemuck::cast_slice(x);
        ctx.queue.write_buffer(values.buffer(), 0, bytes);
        let mut enc = ctx.encoder();
        threshold.record(&ctx, &mut enc).unwrap();
        ctx.submit(enc).unwrap();
        let got = threshold.scales().to_vec(&ctx).unwrap();
        let want = twin::dynamic_threshold_torch_f32(x, len, 0.995, 1e30).unwrap();
        assert_bits(&got, &want, "prepared");
    }
    assert_eq!(threshold.scales().shape(), &[3]);
}

#[test]
fn bad_parameters_are_typed_errors() {
    let Some(ctx) = gpu() else { return };
    let t = GpuTensor::from_slice(&ctx, &[2, 2], &[1.0; 4]).unwrap();
    let bad = [
        (-0.1, 1.0),
        (1.1, 1.0),
        (f64::NAN, 1.0),
        (0.5, 0.5),
        (0.5, f64::NAN),
    ];
    for (ratio, max) in bad.into_iter().chain([(0.5, f64::INFINITY)]) {
        let r = DynamicThreshold::new(&ctx, &t, ratio, max);
        assert!(
            matches!(r, Err(Error::InvalidParameter { .. })),
            "ratio {ratio} max {max}: {r:?}"
        );
    }
}

/// torch's own output for the cases of tests/reference/threshold_fixtures.py.
#[test]
fn torch_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/threshold");
    let ctx = gpu();
    // Every case the script writes; nine when this test was written.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            Some(
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix("_x.npy")?
                    .to_owned(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "fixtures found: {names:?}");
    for name in &names {
        let read =
            |suffix: &str| ddpm_wgpu::npy::read(dir.join(format!("{name}_{suffix}.npy"))).unwrap();
        let (x, params, s) = (read("x"), read("params"), read("s"));
        let (NpyData::F32(x_data), NpyData::F64(p), NpyData::F32(want)) =
            (&x.data, &params.data, &s.data)
        else {
            panic!("{name}: unexpected dtypes");
        };
        let (ratio, max) = (p[0], p[1]);
        let sample_len = x.shape[1..].iter().product();
        let cpu = twin::dynamic_threshold_torch_f32(x_data, sample_len, ratio as f32, max as f32)
            .unwrap();
        assert_bits(&cpu, want, &format!("{name}: torch-exact twin vs torch"));
        if let Some(ctx) = &ctx {
            let got = gpu_scales(ctx, &x.shape, x_data, ratio, max);
            assert_bits(&got, want, &format!("{name}: gpu vs torch"));
        }
    }
}
