#!/usr/bin/env python3
"""Reference fixtures for the UNet2DModel loader and its f64 CPU twin (tests/unet_cpu.rs), made by
diffusers itself. CI has no torch: the output is committed under tests/fixtures/unet/.

Usage (needs torch, diffusers, safetensors, numpy):

    python3 tests/reference/unet_fixtures.py [--out tests/fixtures/unet]
    python3 tests/reference/unet_fixtures.py --cifar10 DIR   # not committed: ~143 MB

For each small config: a UNet2DModel with seeded random weights (every parameter re-drawn so that
activations stay O(1) and no layer is zero), saved by `save_pretrained` with a DDPMScheduler
config beside it, then inputs x (float32 [B, C, H, W]) and t (int64 [B]) for B = 1 and B = 3,
and diffusers' float32 output `model(x, t).sample`, as b{B}_x.npy, b{B}_t.npy, b{B}_out.npy.
Also: one model stored in float16 and one in bfloat16 (outputs from the rounded weights, run in
float32), one pipeline folder (model_index.json, unet/, scheduler/), and one safetensors file
with the old attention names (query, key, value, proj_attn).
`--cifar10 DIR` writes a model folder of the google/ddpm-cifar10-32 architecture with random
weights, its DDPMScheduler config and the same b{B}_*.npy files, for timing and the full-size
check (`DDPM_UNET_CIFAR10=DIR cargo test --release --test unet_cpu -- --ignored`).
"""
import argparse
import json
import math
import os
import shutil

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from safetensors.torch import load_file, save_file

# Each config covers part of the list in the task (issue #12); together: attention at two
# levels, several heads and one head, head_dim not dividing the channels, odd channels with 3
# groups, both downsample paddings, both time scale shifts, attention without group norm (mid
# block with scale_shift), in_channels 1 and 3, learned variance (out = 2 x in), add_attention
# false, no mid block, center_input_sample, a non-square sample, layers_per_block 1 and 2, both
# flip_sin_to_cos, freq_shift 0 and 1, time_embedding_dim, mid_block_scale_factor, "UNetRes"
# block-name prefixes, and a scaled-down copy of the cifar10 architecture.
CONFIGS = {
    "attn_two_levels_heads": dict(
        sample_size=8, in_channels=3, out_channels=3,
        block_out_channels=(8, 12), norm_num_groups=4, layers_per_block=1,
        down_block_types=("AttnDownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "AttnUpBlock2D"),
        # 8 // 3 = 2 heads of 3 (inner dim 6 < 8 channels); 12 // 3 = 4 heads.
        attention_head_dim=3, attn_norm_num_groups=2, downsample_padding=1,
        flip_sin_to_cos=True, freq_shift=0, resnet_time_scale_shift="default",
    ),
    "odd_scale_shift_pad0": dict(
        sample_size=(16, 8), in_channels=1, out_channels=2,
        block_out_channels=(15, 21), norm_num_groups=3, layers_per_block=2,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=None, downsample_padding=0, flip_sin_to_cos=False, freq_shift=1,
        # scale_shift with attn_norm_num_groups None: the mid attention has no group norm.
        resnet_time_scale_shift="scale_shift", norm_eps=1e-6,
    ),
    "no_attn_center_learned": dict(
        sample_size=8, in_channels=3, out_channels=6,
        block_out_channels=(8, 8, 16), norm_num_groups=4, layers_per_block=1,
        down_block_types=("DownBlock2D", "UNetResDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UNetResUpBlock2D", "UpBlock2D"),
        add_attention=False, center_input_sample=True, time_embedding_dim=24,
        mid_block_scale_factor=math.sqrt(2.0), downsample_padding=1, flip_sin_to_cos=True,
        freq_shift=1,
    ),
    "cifar10_tiny": dict(
        sample_size=16, in_channels=3, out_channels=3,
        block_out_channels=(8, 16, 16, 16), norm_num_groups=4, layers_per_block=2,
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        attention_head_dim=None, downsample_padding=0, flip_sin_to_cos=False, freq_shift=1,
        norm_eps=1e-6, act_fn="silu", mid_block_scale_factor=1,
    ),
}

# Stored in reduced precision: (config name, base config, dtype).
HALF_CONFIGS = {
    "f16_no_mid": (dict(
        sample_size=8, in_channels=3, out_channels=3,
        block_out_channels=(8, 16), norm_num_groups=4, layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        mid_block_type=None, attention_head_dim=4, downsample_padding=1,
    ), torch.float16),
    "bf16": (dict(
        sample_size=8, in_channels=1, out_channels=1,
        block_out_channels=(6, 12), norm_num_groups=3, layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=None, downsample_padding=0, resnet_time_scale_shift="scale_shift",
        attn_norm_num_groups=3,
    ), torch.bfloat16),
}

PIPELINE = ("pipeline", dict(
    sample_size=8, in_channels=3, out_channels=3,
    block_out_channels=(8, 8), norm_num_groups=2, layers_per_block=1,
    down_block_types=("DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D"),
    attention_head_dim=2,
))

OLD_NAMES = "old_attention_names"

# diffusers' sinusoid alone, (width, freq_shift, flip_sin_to_cos): the model outputs dilute the
# f32 rounding of its argument (~3e-5 rad at t = 999), so it is checked directly. Widths whose
# torch exp agrees with a correctly rounded one at every frequency (asserted below).
SINUSOIDS = [(128, 1, False), (15, 1, False), (8, 0, True), (6, 0, True)]
SINUSOID_T = [0, 1, 2, 7, 100, 250, 499, 500, 501, 750, 900, 997, 998, 999]  # a copy of attn_two_levels_heads with the old names

CIFAR10 = dict(
    sample_size=32, in_channels=3, out_channels=3,
    block_out_channels=(128, 256, 256, 256), layers_per_block=2,
    down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    downsample_padding=0, freq_shift=1, flip_sin_to_cos=False, norm_eps=1e-6,
    norm_num_groups=32, attention_head_dim=None, act_fn="silu", center_input_sample=False,
    mid_block_scale_factor=1, time_embedding_type="positional",
)


def reinit(model, gen):
    """Every parameter re-drawn: weights N(0, 1) / sqrt(fan_in) (unit gain), biases N(0, 0.1^2),
    norm scales 1 + N(0, 0.1^2), norm shifts N(0, 0.1^2). diffusers' own init is not used: some
    versions zero conv_out, which would make the comparison trivial."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name.split(".")[-2] and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))


def build(cfg, seed):
    torch.manual_seed(seed)
    model = UNet2DModel(**cfg)
    reinit(model, torch.Generator().manual_seed(seed))
    return model.eval()


def scheduler_for(cfg):
    var = "learned_range" if cfg["out_channels"] == 2 * cfg["in_channels"] else "fixed_small"
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", variance_type=var,
                         clip_sample=True)


def inputs(cfg, batch, seed):
    size = cfg["sample_size"]
    h, w = (size, size) if isinstance(size, int) else size
    gen = torch.Generator().manual_seed(1000 + seed + batch)
    x = torch.randn((batch, cfg["in_channels"], h, w), generator=gen, dtype=torch.float32)
    t = torch.tensor([0, 500, 999] if batch == 3 else [(seed * 337 + 123) % 1000], dtype=torch.int64)
    return x, t


def write_io(model, cfg, out_dir, seed):
    for batch in (1, 3):
        x, t = inputs(cfg, batch, seed)
        with torch.no_grad():
            y = model(x, t).sample.to(torch.float32)
        assert y.abs().max() > 1e-2, "trivially small output"
        assert torch.isfinite(y).all()
        np.save(os.path.join(out_dir, f"b{batch}_x.npy"), x.numpy())
        np.save(os.path.join(out_dir, f"b{batch}_t.npy"), t.numpy())
        np.save(os.path.join(out_dir, f"b{batch}_out.npy"), y.numpy())
        print(f"  B={batch} t={t.tolist()} out std {y.std():.3f} max |.| {y.abs().max():.3f}")


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "unet"))
    p.add_argument("--cifar10", metavar="DIR", help="write the cifar10-architecture folder here instead")
    args = p.parse_args()
    torch.set_num_threads(2)

    if args.cifar10:
        model = build(CIFAR10, 0)
        d = fresh(args.cifar10)
        model.save_pretrained(d)
        DDPMScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02,
                      beta_schedule="linear", variance_type="fixed_small",
                      clip_sample=True).save_pretrained(d)
        write_io(model, CIFAR10, d, 0)
        n = sum(p.numel() for p in model.parameters())
        print(f"{d}: cifar10 architecture, {n} parameters")
        return

    out = fresh(os.path.abspath(args.out))
    for seed, (name, cfg) in enumerate(CONFIGS.items()):
        print(name)
        d = fresh(os.path.join(out, name))
        model = build(cfg, seed)
        model.save_pretrained(d)
        scheduler_for(cfg).save_pretrained(d)
        write_io(model, cfg, d, seed)

    for seed, (name, (cfg, dtype)) in enumerate(HALF_CONFIGS.items(), start=len(CONFIGS)):
        print(name)
        d = fresh(os.path.join(out, name))
        model = build(cfg, seed).to(dtype)
        model.save_pretrained(d)
        scheduler_for(cfg).save_pretrained(d)
        # The reference runs the rounded weights in float32, as the loader converts them.
        write_io(model.to(torch.float32), cfg, d, seed)

    name, cfg = PIPELINE
    print(name)
    seed = len(CONFIGS) + len(HALF_CONFIGS)
    d = fresh(os.path.join(out, name))
    model = build(cfg, seed)
    model.save_pretrained(os.path.join(d, "unet"))
    DDIMScheduler(num_train_timesteps=1000, beta_schedule="scaled_linear", clip_sample=False,
                  set_alpha_to_one=False, steps_offset=1).save_pretrained(os.path.join(d, "scheduler"))
    with open(os.path.join(d, "model_index.json"), "w") as f:
        json.dump({"_class_name": "DDPMPipeline", "_diffusers_version": "0.42.1",
                   "scheduler": ["diffusers", "DDIMScheduler"],
                   "unet": ["diffusers", "UNet2DModel"]}, f, indent=2)
    write_io(model, cfg, d, seed)

    print(OLD_NAMES)
    src = os.path.join(out, "attn_two_levels_heads")
    d = fresh(os.path.join(out, OLD_NAMES))
    renames = {".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."}
    tensors = {}
    for key, value in load_file(os.path.join(src, "diffusion_pytorch_model.safetensors")).items():
        for new, old in renames.items():
            key = key.replace(new, old)
        tensors[key] = value
    assert any(".proj_attn." in k for k in tensors)
    save_file(tensors, os.path.join(d, "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
    for f in os.listdir(src):
        if f.endswith(".json") or f.endswith(".npy"):
            shutil.copy(os.path.join(src, f), d)
    # diffusers itself must read the old names back to the same model.
    old = UNet2DModel.from_pretrained(d).eval()
    x, t = inputs(CONFIGS["attn_two_levels_heads"], 3, 0)
    with torch.no_grad():
        assert torch.equal(old(x, t).sample, torch.from_numpy(np.load(os.path.join(d, "b3_out.npy"))))

    from diffusers.models.embeddings import get_timestep_embedding
    d = fresh(os.path.join(out, "sinusoid"))
    t = torch.tensor(SINUSOID_T, dtype=torch.int64)
    np.save(os.path.join(d, "t.npy"), t.numpy())
    for width, shift, flip in SINUSOIDS:
        half = width // 2
        e = (-math.log(10000) * torch.arange(0, half, dtype=torch.float32)) / (half - shift)
        assert np.array_equal(torch.exp(e).numpy(), np.exp(e.numpy().astype(np.float64)).astype(np.float32))
        emb = get_timestep_embedding(t, width, flip_sin_to_cos=flip, downscale_freq_shift=shift)
        np.save(os.path.join(d, f"w{width}_shift{shift}_flip{int(flip)}.npy"), emb.numpy())

    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(out) for f in fs)
    print(f"{out}: {total} bytes")


if __name__ == "__main__":
    main()
