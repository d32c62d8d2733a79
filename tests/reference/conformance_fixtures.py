"""tests/fixtures/samplers/: what tests/sampler_conformance.rs reads (no torch in CI), and the
q_sample / v cases (add_noise, get_velocity) of sampler_conformance.py.

Files:
- timesteps.txt: `spacing T N offset: t t t ...` (diffusers' set_timesteps, descending) or
  `...: error` where diffusers' list is no chain; `improved:SPEC T 0 0: ...` (the port).
- betas_<schedule>_<T>_<rescale>.npy: diffusers' betas computed in float64 (--betas).
- steps.txt: one single-step case per line, tab-separated key=value fields: name, op, betas,
  t, shape, inputs (name:offset), outputs (name:offset:len), expect (ok|error|skip), flags
  (ddpm op's, besides the schedule), notes.
- steps_in.npy (float32): the inputs, concatenated; steps_want64.npy (float64): diffusers with
  float64 tables (or our semantics through its step, see notes); steps_want32.npy (float32):
  diffusers as shipped (NaN: none); steps_slack32.npy (float32): how far that float32 result is
  from the exact one, measured with diffusers' own step (conformance_refs.slack32).
"""
import os

import numpy as np
import torch

import conformance_cases as C
import diffusers_side as D
import improved_port as I
from conformance_refs import with_abar
from conformance_terms import F32_HALF_ULP, budget

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "samplers")


class Betas:
    """diffusers' float64 betas per schedule, as .npy files for --betas."""

    def __init__(self, tmp):
        self.tmp, self.files = tmp, {}

    @staticmethod
    def name(sched):
        n, _, _, T, r = sched
        return f"betas_{n}_{T}_{int(r)}.npy"

    def path(self, sched):
        n = self.name(sched)
        if n not in self.files:
            p = os.path.join(self.tmp, n)
            np.save(p, D.betas64(sched[0], sched[1], sched[2], sched[3], sched[4]))
            self.files[n] = (p, sched)
        return self.files[n][0]


_SEEN = {}


def _long_jump(c):
    """Whether rebuilding the chain through 1 - beta' (improved-diffusion's route) loses abar
    beyond 1e-11 relative: a beta' near 1 (cosine's tail). The f64 twin keeps abar exact."""
    if c["kept"] is None:
        return False
    exact = np.cumprod(1.0 - c["betas64"])[c["kept"]]
    via = np.cumprod(1.0 - I.spaced_betas(c["betas64"], c["kept"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return bool(np.nanmax(np.abs(via - exact) / exact) > 1e-11)


def wanted(c, r):
    """Which cases go to the fixtures: every thresholded one, every one where diffusers' DDIM
    cancels or gives NaN or the chain has a long jump, and of each op a fifth of the cases that
    run and a third of those ours must refuse."""
    special = any("cancels" in n or "NaN" in n for n in r["notes"]) or _long_jump(c)
    if c["threshold"] is not None or special and r["expect"] == "ok":
        return True
    key = (c["op"], r["expect"])
    _SEEN[key] = _SEEN.get(key, -1) + 1
    return _SEEN[key] % (3 if r["expect"] == "error" else 5) == 0


def velocity(ddpm, devices, stats, betas):
    """q-sample against add_noise; v from get_velocity read back by p-mean-variance (mean type v:
    pred_xstart recovers x_0 up to the f32 rounding of x_t and v), and the mse loss of v."""
    from sampler_conformance import compare
    for (name, b0, b1, T), rescale in [(s, r) for s in C.SCHEDULES if s[3] == 1000
                                       for r in (False, True)]:
        sched = (name, b0, b1, T, rescale)
        rng = np.random.default_rng(T + len(name) + rescale)
        x0 = rng.uniform(-1, 1, (3, 2, 3)).astype(np.float32)
        eps = rng.standard_normal((3, 2, 3)).astype(np.float32)
        out = rng.standard_normal((3, 2, 3)).astype(np.float32)
        t = np.array([T - 1, T // 2, 0], dtype=np.int64)
        s64 = D.make("ddpm", name, T, b0, b1, rescale, True)
        s32 = D.make("ddpm", name, T, b0, b1, rescale, False)
        tt = torch.from_numpy(t)
        x64 = s64.add_noise(torch.from_numpy(x0).double(), torch.from_numpy(eps).double(), tt)
        x32 = s32.add_noise(torch.from_numpy(x0), torch.from_numpy(eps), tt).numpy()
        v64 = s64.get_velocity(torch.from_numpy(x0).double(), torch.from_numpy(eps).double(), tt)
        a = s64.alphas_cumprod.numpy()[t].reshape(3, 1, 1)
        qterms = np.sqrt(a) * np.abs(x0) + np.sqrt(1 - a) * np.abs(eps)
        on32 = with_abar(s64, s32.alphas_cumprod.double()).add_noise(
            torch.from_numpy(x0).double(), torch.from_numpy(eps).double(), tt).numpy()
        # diffusers' float32 error, measured as in conformance_refs.per_sample.
        slack = np.abs(on32 - x64.numpy()) + np.abs(x32 - on32)
        xt32 = x64.numpy().astype(np.float32)
        vin = v64.numpy().astype(np.float32)
        vterms = np.sqrt(a) * np.abs(xt32) + np.sqrt(1 - a) * np.abs(vin)
        vt64 = v64.numpy()
        loss = ((vt64 - out) ** 2).reshape(3, -1).mean(axis=1)
        lterms = ((np.abs(vt64) + np.abs(out)) ** 2).reshape(3, -1).mean(axis=1)
        label = f"{name} rescale={rescale}"
        runs = [("f64", "q-sample", [], {"x_start": x0, "noise": eps}, "x_t", x64.numpy(),
                 qterms, 0.0, "add_noise"),
                ("f32", "q-sample", [], {"x_start": x0, "noise": eps}, "x_t",
                 x32.astype(np.float64), qterms, slack, "add_noise"),
                # pred_xstart from v recovers x_0 up to the float32 rounding of x_t and v.
                ("f64", "p-mean-variance", ["--mean-type", "v", "--clip-denoised", "false"],
                 {"x": xt32, "model_output": vin}, "pred_xstart", x0.astype(np.float64),
                 vterms, F32_HALF_ULP * vterms, "get_velocity (x_0 back)"),
                ("f64", "training-losses", ["--mean-type", "v"],
                 {"x_start": x0, "noise": eps, "model_output": out}, "losses", loss, lterms,
                 0.0, "get_velocity (mse)")]
        for form, op, flags, ins, output, want, tm, extra, what in runs:
            sf = C.schedule_flags(sched, betas.path(sched) if form == "f64" else None)
            for dev in devices:
                got, err = ddpm.op(op, sf + flags, dict(ins, t=t), dev)
                kind = f"{dev} vs diffusers {form} {what}"
                if got is None:
                    stats.count(kind, False, 1)
                    print(f"MISMATCH {kind} {label}: {err.strip()}")
                    continue
                compare(stats, kind, label, output, got[output], want,
                        budget(dev, op, output, want, tm) + extra)


def write(ts_lines, cases, betas):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "timesteps.txt"), "w") as f:
        f.write("# spacing T N steps_offset: timesteps (written by "
                "tests/reference/sampler_conformance.py)\n")
        f.write("\n".join(ts_lines) + "\n")
    used = set()
    ins, w64, w32, s32, lines = [], [], [], [], []
    pin = pout = 0
    for c, r in cases:
        bn = Betas.name(c["sched"])
        used.add(bn)
        fields = [c["name"], f"op={c['op']}", f"betas={bn}", "t=" + ",".join(map(str, c["t"])),
                  "shape=" + ",".join(map(str, [3] + c["shape"]))]
        names = []
        for n, a in c["inputs"].items():
            names.append(f"{n}:{pin}")
            ins.append(a.ravel())
            pin += a.size
        outs = []
        for n, ref in r["refs"].items():
            outs.append(f"{n}:{pout}:{ref['want64'].size}")
            w64.append(ref["want64"].ravel())
            w32.append(ref["want32"].astype(np.float32).ravel())
            s32.append(ref["slack32"].astype(np.float32).ravel())
            pout += ref["want64"].size
        fields += ["inputs=" + ",".join(names), "outputs=" + ",".join(outs),
                   f"expect={r['expect']}", "flags=" + " ".join(C.flags(c)),
                   "notes=" + "; ".join(r["notes"])]
        lines.append("\t".join(fields))
    with open(os.path.join(OUT, "steps.txt"), "w") as f:
        f.write("# one case per line, see tests/reference/conformance_fixtures.py\n")
        f.write("\n".join(lines) + "\n")
    np.save(os.path.join(OUT, "steps_in.npy"), np.concatenate(ins).astype(np.float32))
    np.save(os.path.join(OUT, "steps_want64.npy"), np.concatenate(w64).astype(np.float64))
    np.save(os.path.join(OUT, "steps_want32.npy"), np.concatenate(w32).astype(np.float32))
    np.save(os.path.join(OUT, "steps_slack32.npy"), np.concatenate(s32).astype(np.float32))
    for bn in used:
        p, sched = betas.files[bn]
        np.save(os.path.join(OUT, bn), np.load(p))
