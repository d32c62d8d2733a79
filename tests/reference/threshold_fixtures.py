"""Torch fixtures for tests/dynamic_threshold.rs: dynamic thresholding's per-sample scale.

Run from the repository root with the venv that has torch and diffusers:

    /work/V/bin/python tests/reference/threshold_fixtures.py

It writes, for each case NAME, into tests/fixtures/threshold/:
    NAME_x.npy       float32 [B, ...]  the predicted x_0
    NAME_params.npy  float64 [2]       ratio (dynamic_thresholding_ratio), max (sample_max_value)
    NAME_s.npy       float32 [B]       torch: clamp(torch.quantile(|x|.reshape(B, -1), ratio,
                                       dim=1), min=1, max=max)
and checks that diffusers' own DDPMScheduler._threshold_sample equals clamp(x, -s, s) / s with
that s, so the scale is the one diffusers uses. The values were generated on torch 2.15 (CPU,
AVX-512); torch's lerp there rounds once per branch (fused multiply-add).
"""

import pathlib

import numpy as np
import torch
from diffusers import DDPMScheduler

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "threshold"


def torch_scale(x: np.ndarray, ratio: float, max_value: float) -> np.ndarray:
    flat = torch.from_numpy(x).reshape(x.shape[0], -1)
    s = torch.quantile(flat.abs(), ratio, dim=1)
    return torch.clamp(s, min=1, max=max_value).numpy()


def check_against_diffusers(x: np.ndarray, s: np.ndarray, ratio: float, max_value: float):
    if x.ndim < 3:
        return  # _threshold_sample wants [B, C, ...]
    sched = DDPMScheduler(
        thresholding=True, dynamic_thresholding_ratio=ratio, sample_max_value=max_value
    )
    got = sched._threshold_sample(torch.from_numpy(x)).numpy()
    st = s.reshape((-1,) + (1,) * (x.ndim - 1))
    want = np.clip(x, -st, st) / st
    assert got.tobytes() == want.tobytes(), "diffusers' thresholding uses another scale"


def extremes(rng: np.random.Generator) -> np.ndarray:
    n = 64
    rows = [
        np.zeros(n),                                            # all zero
        np.full(n, 3.0),                                        # all equal
        rng.choice([2.0, -2.0, 7.0, -7.0], n),                  # many ties
        rng.choice([1e30, -1e30, 1e-30, -1e-30], n),            # far apart magnitudes
        np.where(rng.random(n) < 0.8, 1e-40, -5.0),             # denormals beside normals
        rng.choice([0.0, -0.0, 2.5, -2.5], n),                  # signed zeros
        rng.choice([1e30, 1.0, 1.5], n) * rng.choice([-1, 1], n),
    ]
    # Random bit patterns: every exponent, finite only (exponent field below 255).
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    bits = np.where((bits & 0x7F800000) == 0x7F800000, bits & 0xBFFFFFFF, bits)
    rows = [np.asarray(r, dtype=np.float32) for r in rows] + [bits.view(np.float32)]
    return np.stack(rows)


def cases():
    rng = np.random.default_rng(20251130)
    scale = np.array([0.5, 2.0, 5.0, 40.0], dtype=np.float32).reshape(4, 1, 1, 1)
    yield "imagen", (rng.standard_normal((4, 3, 8, 8)) * scale).astype(np.float32), 0.995, 1e30
    yield "imagen_max", (rng.standard_normal((2, 3, 17, 19)) * 3).astype(np.float32), 0.995, 1.5
    # 33 samples: torch's vectorised lerp takes the first 32, its scalar loop the last.
    yield "tail33", rng.uniform(1, 100, (33, 50)).astype(np.float32), 0.37, 60.0
    # Two values per sample and w >= 0.5: the lerp's upper branch, fma(w - 1, b - a, b).
    pairs = rng.uniform(1, 2, (40, 2)) * 10.0 ** rng.uniform(0, 6, (40, 1))
    yield "upper_branch", pairs.astype(np.float32), 0.8, 1e30
    # q32 (L - 1) = 3.99999998...: the weight rounds to 1.0 in f32.
    yield "weight_one", rng.uniform(1, 10, (5, 30)).astype(np.float32), 0.13793103396892548, 1e30
    yield "extremes", extremes(rng), 0.9, 1e30
    ends = rng.uniform(2, 10, (3, 257)).astype(np.float32)
    yield "ratio_one", ends, 1.0, 1e30
    yield "ratio_zero", ends, 0.0, 1e30
    # Longer samples whose length is a multiple of 4: the radix kernel's vec4 loads.
    yield "imagen_768", (rng.standard_normal((3, 3, 16, 16)) * 4).astype(np.float32), 0.995, 1e30


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, x, ratio, max_value in cases():
        s = torch_scale(x, ratio, max_value)
        check_against_diffusers(x, s, ratio, max_value)
        np.save(OUT / f"{name}_x.npy", x)
        np.save(OUT / f"{name}_params.npy", np.array([ratio, max_value], dtype=np.float64))
        np.save(OUT / f"{name}_s.npy", s.astype(np.float32))
        print(f"{name}: x {list(x.shape)}, ratio {ratio}, max {max_value}, s[:4] {s[:4]}")


if __name__ == "__main__":
    main()
