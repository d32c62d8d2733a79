#!/usr/bin/env python3
"""What a user would otherwise run on the CPU: a numpy port of the original DDPM code's
p_sample (GaussianDiffusion2, eps prediction, fixedlarge variance, clip_denoised), timed per
step at the kernel sizes of `ddpm bench` and as a whole reverse loop at the same shapes and T,
with the same elementwise Gaussian denoiser (exact for N(0, S^2 I) data) and the same mixture
denoiser (M = 16 points) as `ddpm bench`. Not part of CI; needs numpy.

    python3 benches/peers/numpy_p_sample.py [--steps 100] [--threads 1]

Elementwise numpy runs on one thread whatever --threads says; --threads only caps BLAS (the
mixture's distances use a matrix product), to match `ddpm bench` on a 2-core machine.
"""
import argparse
import os
import sys
import time


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100, help="T of the loop rows (ddpm bench --quick: 100)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sigma", type=float, default=0.1)
    return p.parse_args()


args = parse()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)
import numpy as np  # noqa: E402  (after the thread caps)


def tables(T, b0=1e-4, b1=0.02):
    betas = np.linspace(b0, b1, T, dtype=np.float64)
    alphas = 1.0 - betas
    abar = np.cumprod(alphas)
    abar_prev = np.append(1.0, abar[:-1])
    pv = betas * (1.0 - abar_prev) / (1.0 - abar)
    tb = {
        "betas": betas,
        "abar": abar,
        "sqrt_abar": np.sqrt(abar),
        "sqrt_1m_abar": np.sqrt(1.0 - abar),
        "sqrt_recip_abar": np.sqrt(1.0 / abar),
        "sqrt_recipm1_abar": np.sqrt(1.0 / abar - 1.0),
        "coef1": betas * np.sqrt(abar_prev) / (1.0 - abar),
        "coef2": (1.0 - abar_prev) * np.sqrt(alphas) / (1.0 - abar),
        "fixedlarge_logvar": np.log(np.append(pv[1], betas[1:])),
    }
    # float32 tables, as the GPU gets them, so the step runs in float32 like the kernels.
    return {k: v.astype(np.float32) for k, v in tb.items()}


def p_sample(tb, x, t, eps, noise):
    """The original's p_sample for one timestep t shared by the batch: eps -> x0 (clipped) ->
    posterior mean; fixedlarge log-variance; no noise at t == 0."""
    x0 = np.clip(tb["sqrt_recip_abar"][t] * x - tb["sqrt_recipm1_abar"][t] * eps, -1.0, 1.0)
    mean = tb["coef1"][t] * x0 + tb["coef2"][t] * x
    if t == 0:
        return mean
    return mean + np.exp(0.5 * tb["fixedlarge_logvar"][t]) * noise


def gaussian_eps(tb, x, t, s2):
    v = tb["abar"][t] * s2 + (1.0 - tb["abar"][t])
    return (tb["sqrt_1m_abar"][t] / v) * x


def mixture_eps(tb, x, t, points, s2):
    sa, oma = tb["sqrt_abar"][t], 1.0 - tb["abar"][t]
    v = tb["abar"][t] * s2 + oma
    xf = x.reshape(x.shape[0], -1)
    d2 = (xf * xf).sum(1)[:, None] - 2.0 * sa * (xf @ points.T) + (sa * sa) * (points * points).sum(1)[None, :]
    logits = -d2 / (2.0 * v)
    logits -= logits.max(1, keepdims=True)
    r = np.exp(logits)
    r /= r.sum(1, keepdims=True)
    mu = r @ points
    return (np.sqrt(oma) * (xf - sa * mu) / v).reshape(x.shape).astype(np.float32)


def best_of(f, reps=5):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, BLAS threads {args.threads}")
    tb = tables(1000)
    print(f"{'kernel':<10} {'elements':>10} {'time (us)':>12} {'Melem/s':>10} {'GB/s':>8}")
    for n in (1 << 12, 1 << 16, 1 << 20, 1 << 24):
        x, eps, z = (rng.standard_normal(n, dtype=np.float32) for _ in range(3))
        s = best_of(lambda: p_sample(tb, x, 500, eps, z))
        print(f"{'p_sample':<10} {n:>10} {s * 1e6:>12.1f} {n / s / 1e6:>10.1f} {20 * n / s / 1e9:>8.2f}")

    T = args.steps
    tb = tables(T)
    s2 = args.sigma ** 2
    print(f"\n{'denoiser':<9} {'shape':<18} {'T':>5} {'seconds':>9} {'steps/s':>9} {'samples/s':>10}")
    for shape in ((1, 3, 32, 32), (16, 3, 32, 32), (128, 3, 32, 32), (4, 3, 256, 256)):
        d = int(np.prod(shape[1:]))
        points = rng.uniform(-1, 1, (16, d)).astype(np.float32)
        for name in ("gaussian", "mixture"):
            def loop():
                x = rng.standard_normal(shape, dtype=np.float32)
                for t in reversed(range(T)):
                    eps = gaussian_eps(tb, x, t, s2) if name == "gaussian" else mixture_eps(tb, x, t, points, s2)
                    x = p_sample(tb, x, t, eps, rng.standard_normal(shape, dtype=np.float32))
                return x
            s = best_of(loop, reps=1 if shape[0] * d > 1 << 18 else 3)
            print(f"{name:<9} {str(list(shape)):<18} {T:>5} {s:>9.3f} {T / s:>9.1f} {shape[0] / s:>10.2f}")


main()
