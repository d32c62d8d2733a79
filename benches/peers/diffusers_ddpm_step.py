#!/usr/bin/env python3
"""The other thing a user would run: Hugging Face diffusers' DDPMScheduler.step loop on the CPU
(PyTorch), at the same kernel sizes and loop shapes as `ddpm bench`, with the same elementwise
Gaussian denoiser (exact for N(0, S^2 I) data) and mixture denoiser (M = 16 points) written in
torch. Scheduler settings match the toolkit's defaults: linear betas 1e-4..0.02, eps
prediction, fixed_large variance, clipping. Not part of CI; needs torch and diffusers:

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install torch diffusers
    /tmp/peers/bin/python benches/peers/diffusers_ddpm_step.py [--steps 100] [--threads 2]
"""
import argparse
import time

import torch
import diffusers
from diffusers import DDPMScheduler


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=100, help="T of the loop rows (ddpm bench --quick: 100)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sigma", type=float, default=0.1)
    return p.parse_args()


def scheduler(T):
    s = DDPMScheduler(
        num_train_timesteps=T,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        variance_type="fixed_large",
        clip_sample=True,
        prediction_type="epsilon",
    )
    s.set_timesteps(T)
    return s


def median_time(f, reps):
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main():
    args = parse()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, diffusers {diffusers.__version__}, threads {torch.get_num_threads()}")
    g = torch.Generator().manual_seed(0)
    s = scheduler(1000)
    print(f"{'kernel':<10} {'elements':>10} {'time (us)':>12} {'Melem/s':>10} {'GB/s':>8}")
    for n in (1 << 12, 1 << 16, 1 << 20, 1 << 24):
        x = torch.randn(4, n // 4, generator=g)
        eps = torch.randn(4, n // 4, generator=g)
        t = int(s.timesteps[500])
        sec = median_time(lambda: s.step(eps, t, x, generator=g).prev_sample, 5)
        print(f"{'step':<10} {n:>10} {sec * 1e6:>12.1f} {n / sec / 1e6:>10.1f} {20 * n / sec / 1e9:>8.2f}")

    T = args.steps
    s = scheduler(T)
    abar = s.alphas_cumprod.to(torch.float32)
    s2 = args.sigma ** 2
    print(f"\n{'denoiser':<9} {'shape':<18} {'T':>5} {'seconds':>9} {'steps/s':>9} {'samples/s':>10}")
    for shape in ((1, 3, 32, 32), (16, 3, 32, 32), (128, 3, 32, 32), (4, 3, 256, 256)):
        d = 1
        for k in shape[1:]:
            d *= k
        points = torch.rand(16, d, generator=g) * 2 - 1

        def gaussian_eps(x, t):
            v = abar[t] * s2 + (1 - abar[t])
            return (1 - abar[t]).sqrt() / v * x

        def mixture_eps(x, t):
            sa, oma = abar[t].sqrt(), 1 - abar[t]
            v = abar[t] * s2 + oma
            xf = x.reshape(x.shape[0], -1)
            logits = -torch.cdist(xf, sa * points).square() / (2 * v)
            mu = torch.softmax(logits, dim=1) @ points
            return (oma.sqrt() * (xf - sa * mu) / v).reshape(x.shape)

        for name, model in (("gaussian", gaussian_eps), ("mixture", mixture_eps)):
            def loop():
                x = torch.randn(shape, generator=g)
                for t in s.timesteps:
                    x = s.step(model(x, int(t)), t, x, generator=g).prev_sample
                return x
            with torch.no_grad():
                sec = median_time(loop, 1 if shape[0] * d > 1 << 18 else 3)
            print(f"{name:<9} {str(list(shape)):<18} {T:>5} {sec:>9.3f} {T / sec:>9.1f} {shape[0] / sec:>10.2f}")


main()
