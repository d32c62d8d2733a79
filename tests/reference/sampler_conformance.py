#!/usr/bin/env python3
"""Conformance of `ddpm timesteps` and the stepping ops of `ddpm op` with diffusers'
DDPMScheduler, DDIMScheduler and DDIMInverseScheduler and with improved-diffusion's formulas.

Run from the repository root with the venv's python (torch, diffusers) and a release binary:

    cargo build --release
    /work/V/bin/python tests/reference/sampler_conformance.py --ddpm target/release/ddpm
    /work/V/bin/python tests/reference/sampler_conformance.py --ddpm target/release/ddpm \
        --devices cpu --write-fixtures      # also rewrite tests/fixtures/samplers/

What it compares (every case: the last, a middle and the first kept step, one sample each):
- timesteps: every spacing and many (T, N, steps_offset), N = 1, N = T, N not dividing T, the
  lists diffusers makes that are no chain (N + 1 trailing steps ending in -1, leading + offset
  reaching T): ours must refuse those. improved-diffusion's section counts and ddimN.
- ddim-step, ddim-reverse-step, p-sample, p-mean-variance on the f64 CPU twin (--device cpu)
  and the GPU: every schedule diffusers shares with us (linear, scaled_linear = quad,
  squaredcos_cap_v2 = cosine, sigmoid), with and without rescale_betas_zero_snr; epsilon,
  sample and v_prediction; clip_sample with clip_sample_range; eta 0, 0.3, 1;
  use_clipped_model_output; set_alpha_to_one; fixed_small, fixed_large, learned,
  learned_range; thresholding (skipped with a note while ours says it is not available yet).
- q-sample against add_noise, and v (get_velocity) through p-mean-variance and the mse loss.

diffusers builds its tables in float32. Each case runs twice: ours on --betas (diffusers'
betas computed in float64) against diffusers with its tables rebuilt in float64 (CPU: the f64
result as the CLI writes it, float32, so within 2^-24 relative plus 1e-10 of the terms; GPU: the
budgets of `ddpm check`), and ours on its own --schedule against diffusers as shipped, within
that float32 result's own error, measured with diffusers' own step: its float64 step on its
float32 tables against the float64 ones (the tables' error) plus its float32 step against that
(its arithmetic). Where diffusers' float64 DDIM forms sqrt(1 - abar_prev - sigma^2) by a
cancellation that leaves noise or a NaN (eta near 1, abar_t near 0), the reference is the same
step without the cancellation. Where diffusers and the toolkit differ by design (DDIM steps to
the previous kept step, not t - T // N; no noise at a respaced DDPM chain's last step; the
inverse reads the model where x is), the reference is diffusers' own step given our semantics,
and the difference is printed. improved-diffusion's port is compared where its semantics are
ours (eps or x_0 prediction, clip range 1).

Also: diffusers' own scheduler tests (their dummy model and seeds) as shipped against their
constants, the DDPM one with float64 tables (tests/diffusers_scheduler_tests.rs meets that),
and short loops chained through `ddpm op` against diffusers run with our semantics.

Exit status 1 on any mismatch; a summary gives the cases and the worst errors per kind.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

import conformance_cases as C
import conformance_loops as L
import conformance_fixtures as FX
import conformance_timesteps as TS
from conformance_ops import REFS
from conformance_refs import expected_error
from conformance_terms import budget, terms


class Ddpm:
    """`ddpm` through subprocess, inputs and outputs as .npy in a scratch folder."""

    def __init__(self, exe, tmp):
        self.exe, self.tmp, self.n = exe, tmp, 0

    def _run(self, args):
        p = subprocess.run([self.exe] + args, capture_output=True, text=True)
        err = "\n".join(l for l in p.stderr.splitlines() if "XDG_RUNTIME_DIR" not in l)
        return p.returncode, p.stdout, err

    def timesteps(self, T, n, spacing, offset):
        args = ["timesteps", "--timesteps", str(T), "--spacing", spacing,
                "--steps-offset", str(offset)]
        rc, out, err = self._run(args + ([] if n is None else ["--steps", str(n)]))
        return ([int(v) for v in out.split()] if rc == 0 else None), err

    def op(self, op, flags, inputs, device):
        self.n += 1
        d = os.path.join(self.tmp, f"r{self.n}")
        os.makedirs(d)
        args = ["op", op, "--out-dir", os.path.join(d, "out"), "--device", device] + flags
        for name, a in inputs.items():
            np.save(os.path.join(d, f"{name}.npy"), a)
            args += ["--input", f"{name}={os.path.join(d, name + '.npy')}"]
        rc, _, err = self._run(args)
        if rc != 0:
            return None, err
        out = os.path.join(d, "out")
        return {f[:-4]: np.load(os.path.join(out, f)) for f in os.listdir(out)}, err


class Stats:
    """Counts and worst errors per comparison kind."""

    def __init__(self):
        self.rows, self.notes = {}, {}

    def count(self, kind, ok, n, err=0.0, ratio=0.0):
        r = self.rows.setdefault(kind, [0, 0, 0.0, 0.0])
        r[0] += n
        r[1] += 0 if ok else 1
        r[2], r[3] = max(r[2], err), max(r[3], ratio)

    def note(self, text):
        key = text.split(":")[0] if text.startswith("DDIM at") else text
        self.notes[key] = self.notes.get(key, 0) + 1

    def print(self):
        print(f"\n{'kind':<44} {'elements':>9} {'fails':>6} {'max |err|':>10} {'err/bound':>9}")
        for k, (n, f, e, r) in sorted(self.rows.items()):
            print(f"{k:<44} {n:>9} {f:>6} {e:>10.3g} {r:>9.3g}")
        print("\nknown differences (by design; checked against diffusers with our semantics):")
        for k, n in sorted(self.notes.items()):
            print(f"  {n:>4} x {k}")

    def failures(self):
        return sum(r[1] for r in self.rows.values())


def compare(stats, kind, label, name, got, want, bound):
    """Element-wise |got - want| <= bound, NaN in want meaning no reference there."""
    live = ~np.isnan(want)
    if not live.any():
        return True
    err = np.abs(got.astype(np.float64) - want)[live]
    ok = bool(np.all(err <= bound[live]))
    ratio = float(np.max(err / np.maximum(bound[live], 1e-300)))
    stats.count(kind, ok, int(live.sum()), float(err.max()), ratio)
    if not ok:
        i = int(np.argmax(err / np.maximum(bound[live], 1e-300)))
        print(f"MISMATCH {kind} {label} {name}: "
              f"got {got[live].ravel()[i]!r} want {want[live].ravel()[i]!r} "
              f"err {err.ravel()[i]:.3g} bound {bound[live].ravel()[i]:.3g}")
    return ok


def run_case(ddpm, c, devices, stats, betas_path):
    """One case on every device, both schedule forms; returns the references for fixtures."""
    C.prepare(c)
    why = expected_error(c)
    ins = dict(c["inputs"], t=np.array(c["t"], dtype=np.int64))
    if why is not None:
        for dev in devices:
            got, err = ddpm.op(c["op"], C.schedule_flags(c["sched"], None) + C.flags(c), ins,
                               dev)
            ok = got is None and len(err.strip()) > 0
            stats.count(f"refused as diffusers cannot ({dev})", ok, 1)
            if not ok:
                print(f"MISMATCH {c['name']} {c['op']} {C.flags(c)}: ours ran; expected an error"
                      f" ({why})")
        return dict(expect="error", refs={}, notes=[why])
    refs, notes = REFS[c["op"]](c)
    label = f"{c['name']} {c['op']} {' '.join(C.flags(c))} t={c['t']}"
    for name, r in refs.items():
        tm = terms(c, name)
        r["terms"] = tm
    for n in notes:
        stats.note(n)
    for dev in devices:
        for form, path in (("f64", betas_path), ("f32", None)):
            got, err = ddpm.op(c["op"], C.schedule_flags(c["sched"], path) + C.flags(c), ins, dev)
            if got is None and c["threshold"] is not None and "not available yet" in err:
                stats.note("SKIPPED: thresholding is not available yet in ours")
                return dict(expect="skip", refs=refs, notes=notes)
            if got is None:
                stats.count(f"{dev} ran", False, 1)
                print(f"MISMATCH {c['name']} {c['op']} {C.flags(c)} on {dev}: {err.strip()}")
                continue
            for name, r in refs.items():
                mine = budget(dev, c["op"], name, r["want64"], r["terms"])
                if form == "f64" and r.get("improved_differs") is not None:
                    gap = np.abs(got[name] - r["improved_differs"])
                    stats.count(f"{dev} DIFFERS from improved-diffusion (inverse, clip)", True,
                                gap.size, float(gap.max()), 0.0)
                if form == "f64":
                    compare(stats, f"{dev} vs diffusers f64", label, name, got[name],
                            r["want64"], mine)
                    if r["improved"] is not None:
                        compare(stats, f"{dev} vs improved-diffusion f64", label, name,
                                got[name], r["improved"], mine)
                else:
                    compare(stats, f"{dev} vs diffusers f32", label, name, got[name],
                            r["want32"].astype(np.float64), r["slack32"] + mine)
    return dict(expect="ok", refs=refs, notes=notes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--ddpm", required=True)
    ap.add_argument("--devices", default="cpu,gpu")
    ap.add_argument("--write-fixtures", action="store_true")
    ap.add_argument("--only", default="", help="run only cases whose name contains this")
    args = ap.parse_args()
    devices = args.devices.split(",")
    stats = Stats()
    with tempfile.TemporaryDirectory() as tmp:
        ddpm = Ddpm(os.path.abspath(args.ddpm), tmp)
        ts_lines = []
        if not args.only:
            TS.run(ddpm, stats, ts_lines)
        betas = FX.Betas(tmp)
        fixture_cases = []
        cases = [c for c in C.cases() if args.only in c["name"]]
        for c in cases:
            r = run_case(ddpm, c, devices, stats, betas.path(c["sched"]))
            if FX.wanted(c, r):
                fixture_cases.append((c, r))
        if not args.only:
            FX.velocity(ddpm, devices, stats, betas)
            L.shipped_constants(stats)
            L.loops(ddpm, devices, stats)
        stats.print()
        print(f"\n{len(cases)} single-step cases, {len(ts_lines)} timestep fixture lines")
        if args.write_fixtures:
            FX.write(ts_lines, fixture_cases, betas)
    fails = stats.failures()
    print(f"sampler conformance: {fails} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
