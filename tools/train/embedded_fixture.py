"""Writes tests/fixtures/embedded_digits/{x,t,out}.npy: diffusers' own forward of the embedded
digits model (src/models/digits, f16 weights loaded as float32) on three seeded inputs at the
first, a middle and the last timestep, for tests/embedded_model.rs. Rerun after retraining.
For a class-conditional model (num_class_embeds) it also writes labels.npy, the first class, 7
and the last (the null class), and the output is model(x, t, class_labels=labels):

    V/bin/python tools/train/embedded_fixture.py [--model src/models/digits] [--out DIR]
    V/bin/python tools/train/embedded_fixture.py --model src/models/digits-cond \
        --out tests/fixtures/embedded_digits_cond
"""

import argparse
import os

import numpy as np
import torch
from diffusers import UNet2DModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "src", "models", "digits"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "embedded_digits"))
    args = ap.parse_args()
    model = UNet2DModel.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1, 16, 16, generator=g)
    t = torch.tensor([0, 500, 999], dtype=torch.int64)
    n = model.config.num_class_embeds
    labels = None if n is None else torch.tensor([0, 7, n - 1], dtype=torch.int64)
    with torch.no_grad():
        out = model(x, t, class_labels=labels).sample
    os.makedirs(args.out, exist_ok=True)
    if labels is not None:
        np.save(os.path.join(args.out, "labels.npy"), labels.numpy())
    np.save(os.path.join(args.out, "x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(args.out, "t.npy"), t.numpy())
    np.save(os.path.join(args.out, "out.npy"), out.numpy().astype(np.float32))
    print(f"wrote x, t, out to {args.out}")


if __name__ == "__main__":
    main()
