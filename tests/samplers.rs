//! The sampling loop with every sampler (DDPM on respaced chains, DDIM with eta, inverse DDIM),
//! the torch noise stream and a given x_T: GPU against the f64 CPU loop with the same noise, on
//! both step-kernel paths (scalar: samples of 2; vec4: samples of 4) and on every grid path of
//! the small-grid device; the inverse-DDIM round trip.

mod common;
use ddpm_wgpu::chain::Chain;
use ddpm_wgpu::cpu::sampling::mixture_denoiser::Mixture;
use ddpm_wgpu::cpu::sampling::sample_loop as cpu_loop;
use ddpm_wgpu::gpu::sample_loop::{sample_loop, LoopOptions, NoiseSource};
use ddpm_wgpu::gpu::{Context, MixtureDenoiser};
use ddpm_wgpu::sampler::{Ddim, DdimOptions, DdimReverse, Ddpm, Sampler};
use ddpm_wgpu::spacing::{timesteps, Spacing};
use ddpm_wgpu::{MeanType, ModelOptions, ScheduleKind, Tables, VarType};

const POINTS: [f32; 6] = [-0.6, -0.6, 0.6, -0.4, 0.0, 0.7];
const POINTS4: [f32; 12] = [
    -0.6, -0.6, 0.2, 0.5, 0.6, -0.4, -0.3, 0.0, 0.0, 0.7, 0.4, -0.5,
];
const DATA: [(&[f32], usize); 2] = [(&POINTS, 2), (&POINTS4, 4)];
const SIGMA: f64 = 0.05;

fn tables() -> Tables {
    Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap()
}

fn kept(spacing: Spacing, n: usize) -> Vec<usize> {
    timesteps(1000, n, &spacing).unwrap()
}

/// The GPU and the CPU loop of `sampler` over the mixture of `points` (S = [`SIGMA`]).
fn both(
    ctx: &Context,
    sampler: &dyn Sampler,
    data: (&[f32], usize),
    batch: usize,
    opts: &LoopOptions,
) -> (Vec<f32>, Vec<f64>) {
    common::mixture_loops(ctx, sampler, data, SIGMA, batch, opts)
}

fn worst(gpu: &[f32], cpu: &[f64]) -> f64 {
    assert_eq!(gpu.len(), cpu.len());
    gpu.iter()
        .zip(cpu)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max)
}

fn opts(seed: u64) -> LoopOptions {
    LoopOptions {
        seed,
        steps_per_submit: 7,
        ..LoopOptions::default()
    }
}

/// DDIM over 50 steps of every spacing, eta 0, 0.5 and 1, every mean type DDIM reads: the f32
/// loop tracks the f64 loop. Most runs agree to 1-6e-7 (lavapipe). The outliers are the exact
/// mixture's own conditioning, not the step: an error in x moves its softmax weights by
/// |x - sqrt(abar) d| / v times as much, and near t = 0 (v ~ 0.005 for S = 0.05) that is ~100x;
/// with eta > 0 and linspace spacing (which ends at t = 0) a trajectory between two points
/// carries that into x_0: measured 2.4e-5 (eps) and 3.6e-5 (v) at d = 4, eta 1. Bounded at 1e-4.
#[test]
fn ddim_loop_matches_cpu_loop() {
    let Some(ctx) = common::gpu() else { return };
    let tb = tables();
    let spacings = [
        Spacing::Leading { steps_offset: 1 },
        Spacing::Linspace,
        Spacing::Trailing,
    ];
    for spacing in spacings {
        let chain = Chain::respaced(&tb, &kept(spacing.clone(), 50)).unwrap();
        for mean_type in [MeanType::Eps, MeanType::Xstart, MeanType::V] {
            for eta in [0.0, 0.5, 1.0] {
                let model = ModelOptions {
                    mean_type,
                    ..ModelOptions::default()
                };
                let ddim = DdimOptions {
                    eta,
                    ..DdimOptions::default()
                };
                let sampler = Ddim::new(chain.clone(), model, None, ddim).unwrap();
                for data in DATA {
                    let (g, c) = both(&ctx, &sampler, data, 9, &opts(3));
                    let w = worst(&g, &c);
                    assert!(
                        w < 1e-4,
                        "{spacing:?} {mean_type} eta {eta} d {}: {w}",
                        data.1
                    );
                }
            }
        }
    }
}

/// DDPM on chains respaced to 50 and 100 steps (diffusers' spacings and improved-diffusion's
/// sections), every variance type: GPU against the CPU loop. Measured at most 6e-7; bounded at
/// 1e-5 as the DDIM loops (larger steps than T = 1000).
#[test]
fn respaced_ddpm_loop_matches_cpu_loop() {
    let Some(ctx) = common::gpu() else { return };
    let tb = tables();
    let chains = [
        kept(Spacing::Leading { steps_offset: 1 }, 50),
        kept(Spacing::Trailing, 100),
        kept(Spacing::Improved("ddim50".into()), 0),
        kept(Spacing::Improved("30,20,50".into()), 0),
    ];
    for steps in chains {
        let chain = Chain::respaced(&tb, &steps).unwrap();
        for var_type in [
            VarType::FixedSmall,
            VarType::FixedLarge,
            VarType::LearnedRange,
        ] {
            let model = ModelOptions {
                var_type,
                ..ModelOptions::default()
            };
            let sampler = Ddpm::new(chain.clone(), model, None).unwrap();
            for data in DATA {
                let (g, c) = both(&ctx, &sampler, data, 5, &opts(8));
                let w = worst(&g, &c);
                assert!(w < 1e-5, "{} steps {var_type}: {w}", steps.len());
            }
        }
    }
}

/// The torch stream: x_T and each step's noise come from the host generator, uploaded, on the
/// GPU as on the CPU (the same f32 normals), so the two loops agree as with Philox; and the
/// result differs from the Philox run's.
#[test]
fn torch_noise_stream_drives_both_loops() {
    let Some(ctx) = common::gpu() else { return };
    let tb = tables();
    let chain = Chain::respaced(&tb, &kept(Spacing::Leading { steps_offset: 0 }, 20)).unwrap();
    let model = ModelOptions::default();
    let ddim = DdimOptions {
        eta: 1.0,
        ..DdimOptions::default()
    };
    let samplers: [Box<dyn Sampler>; 2] = [
        Box::new(Ddim::new(chain.clone(), model, None, ddim).unwrap()),
        Box::new(Ddpm::new(chain, model, None).unwrap()),
    ];
    for sampler in &samplers {
        for data in DATA {
            let torch = LoopOptions {
                noise: NoiseSource::Torch,
                ..opts(5)
            };
            let (g, c) = both(&ctx, sampler.as_ref(), data, 6, &torch);
            assert!(worst(&g, &c) < 1e-5, "{}", sampler.name());
            let (philox, _) = both(&ctx, sampler.as_ref(), data, 6, &opts(5));
            assert_ne!(
                g,
                philox,
                "{}: torch and Philox runs coincide",
                sampler.name()
            );
        }
    }
}

/// A given x_T replaces the drawn one: the same x_T as Philox draws gives the same samples, and
/// DDIM with eta 0 from a given x_T is deterministic (no noise drawn at all).
#[test]
fn given_x_t_starts_the_loop() {
    let Some(ctx) = common::gpu() else { return };
    let tb = tables();
    let chain = Chain::respaced(&tb, &kept(Spacing::Trailing, 25)).unwrap();
    let model = ModelOptions::default();
    let ddim = Ddim::new(chain, model, None, DdimOptions::default()).unwrap();
    let (points, d) = DATA[1];
    let batch = 4;
    // x_T as the loop draws it with seed 2: the shader's own f32 normals (INIT stream, step T).
    let mut enc = ctx.encoder();
    let drawn_x_t = ddpm_wgpu::gpu::noise(&ctx, &mut enc, 2, 0, 1000, 0, &[batch, d]).unwrap();
    ctx.submit(enc).unwrap();
    let given = LoopOptions {
        x_t: Some(drawn_x_t.to_vec(&ctx).unwrap()),
        ..opts(99)
    };
    let (from_given, cpu) = both(&ctx, &ddim, (points, d), batch, &given);
    let (drawn, _) = both(&ctx, &ddim, (points, d), batch, &opts(2));
    assert_eq!(from_given, drawn);
    assert!(worst(&from_given, &cpu) < 1e-5);
}

/// The DDIM loop on every grid path of the small-grid device, against the CPU loop, on the
/// first three training steps (with 4096-element samples the mixture's softmax at large t sums
/// thousands of f32 terms into its log-weights and differs from f64 by ~1e-4 whatever the
/// sampler; at small t the weights are one-hot and the step's own arithmetic shows).
#[test]
fn ddim_on_every_grid_path_matches_cpu() {
    let Some(small) = common::small_grid_gpu() else {
        return;
    };
    let tb = tables();
    let chain = Chain::respaced(&tb, &[0, 1, 2]).unwrap();
    let ddim = DdimOptions {
        eta: 1.0,
        ..DdimOptions::default()
    };
    let model = ModelOptions {
        mean_type: MeanType::V,
        ..ModelOptions::default()
    };
    let sampler = Ddim::new(chain, model, None, ddim).unwrap();
    for &shape in common::SMALL_GRID_SHAPES.iter() {
        let &[batch, d] = shape else {
            panic!("{shape:?}")
        };
        let mut g = ddpm_wgpu::check::Gen::new(d as u64);
        let points = g.vec(3 * d, |g| g.range(-1.0, 1.0));
        let (gpu, cpu) = both(&small, &sampler, (&points, d), batch, &opts(6));
        let w = worst(&gpu, &cpu);
        eprintln!("{shape:?}: max |gpu - cpu| = {w:e}");
        // Measured 4.0e-7, 3.1e-7 and 4.8e-6 (the worst of 5000 samples that start at pure
        // noise three steps from t = 0, where the softmax is sharpest) on lavapipe.
        assert!(w < 1e-5, "{shape:?}: {w}");
    }
}

/// Inverse DDIM encodes data into x_T at the chain's last step and DDIM (eta 0) decodes it
/// back. With a smooth data distribution (the mixture of three points with spread S = 0.3, so
/// the probability-flow ODE is not an attractor that would send anything near a point back to
/// it) every datum comes back to within the discretisation error, which falls as 1/N, as it
/// must for DDIM's first-order steps: measured 3.1e-2 at 100 linspace steps and 3.4e-3 at 1000
/// (both d = 2 and d = 4, lavapipe), against an offset of 0.25 from the centres that a decoder
/// snapping to them would miss by. The encoding is far from the identity (x_T at least 0.3 from
/// the data somewhere) and the GPU encoding tracks the CPU twin's.
#[test]
fn inverse_ddim_round_trip_recovers_the_data() {
    let Some(ctx) = common::gpu() else { return };
    let tb = tables();
    let model = ModelOptions {
        clip_denoised: false,
        ..ModelOptions::default()
    };
    let spread = 0.3;
    for (points, d) in DATA {
        // Each centre moved by 0.25 along a different direction: data, not centres.
        let data: Vec<f32> = points
            .iter()
            .enumerate()
            .map(|(i, &p)| p + if i % 2 == 0 { 0.25 } else { -0.25 })
            .collect();
        let batch = points.len() / d;
        let shape = [batch, d];
        let given = |x: Vec<f32>| LoopOptions {
            x_t: Some(x),
            ..opts(0)
        };
        let mut errors = Vec::new();
        for n in [100, 1000] {
            let chain = Chain::respaced(&tb, &kept(Spacing::Linspace, n)).unwrap();
            let encode = DdimReverse::new(chain.clone(), model).unwrap();
            let decode = Ddim::new(chain, model, None, DdimOptions::default()).unwrap();
            let mut den = MixtureDenoiser::new(&ctx, points, &shape, spread, model).unwrap();
            let x_t = sample_loop(
                &ctx,
                &encode,
                &mut den,
                &shape,
                &given(data.clone()),
                &mut |_, _| {},
            )
            .unwrap()
            .x0;
            let by_t = encode.chain().by_timestep();
            let mix = Mixture {
                tables: &by_t,
                points,
                sample_len: d,
                data_var: spread * spread,
                model,
            };
            let cpu = cpu_loop::sample_loop(&encode, &mix, batch, d, &given(data.clone())).unwrap();
            assert!(worst(&x_t, &cpu) < 1e-5, "encoding: {}", worst(&x_t, &cpu));
            let max_diff = |a: &[f32], b: &[f32]| {
                a.iter()
                    .zip(b)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0f32, f32::max)
            };
            let moved = max_diff(&x_t, &data);
            assert!(moved > 0.3, "x_T is within {moved} of the data");
            let back = sample_loop(&ctx, &decode, &mut den, &shape, &given(x_t), &mut |_, _| {})
                .unwrap()
                .x0;
            let err = max_diff(&back, &data);
            eprintln!("d {d}, {n} steps: round trip max error {err:e}, x_T moved {moved:.3}");
            errors.push(err);
        }
        assert!(errors[1] < 5e-3, "d {d}: {errors:?}");
        assert!(
            errors[1] < errors[0] / 5.0,
            "d {d}: not first order: {errors:?}"
        );
    }
}
