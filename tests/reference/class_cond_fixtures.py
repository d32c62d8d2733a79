#!/usr/bin/env python3
"""Class-conditional UNet2DModel fixtures made by diffusers itself, for tests/class_cond.rs. CI
has no torch: the output is committed under tests/fixtures/class_cond/.

Usage (needs torch, diffusers 0.42, safetensors, numpy):

    python3 tests/reference/class_cond_fixtures.py [--out tests/fixtures/class_cond]

For each class embedding kind: a small UNet2DModel with seeded random weights (every parameter
re-drawn as tests/reference/unet_fixtures.py draws them), saved by `save_pretrained` with a
DDPMScheduler config beside it, then inputs x (float32 [B, C, H, W]), t (int64 [B]) and
class_labels for B = 1 and B = 3, and diffusers' float32 output
`model(x, t, class_labels=labels).sample`, as b{B}_x.npy, b{B}_t.npy, b{B}_labels.npy and
b{B}_out.npy. The labels:
- embedding (class_embed_type None, num_class_embeds): int64 [B]; B = 3 takes the first class,
  a middle one and the last (the null class of DiT's convention).
- timestep: int64 [B], through the model's own time_proj and the class TimestepEmbedding; no
  num_class_embeds, so any integer is a label: 0, 7, 123 (and 1234 for B = 1, past the
  schedule's 1000 timesteps). Its sinusoid is [sin, cos] with freq_shift 1, unlike the
  embedding model's, so a twin that ignored the model's time_proj settings would fail.
- identity: float32 [B, time-embedding width], added to the time embedding as given.

Each kind's folder is rewritten; other folders under --out (guided/, made by
guided_fixtures.py) are left alone. `--only KIND` rewrites one.
"""
import argparse
import os

import numpy as np
import torch

from unet_fixtures import build, fresh, inputs, scheduler_for

# class_embed_type None with num_class_embeds: an nn.Embedding of the time-embedding width.
CONFIGS = {
    "embedding": dict(
        sample_size=8, in_channels=3, out_channels=3,
        block_out_channels=(8, 12), norm_num_groups=4, layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=3, flip_sin_to_cos=True, freq_shift=0,
        num_class_embeds=11,
    ),
    "timestep": dict(
        sample_size=8, in_channels=3, out_channels=3,
        block_out_channels=(8, 12), norm_num_groups=4, layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=3, flip_sin_to_cos=False, freq_shift=1,
        class_embed_type="timestep",
    ),
    "identity": dict(
        sample_size=8, in_channels=3, out_channels=3,
        block_out_channels=(8, 12), norm_num_groups=4, layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=3, flip_sin_to_cos=True, freq_shift=0,
        class_embed_type="identity",
    ),
}


def labels_for(cfg, batch, seed):
    kind = cfg.get("class_embed_type")
    if kind == "identity":
        width = 4 * cfg["block_out_channels"][0]
        gen = torch.Generator().manual_seed(2000 + seed + batch)
        return torch.randn((batch, width), generator=gen, dtype=torch.float32)
    if kind == "timestep":
        return torch.tensor([0, 7, 123] if batch == 3 else [1234], dtype=torch.int64)
    n = cfg["num_class_embeds"]
    if batch == 3:
        return torch.tensor([0, n // 2 + 1, n - 1], dtype=torch.int64)
    return torch.tensor([(seed * 7 + 3) % n], dtype=torch.int64)


def other_labels(cfg, labels):
    """Labels that must move the output: the next class (rows shifted by one for identity)."""
    kind = cfg.get("class_embed_type")
    if kind == "identity":
        return labels + 1.0
    if kind == "timestep":
        return labels + 1
    return (labels + 1) % cfg["num_class_embeds"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures",
                                                 "class_cond"))
    p.add_argument("--only", choices=sorted(CONFIGS), help="rewrite this kind's folder alone")
    args = p.parse_args()
    torch.set_num_threads(2)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    # Seeds by position in CONFIGS (embedding 100, timestep 101, identity 102): a new kind goes
    # last so that the folders already committed come out the same.
    for seed, (name, cfg) in enumerate(CONFIGS.items(), start=100):
        if args.only and name != args.only:
            continue
        print(name)
        d = fresh(os.path.join(out, name))
        model = build(cfg, seed)
        model.save_pretrained(d)
        scheduler_for(cfg).save_pretrained(d)
        for batch in (1, 3):
            x, t = inputs(cfg, batch, seed)
            labels = labels_for(cfg, batch, seed)
            with torch.no_grad():
                y = model(x, t, class_labels=labels).sample.to(torch.float32)
                # The labels must matter: another label moves the output.
                other = model(x, t, class_labels=other_labels(cfg, labels)).sample
            assert (y - other).abs().max() > 1e-2, "labels do not change the output"
            assert torch.isfinite(y).all()
            for key, value in (("x", x), ("t", t), ("labels", labels), ("out", y)):
                np.save(os.path.join(d, f"b{batch}_{key}.npy"), value.numpy())
            shown = labels.tolist() if labels.dim() == 1 else f"float32 {list(labels.shape)}"
            print(f"  B={batch} t={t.tolist()} labels={shown} out std {y.std():.3f}")


if __name__ == "__main__":
    main()
