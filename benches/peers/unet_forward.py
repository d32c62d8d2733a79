#!/usr/bin/env python3
"""The peer of the UNet forward: diffusers' UNet2DModel on torch's CPU, for the
google/ddpm-cifar10-32 architecture (built from its config with random weights; nothing is
downloaded), in inference mode. Prints forwards/s, ms per forward and GFLOP/s at each batch
size, with the FLOPs of one 32x32 sample counted the way `UNet2D::flops` counts them (2 per
multiply-add of every nn.Conv2d and nn.Linear, plus q k^T and p v of every Attention; norms,
activations, softmax, residuals and the upsampling copy not counted), by forward hooks on
the modules diffusers actually runs. Not part of CI; needs torch and diffusers:

    python3 benches/peers/unet_forward.py [--batch 1 4 16] [--threads 2] [--reps 3]
"""
import argparse
import time

import torch
from diffusers import UNet2DModel
from diffusers.models.attention_processor import Attention

CIFAR10 = dict(
    sample_size=32, in_channels=3, out_channels=3,
    block_out_channels=(128, 256, 256, 256), layers_per_block=2,
    down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    downsample_padding=0, freq_shift=1, flip_sin_to_cos=False, norm_eps=1e-6,
    norm_num_groups=32, attention_head_dim=None, act_fn="silu",
)


def count_flops(model, x, t):
    """FLOPs of one forward of x (per the whole batch), by hooks."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1]
        total[0] += 2 * m.in_channels * m.out_channels * k * out.shape[2] * out.shape[3] * out.shape[0]

    def linear_hook(m, inp, out):
        rows = out.numel() // out.shape[-1]
        total[0] += 2 * m.in_features * m.out_features * rows

    def attn_hook(m, inp, out):
        b, c, h, w = inp[0].shape
        n = h * w
        inner = m.heads * (m.inner_dim // m.heads)
        total[0] += 2 * 2 * b * n * n * inner  # q k^T and p v

    hooks = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, torch.nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attn_hook))
    with torch.inference_mode():
        model(x, t)
    for h in hooks:
        h.remove()
    return total[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3, help="timed forwards per batch size (after one warm-up)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = UNet2DModel(**CIFAR10).eval()
    params = sum(q.numel() for q in model.parameters())
    x1 = torch.randn(1, 3, 32, 32)
    flops = count_flops(model, x1, torch.tensor([500]))
    print(f"torch {torch.__version__}, {args.threads} threads; cifar10 UNet2DModel: {params} parameters, "
          f"{flops} FLOP per 32x32 sample ({flops / 1e9:.3f} GFLOP)")
    for b in args.batch:
        x = torch.randn(b, 3, 32, 32)
        t = torch.randint(0, 1000, (b,))
        with torch.inference_mode():
            model(x, t)
            start = time.perf_counter()
            for _ in range(args.reps):
                model(x, t)
            dt = (time.perf_counter() - start) / args.reps
        print(f"B={b:3d}: {1 / dt:7.3f} forwards/s, {1000 * dt:9.1f} ms per forward, "
              f"{1000 * dt / b:8.1f} ms per sample, {b * flops / dt / 1e9:6.2f} GFLOP/s")


if __name__ == "__main__":
    main()
