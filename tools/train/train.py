"""Train the embedded digits model: a small diffusers UNet2DModel on scikit-learn's handwritten
digits (the UCI optical-digits set, 1797 images of 8x8 with 17 grey levels), upscaled once to
16x16, with the paper's diffusion settings (T = 1000, linear betas 1e-4 .. 0.02, eps prediction,
the simple MSE loss), and save a diffusers model folder with f16 weights.

Not run by CI. Seeded; 5k steps of batch 64, 24 minutes on this project's 2-core machines
(torch on the CPU; the time of each run is in training.json).

    python3 -m venv V && V/bin/pip install torch diffusers safetensors scikit-learn
    V/bin/python tools/train/train.py --out src/models/digits [--steps 5000] [--threads 2]
    V/bin/python tools/train/train.py --class-cond --out DIR [--label-drop 0.15]

`--class-cond` trains the same architecture with 11 class embeddings (`num_class_embeds`: the
digits 0-9 and the null class 10, DiT's convention), each training label replaced by the null
class with probability `--label-drop` (classifier-free guidance's unconditional model); the
same split, seed and diffusion settings.

Writes OUT/config.json, OUT/diffusion_pytorch_model.safetensors (f16), OUT/scheduler_config.json
(a DDPMScheduler config) and OUT/training.json (the settings, the loss curve, the wall time).
The train/test split is fixed by tools/train/split.json (written by `--make-split` once, seed 0).
"""

import argparse
import copy
import json
import math
import os
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT = os.path.join(HERE, "split.json")


def digits_16():
    """The 1797 digits as float32 [N, 1, 16, 16] in [-1, 1] (bilinear 2x upscaling of the 8x8
    images, grey levels 0..16 mapped linearly), and their labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(d.images.astype(np.float32) / 16.0)[:, None]
    x = torch.nn.functional.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    return (x.clamp(0, 1) * 2 - 1).numpy(), d.target.astype(np.int64)


def make_split(n, seed=0, test_fraction=0.2):
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_test = int(round(n * test_fraction))
    return {"seed": seed, "test": sorted(order[:n_test].tolist()), "train": sorted(order[n_test:].tolist())}


def load_split():
    with open(SPLIT) as f:
        return json.load(f)


NULL_CLASS = 10


def model_config(class_cond=False):
    """The UNet2DModel: 16x16x1, three levels (32, 64, 64 channels), self-attention at 8x8 with
    two heads, one resnet per level (two on the way up); 1.1 million parameters. With
    `class_cond`, an 11-row class embedding table (digits and the null class)."""
    extra = {"num_class_embeds": NULL_CLASS + 1} if class_cond else {}
    return dict(**extra,
        sample_size=16,
        in_channels=1,
        out_channels=1,
        layers_per_block=1,
        block_out_channels=(32, 64, 64),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        attention_head_dim=32,
        dropout=0.0,
    )


def save(args, ema, scheduler, losses, steps_done, train_images, seconds):
    """Writes the EMA weights (float16), the scheduler and the training record; called every
    --save-every steps so that a stopped run still leaves a complete folder."""
    os.makedirs(args.out, exist_ok=True)
    copy.deepcopy(ema).half().save_pretrained(args.out, safe_serialization=True)
    scheduler.save_config(args.out)
    curve = [float(np.mean(losses[i:i + 500])) for i in range(0, len(losses), 500)]
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({"steps": steps_done, "planned_steps": args.steps, "batch": args.batch,
                   "lr": args.lr, "ema": args.ema, "seed": args.seed, "threads": args.threads,
                   "class_cond": args.class_cond, "label_drop": args.label_drop,
                   "train_images": train_images, "seconds": seconds,
                   "loss_every_500": curve}, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "src", "models", "digits"))
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--save-every", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--make-split", action="store_true")
    ap.add_argument("--class-cond", action="store_true")
    ap.add_argument("--label-drop", type=float, default=0.15)
    args = ap.parse_args()

    from diffusers import DDPMScheduler, UNet2DModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, y = digits_16()
    if args.make_split:
        with open(SPLIT, "w") as f:
            json.dump(make_split(len(x)), f)
    split = load_split()
    train = torch.from_numpy(x[split["train"]])
    train_labels = torch.from_numpy(y[split["train"]])

    model = UNet2DModel(**model_config(args.class_cond))
    ema = UNet2DModel(**model_config(args.class_cond))
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    scheduler = DDPMScheduler(
        num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear",
        variance_type="fixed_small", clip_sample=True, prediction_type="epsilon",
    )
    abar = scheduler.alphas_cumprod
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    warmup = 500

    def lr_at(step):  # linear warm-up, then cosine decay to 10%
        if step < warmup:
            return args.lr * (step + 1) / warmup
        p = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    g = torch.Generator().manual_seed(args.seed)
    losses = []
    start = time.time()
    model.train()
    for step in range(args.steps):
        idx = torch.randint(0, len(train), (args.batch,), generator=g)
        x0 = train[idx]
        t = torch.randint(0, 1000, (args.batch,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        a = abar[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        if args.class_cond:
            labels = train_labels[idx].clone()
            drop = torch.rand(args.batch, generator=g) < args.label_drop
            labels[drop] = NULL_CLASS
            out = model(xt, t, class_labels=labels).sample
        else:
            out = model(xt, t).sample
        loss = torch.nn.functional.mse_loss(out, noise)
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(args.ema).add_(pm, alpha=1 - args.ema)
        losses.append(loss.item())
        if step % 500 == 0 or step == args.steps - 1:
            recent = float(np.mean(losses[-500:]))
            print(f"step {step} loss {recent:.4f} {time.time() - start:.0f} s", flush=True)
        if (step + 1) % args.save_every == 0 or step == args.steps - 1:
            save(args, ema, scheduler, losses, step + 1, len(train), time.time() - start)

    print(f"saved to {args.out} after {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
