#!/usr/bin/env python3
"""Fixtures of torch's CPU noise stream for src/cpu/kernels/torch_randn.rs, and a bulk bit-for-bit check.

Run from the repository root:

    /work/V/bin/python tests/reference/torch_noise.py          # rewrite tests/fixtures/torch_noise/
    /work/V/bin/python tests/reference/torch_noise.py --bulk   # also compare >= 10^7 values

Each fixture case is a seed and a sequence of `torch.randn(size)` calls on one generator; its
.npy holds the calls' outputs concatenated (float32, flat). manifest.txt lists
`name seed size size ...` per case; tests/torch_randn.rs replays every case and demands equal bits.

--bulk dumps a few million values per seed (one large call, then thousands of calls of mixed
small and large sizes, so the cached normal and the tail rule are crossed many times, and one
sequence of 10^5 small calls for the scalar path) to a
temporary directory and runs `cargo test --test torch_randn bulk` with TORCH_NOISE_BULK pointing
at it; that test prints and asserts the count of mismatching bits.

Along the way it asserts the facts the Rust side relies on: `torch.Generator().manual_seed(s)`
gives the global generator's stream, and a seed of 2^32 or more acts as its low 32 bits.
The values are those of torch's AVX2 kernel (also used at the AVX-512 level); at the DEFAULT
level torch computes differently and the script refuses to write fixtures.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch_noise")

SIZES = [1, 2, 7, 15, 16, 17, 31, 32, 33, 1000, 3 * 32 * 32]
SEEDS = [0, 1, 42, 2**31 - 1, 2**32 + 5, 0xDEAD_BEEF_0BAD_F00D]


def cases():
    """(name, seed, sizes) of every fixture."""
    out = []
    for i, seed in enumerate(SEEDS):
        out.append((f"sizes_seed{i}", seed, SIZES))
        # The same sizes in reverse: small draws after large ones, the cache crossing calls.
        out.append((f"reversed_seed{i}", seed, SIZES[::-1]))
    # A pipeline: x_T of [4, 3, 8, 8], then one draw of the same shape per step.
    out.append(("pipeline_4x3x8x8", 42, [4 * 3 * 8 * 8] * 11))
    # [1, 1, 5, 5] is 25 elements: the 16-block path with a tail of 9, every step.
    out.append(("pipeline_1x1x5x5", 7, [25] * 11))
    # [1, 1, 3, 3] is 9 elements: the scalar path, an odd count so the cache carries over.
    out.append(("pipeline_1x1x3x3", 7, [9] * 11))
    # Splits that torch treats alike or not (tests/torch_randn.rs checks which).
    for name, sizes in [
        ("split_32", [32]),
        ("split_16_16", [16, 16]),
        ("split_33", [33]),
        ("split_17_16", [17, 16]),
        ("split_2", [2]),
        ("split_1_1", [1, 1]),
        ("split_1_16_1", [1, 16, 1]),
    ]:
        out.append((name, 3, sizes))
    return out


def draw(seed, sizes, explicit):
    """The concatenated outputs of torch.randn(size) for each size, on one generator."""
    if explicit:
        g = torch.Generator().manual_seed(seed)
        parts = [torch.randn(n, generator=g) for n in sizes]
    else:
        torch.manual_seed(seed)
        parts = [torch.randn(n) for n in sizes]
    return torch.cat(parts).numpy().astype(np.float32)


def check_facts():
    for seed in SEEDS:
        a = draw(seed, SIZES, explicit=False)
        b = draw(seed, SIZES, explicit=True)
        assert a.tobytes() == b.tobytes(), f"seed {seed}: Generator().manual_seed differs"
        if seed >= 2**32:
            c = draw(seed & 0xFFFF_FFFF, SIZES, explicit=False)
            assert a.tobytes() == c.tobytes(), f"seed {seed}: not its low 32 bits"
    print("facts: Generator().manual_seed == manual_seed; seeds >= 2^32 act as their low 32 bits")


def write_fixtures():
    os.makedirs(OUT, exist_ok=True)
    lines = [
        f"# torch {torch.__version__}, cpu capability {torch.backends.cpu.get_cpu_capability()}",
        "# name seed size... (written by tests/reference/torch_noise.py)",
    ]
    total = 0
    for name, seed, sizes in cases():
        values = draw(seed, sizes, explicit=name.startswith("pipeline"))
        np.save(os.path.join(OUT, f"{name}.npy"), values)
        lines.append(" ".join([name, str(seed)] + [str(n) for n in sizes]))
        total += values.nbytes
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(cases())} cases, {total} bytes of values, to {os.path.normpath(OUT)}")


def write_bulk(directory, target):
    """Per seed: one call of 2^20, then random sizes until the seed holds its share; and one
    sequence of 10^5 small calls, so the scalar path gets about 8 * 10^5 values of its own."""
    rng = np.random.default_rng(20240611)
    seeds = [0, 1, 42, 987_654_321, 2**32 + 5, 2**64 - 1]
    per_seed = -(-target // len(seeds))
    sequences = []
    for seed in seeds:
        sizes, count = [1 << 20], 1 << 20
        while count < per_seed:
            # A third small (scalar path), the rest up to 3 * 64 * 64 (tails of every length).
            n = int(rng.integers(1, 16) if rng.random() < 1 / 3 else rng.integers(16, 12289))
            sizes.append(n)
            count += n
        sequences.append((seed, sizes))
    sequences.append((31337, [int(n) for n in rng.integers(1, 16, size=100_000)]))
    lines, total = [], 0
    for i, (seed, sizes) in enumerate(sequences):
        values = draw(seed, sizes, explicit=False)
        np.save(os.path.join(directory, f"bulk_{i}.npy"), values)
        lines.append(" ".join([f"bulk_{i}", str(seed)] + [str(n) for n in sizes]))
        total += values.size
    with open(os.path.join(directory, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return total


def run_bulk(target):
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    with tempfile.TemporaryDirectory(prefix="torch_noise_bulk_") as d:
        total = write_bulk(d, target)
        print(f"bulk: {total} torch values in {d}; running the Rust test")
        env = dict(os.environ, TORCH_NOISE_BULK=d)
        cmd = ["cargo", "test", "--test", "torch_randn", "bulk", "--", "--nocapture"]
        res = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
        report = re.findall(r"^bulk: .*$", res.stdout + res.stderr, re.M)
        print("\n".join(report) if report else res.stdout + res.stderr)
        return res.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bulk", action="store_true", help="also run the bulk comparison")
    ap.add_argument("--bulk-values", type=int, default=10_000_000)
    args = ap.parse_args()
    cap = torch.backends.cpu.get_cpu_capability()
    if cap == "DEFAULT":
        sys.exit("torch runs its DEFAULT kernels here: these are not the AVX2 values the Rust code reproduces")
    check_facts()
    write_fixtures()
    if args.bulk:
        sys.exit(run_bulk(args.bulk_values))


if __name__ == "__main__":
    main()
