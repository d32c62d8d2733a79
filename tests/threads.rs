//! One `Context` shared by several threads: it is `Send + Sync`, two sampling loops running at
//! once give bit for bit the results of the same loops run one after the other, and one
//! thread's GPU errors are reported to that thread only (wgpu's error scopes are per thread).

mod common;
use ddpm_wgpu::gpu::{self, Context, GpuTables, GpuTensor, SampleOptions};
use ddpm_wgpu::gpu::{GaussianDenoiser, MixtureDenoiser};
use ddpm_wgpu::{Error, ModelOptions};

const fn assert_send_sync<T: Send + Sync>() {}
// Compile-time: the test binary does not build if either stops being Send + Sync.
const _: () = assert_send_sync::<Context>();
const _: () = assert_send_sync::<GpuTensor>();

#[test]
fn context_is_send_and_sync() {
    // The const items above are the check; this names it in the test list.
    assert_send_sync::<Context>();
}

/// Which denoiser a run uses.
#[derive(Clone, Copy)]
enum Model {
    Mixture,
    Gaussian,
}

/// One sampling run of [5, 3, 4, 4] (vec4 step) over T = 50, its own tables and denoiser.
fn sample(ctx: &Context, model: Model, seed: u64) -> Vec<f32> {
    let tables = GpuTables::new(ctx, &common::linear(50)).unwrap();
    let opts = SampleOptions {
        seed,
        steps_per_submit: 7,
        ..SampleOptions::default()
    };
    let m = ModelOptions::default();
    let shape = [5, 3, 4, 4];
    let mut progress = |_, _| {};
    match model {
        Model::Mixture => {
            let points: Vec<f32> = (0..4 * 48)
                .map(|i| ((i * 37) % 17) as f32 / 8.5 - 1.0)
                .collect();
            let mut den = MixtureDenoiser::new(ctx, &points, &[4, 3, 4, 4], 0.2, m).unwrap();
            gpu::p_sample_loop(ctx, &tables, &mut den, &shape, &opts, &mut progress).unwrap()
        }
        Model::Gaussian => {
            let mut den = GaussianDenoiser::new(0.6, m).unwrap();
            gpu::p_sample_loop(ctx, &tables, &mut den, &shape, &opts, &mut progress).unwrap()
        }
    }
    .x0
}

#[test]
fn two_threads_sampling_at_once_match_the_same_runs_in_turn() {
    let Some(ctx) = common::gpu() else { return };
    let runs = [
        (Model::Mixture, 1),
        (Model::Gaussian, 2),
        (Model::Mixture, 3),
        (Model::Gaussian, 4),
    ];
    let in_turn: Vec<Vec<f32>> = runs.iter().map(|&(m, s)| sample(&ctx, m, s)).collect();
    // Each pair runs twice at once, so the threads overlap in every stage of the loop.
    let at_once: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|&(m, s)| {
                let ctx = &ctx;
                scope.spawn(move || sample(ctx, m, s))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (a, b)) in in_turn.iter().zip(&at_once).enumerate() {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(a),
            bits(b),
            "run {i} differs when run beside the others"
        );
        assert!(a.iter().all(|v| v.is_finite()));
    }
    // Different seeds gave different samples: the comparison is not of constants.
    assert_ne!(in_turn[0], in_turn[2]);
}

#[test]
fn one_threads_gpu_errors_are_not_reported_on_another() {
    let Some(ctx) = common::gpu() else { return };
    let small = GpuTensor::zeros(&ctx, &[4]).unwrap();
    let large = GpuTensor::zeros(&ctx, &[16]).unwrap();
    let rounds = 200;
    std::thread::scope(|scope| {
        // Thread A: an invalid copy every round, which must fail on A.
        let failing = scope.spawn(|| {
            (0..rounds)
                .filter(|_| {
                    let mut enc = ctx.encoder();
                    enc.copy_buffer_to_buffer(large.buffer(), 0, small.buffer(), 0, 64);
                    matches!(ctx.submit(enc), Err(Error::Gpu(_)))
                })
                .count()
        });
        // Thread B: valid work in scopes at the same time, which must succeed on B.
        let passing = scope.spawn(|| {
            (0..rounds)
                .filter(|_| {
                    let mut enc = ctx.encoder();
                    enc.copy_buffer_to_buffer(small.buffer(), 0, large.buffer(), 0, 16);
                    ctx.submit(enc).is_ok()
                })
                .count()
        });
        assert_eq!(failing.join().unwrap(), rounds, "A's errors went missing");
        assert_eq!(passing.join().unwrap(), rounds, "B saw A's errors");
    });
    ctx.wait().unwrap();
}
