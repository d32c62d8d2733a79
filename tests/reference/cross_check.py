#!/usr/bin/env python3
"""Cross-check `ddpm op` against an independent float64 numpy port of the original DDPM code
(hojonathanho/diffusion, GaussianDiffusion2 + utils), written from its formulas.

Usage: cross_check.py --ddpm PATH/TO/ddpm [--devices cpu,gpu] [--seed N]
For every op and option combination it writes seeded inputs as .npy, runs `ddpm op` on each
device, and compares every output with the numpy result. Exit 1 on any mismatch.
"""
import argparse
import itertools
import os
import subprocess
import sys
import tempfile

import numpy as np


# ---- the original's math, in float64 numpy ---------------------------------------------

def get_beta_schedule(name, beta_start, beta_end, T):
    if name == "quad":
        return np.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=np.float64) ** 2
    if name == "linear":
        return np.linspace(beta_start, beta_end, T, dtype=np.float64)
    if name in ("warmup10", "warmup50"):
        frac = 0.1 if name == "warmup10" else 0.5
        b = beta_end * np.ones(T, dtype=np.float64)
        w = int(T * frac)
        b[:w] = np.linspace(beta_start, beta_end, w, dtype=np.float64)
        return b
    if name == "const":
        return beta_end * np.ones(T, dtype=np.float64)
    if name == "jsd":
        return 1.0 / np.linspace(T, 1, T, dtype=np.float64)
    if name == "cosine":  # improved-diffusion, max beta 0.999
        f = lambda s: np.cos((s + 0.008) / 1.008 * np.pi / 2) ** 2
        return np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)])
    raise ValueError(name)


class Diffusion:
    def __init__(self, betas):
        self.betas = b = betas.astype(np.float64)
        self.T = len(b)
        a = 1.0 - b
        self.ac = np.cumprod(a)
        self.acp = np.append(1.0, self.ac[:-1])
        self.sqrt_ac = np.sqrt(self.ac)
        self.sqrt_1mac = np.sqrt(1.0 - self.ac)
        self.log_1mac = np.log(1.0 - self.ac)
        self.sqrt_recip = np.sqrt(1.0 / self.ac)
        self.sqrt_recipm1 = np.sqrt(1.0 / self.ac - 1)
        self.pv = b * (1.0 - self.acp) / (1.0 - self.ac)
        self.pv_log = np.log(np.append(self.pv[1], self.pv[1:]))
        self.c1 = b * np.sqrt(self.acp) / (1.0 - self.ac)
        self.c2 = (1.0 - self.acp) * np.sqrt(a) / (1.0 - self.ac)
        self.fixedlarge_log = np.log(np.append(self.pv[1], b[1:]))

    @staticmethod
    def ex(arr, t, shape):
        return arr[t].reshape([len(t)] + [1] * (len(shape) - 1)) * np.ones(shape)

    def q_mean_variance(self, x0, t):
        return (self.ex(self.sqrt_ac, t, x0.shape) * x0, self.ex(1.0 - self.ac, t, x0.shape),
                self.ex(self.log_1mac, t, x0.shape))

    def q_sample(self, x0, t, noise):
        return self.ex(self.sqrt_ac, t, x0.shape) * x0 + self.ex(self.sqrt_1mac, t, x0.shape) * noise

    def q_posterior(self, x0, xt, t):
        s = xt.shape
        return (self.ex(self.c1, t, s) * x0 + self.ex(self.c2, t, s) * xt, self.ex(self.pv, t, s),
                self.ex(self.pv_log, t, s))

    def p_mean_variance(self, x, t, out, var, mean_type, var_type, clip):
        s = x.shape
        if var_type == "learned":
            lv = var
            v = np.exp(lv)
        elif var_type == "learned-range":  # improved-diffusion
            frac = (var + 1) / 2
            lv = frac * self.ex(np.log(self.betas), t, s) + (1 - frac) * self.ex(self.pv_log, t, s)
            v = np.exp(lv)
        elif var_type == "fixedlarge":
            v, lv = self.ex(self.betas, t, s), self.ex(self.fixedlarge_log, t, s)
        else:
            v, lv = self.ex(self.pv, t, s), self.ex(self.pv_log, t, s)
        mc = (lambda z: np.clip(z, -1.0, 1.0)) if clip else (lambda z: z)
        if mean_type == "xprev":
            x0 = mc(self.ex(1.0 / self.c1, t, s) * out - self.ex(self.c2 / self.c1, t, s) * x)
            mean = out
        elif mean_type == "xstart":
            x0 = mc(out)
            mean = self.q_posterior(x0, x, t)[0]
        else:
            x0 = mc(self.ex(self.sqrt_recip, t, s) * x - self.ex(self.sqrt_recipm1, t, s) * out)
            mean = self.q_posterior(x0, x, t)[0]
        return mean, v, lv, x0

    def p_sample(self, x, t, out, var, noise, mean_type, var_type, clip):
        mean, _, lv, x0 = self.p_mean_variance(x, t, out, var, mean_type, var_type, clip)
        mask = (1.0 - (t == 0)).reshape([len(t)] + [1] * (x.ndim - 1))
        return mean + mask * np.exp(0.5 * lv) * noise, x0

    def vb_terms_bpd(self, x0, xt, t, out, var, mean_type, var_type, clip):
        tm, _, tlv = self.q_posterior(x0, xt, t)
        mm, _, mlv, px0 = self.p_mean_variance(xt, t, out, var, mean_type, var_type, clip)
        kl = meanflat(normal_kl(tm, tlv, mm, mlv)) / np.log(2.0)
        nll = meanflat(-dgll(x0, mm, 0.5 * mlv)) / np.log(2.0)
        return np.where(t == 0, nll, kl), px0

    def training_losses(self, x0, t, noise, out, var, mean_type, var_type, loss, clip):
        xt = self.q_sample(x0, t, noise)
        if loss == "kl":
            return self.vb_terms_bpd(x0, xt, t, out, var, mean_type, var_type, clip)[0]
        target = {"xprev": self.q_posterior(x0, xt, t)[0], "xstart": x0, "eps": noise}[mean_type]
        return meanflat((target - out) ** 2)

    def prior_bpd(self, x0):
        t = np.full(x0.shape[0], self.T - 1)
        m, _, lv = self.q_mean_variance(x0, t)
        return meanflat(normal_kl(m, lv, 0.0, 0.0)) / np.log(2.0)


def meanflat(x):
    return x.reshape(x.shape[0], -1).mean(axis=1)


def normal_kl(m1, lv1, m2, lv2):
    return 0.5 * (-1.0 + lv2 - lv1 + np.exp(lv1 - lv2) + (m1 - m2) ** 2 * np.exp(-lv2))


def approx_cdf(x):
    return 0.5 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def dgll(x, means, log_scales):
    c = x - means
    k = np.exp(-log_scales)
    cp = approx_cdf(k * (c + 1.0 / 255.0))
    cm = approx_cdf(k * (c - 1.0 / 255.0))
    x32 = x.astype(np.float32)  # the original compares a float32 tensor with -0.999
    with np.errstate(divide="ignore"):
        return np.where(x32 < np.float32(-0.999), np.log(np.maximum(cp, 1e-12)),
                        np.where(x32 > np.float32(0.999), np.log(np.maximum(1.0 - cm, 1e-12)),
                                 np.log(np.maximum(cp - cm, 1e-12))))


# ---- the cross-check ---------------------------------------------------------------------

def scales(d, name, ins, t, mean_type, var_type):
    """Per element, the magnitude of the terms an output is formed from (f32 rounding scales
    with it); None where the output's own magnitude is the scale."""
    if name == "x_t":
        s = ins["x_start"].shape
        return (Diffusion.ex(d.sqrt_ac, t, s) * np.abs(ins["x_start"])
                + Diffusion.ex(d.sqrt_1mac, t, s) * np.abs(ins["noise"]))
    if name == "posterior_mean":
        s = ins["x_start"].shape
        return (Diffusion.ex(d.c1, t, s) * np.abs(ins["x_start"])
                + Diffusion.ex(d.c2, t, s) * np.abs(ins["x_t"]))
    if name not in ("pred_xstart", "model_mean", "sample"):
        return None
    x = ins.get("x", ins.get("x_t")).astype(np.float64)
    out = np.abs(ins["model_output"].astype(np.float64))
    s = x.shape
    ex = lambda a: Diffusion.ex(a, t, s)
    if mean_type == "eps":
        x0 = ex(d.sqrt_recip) * np.abs(x) + ex(d.sqrt_recipm1) * out
    elif mean_type == "xstart":
        x0 = out
    else:
        x0 = out / ex(d.c1) + ex(d.c2 / d.c1) * np.abs(x)
    mean = out if mean_type == "xprev" else ex(d.c1) * x0 + ex(d.c2) * np.abs(x)
    if name == "pred_xstart":
        return x0
    if name == "model_mean":
        return mean
    var = ins.get("model_var")
    _, _, lv, _ = d.p_mean_variance(np.zeros(s), t, np.zeros(s), var, mean_type, var_type, False)
    return mean + np.exp(0.5 * lv) * np.abs(ins["noise"])


def make_inputs(rng, op, shape, T, mean_type, var_type):
    n = int(np.prod(shape))
    f = lambda a: np.asarray(a, dtype=np.float32).reshape(shape)
    pixels = lambda: f(rng.integers(0, 256, n) * 2.0 / 255.0 - 1.0)
    ins = {}
    names = {
        "q-mean-variance": ["x_start"], "q-sample": ["x_start", "noise"],
        "q-posterior-mean-variance": ["x_start", "x_t"], "p-mean-variance": ["x", "model_output"],
        "p-sample": ["x", "model_output", "noise"],
        "normal-kl": ["mean1", "logvar1", "mean2", "logvar2"],
        "discretized-gaussian-log-likelihood": ["x", "means", "log_scales"],
        "vb-terms-bpd": ["x_start", "x_t", "model_output"],
        "training-losses": ["x_start", "noise", "model_output"], "prior-bpd": ["x_start"],
    }[op]
    for name in names:
        if name == "x_start" or (name == "x" and op == "discretized-gaussian-log-likelihood"):
            ins[name] = pixels()
        elif name == "noise":
            v = rng.standard_normal(n)
            v[:2] = [6.0, -6.0]
            ins[name] = f(v)
        elif name == "model_output":
            ins[name] = f(rng.uniform(-1.2, 1.2, n) if mean_type == "xstart" else rng.standard_normal(n))
        elif name in ("logvar1", "logvar2"):
            ins[name] = f(rng.uniform(-30, 5, n))
        elif name in ("mean1", "mean2"):
            ins[name] = f(2 * rng.standard_normal(n))
        elif name == "means":
            ins[name] = f(rng.uniform(-1.1, 1.1, n))
        elif name == "log_scales":
            ins[name] = f(rng.uniform(-15, 2.5, n))
        else:
            ins[name] = f(1.5 * rng.standard_normal(n))
    if op in ("p-mean-variance", "p-sample", "vb-terms-bpd", "training-losses"):
        if var_type == "learned":
            ins["model_var"] = f(rng.uniform(-30, 5, n))
        elif var_type == "learned-range":
            ins["model_var"] = f(rng.uniform(-1, 1, n))
    if op not in ("normal-kl", "discretized-gaussian-log-likelihood", "prior-bpd"):
        t = np.array([0, 1, T - 1] + list(rng.integers(0, T, shape[0] - 3)), dtype=np.int64)
        ins["t"] = t
    return ins


def expected(d, op, ins, mean_type, var_type, loss, clip):
    g = lambda k: ins[k].astype(np.float64)
    var = g("model_var") if "model_var" in ins else None
    t = ins.get("t")
    if op == "q-mean-variance":
        return dict(zip(["mean", "variance", "log_variance"], d.q_mean_variance(g("x_start"), t)))
    if op == "q-sample":
        return {"x_t": d.q_sample(g("x_start"), t, g("noise"))}
    if op == "q-posterior-mean-variance":
        return dict(zip(["posterior_mean", "posterior_variance", "posterior_log_variance_clipped"],
                        d.q_posterior(g("x_start"), g("x_t"), t)))
    if op == "p-mean-variance":
        return dict(zip(["model_mean", "model_variance", "model_log_variance", "pred_xstart"],
                        d.p_mean_variance(g("x"), t, g("model_output"), var, mean_type, var_type, clip)))
    if op == "p-sample":
        return dict(zip(["sample", "pred_xstart"], d.p_sample(g("x"), t, g("model_output"), var, g("noise"),
                                                               mean_type, var_type, clip)))
    if op == "normal-kl":
        return {"kl": normal_kl(g("mean1"), g("logvar1"), g("mean2"), g("logvar2"))}
    if op == "discretized-gaussian-log-likelihood":
        return {"log_probs": dgll(g("x"), g("means"), g("log_scales"))}
    if op == "vb-terms-bpd":
        return dict(zip(["output", "pred_xstart"], d.vb_terms_bpd(g("x_start"), g("x_t"), t, g("model_output"),
                                                                  var, mean_type, var_type, clip)))
    if op == "training-losses":
        # x_t rounded to float32, as the original materialises it and as the kernels hold it.
        xt32 = d.q_sample(g("x_start"), t, g("noise")).astype(np.float32).astype(np.float64)
        if loss == "kl":
            return {"losses": d.vb_terms_bpd(g("x_start"), xt32, t, g("model_output"), var, mean_type,
                                             var_type, clip)[0]}
        target = {"xprev": d.q_posterior(g("x_start"), xt32, t)[0], "xstart": g("x_start"),
                  "eps": g("noise")}[mean_type]
        return {"losses": meanflat((target - g("model_output")) ** 2)}
    if op == "prior-bpd":
        return {"prior_bpd": d.prior_bpd(g("x_start"))}
    raise ValueError(op)


# Relative budgets per output kind for GPU float32 results (the reasons are written next to
# `check::tolerance` in src/check.rs); CPU results differ from numpy only by the final float32
# rounding of the output file (plus the scale of the terms).
GPU_REL = {"kl": 2e-5, "log_probs": 3e-5, "output": 4e-5, "losses": 4e-5, "prior_bpd": 4e-5,
           "sample": 1e-5, "model_variance": 1e-5}


def compare(name, got, want, scale, device):
    rel = 2e-7 if device == "cpu" else GPU_REL.get(name, 2e-6)
    floor = 1e-5 if name == "log_probs" and device == "gpu" else 1e-12
    s = np.abs(want) if scale is None else np.maximum(scale, np.abs(want))
    bad = np.abs(got - want) > floor + rel * s
    if bad.any():
        i = int(np.argmax(np.abs(got - want) - (floor + rel * s)))
        return f"{name}: {int(bad.sum())} of {bad.size} off; worst at {i}: got {got.flat[i]!r}, want {want.flat[i]!r}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ddpm", required=True)
    ap.add_argument("--devices", default="cpu,gpu")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    cases = []
    for sched in ("linear", "cosine"):
        for op in ("q-mean-variance", "q-sample", "q-posterior-mean-variance", "prior-bpd", "normal-kl",
                   "discretized-gaussian-log-likelihood"):
            cases.append((sched, op, "eps", "fixedlarge", "mse", None))
        for op, (mt, vt, clip) in itertools.product(
                ("p-mean-variance", "p-sample", "vb-terms-bpd"),
                itertools.product(("eps", "xstart", "xprev"),
                                  ("fixedsmall", "fixedlarge", "learned", "learned-range"), (True, False))):
            cases.append((sched, op, mt, vt, "mse", clip))
        for mt, vt, loss in itertools.product(("eps", "xstart", "xprev"),
                                              ("fixedsmall", "fixedlarge", "learned", "learned-range"),
                                              ("mse", "kl")):
            if not (loss == "mse" and vt.startswith("learned")):
                cases.append((sched, "training-losses", mt, vt, loss, None))
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for k, (sched, op, mt, vt, loss, clip) in enumerate(cases):
            T = 1000
            d = Diffusion(get_beta_schedule(sched, 1e-4, 0.02, T))
            shape = (5, 3, 7, 11)  # 231 per sample: not a multiple of the workgroup size
            ins = make_inputs(rng, op, shape, T, mt, vt)
            case_dir = os.path.join(tmp, str(k))
            os.makedirs(case_dir)
            args_in = []
            for name, arr in ins.items():
                p = os.path.join(case_dir, name + ".npy")
                np.save(p, arr)
                args_in += ["--input", f"{name}={p}"]
            opts = ["--schedule", sched, "--mean-type", mt, "--var-type", vt, "--loss-type", loss]
            default_clip = op in ("p-mean-variance", "p-sample")
            eff_clip = default_clip if clip is None else clip
            if clip is not None:
                opts += ["--clip-denoised", "true" if clip else "false"]
            want = expected(d, op, ins, mt, vt, loss, eff_clip)
            for dev in args.devices.split(","):
                out = os.path.join(case_dir, "out-" + dev)
                r = subprocess.run([args.ddpm, "op", op, "--out-dir", out, "--device", dev] + args_in + opts,
                                   capture_output=True, text=True)
                label = f"{sched} {op} {mt} {vt} {loss} clip={eff_clip} on {dev}"
                if r.returncode != 0:
                    failures.append(f"{label}: exit {r.returncode}: {r.stderr.strip()}")
                    continue
                for name, w in want.items():
                    got = np.load(os.path.join(out, name + ".npy")).astype(np.float64)
                    if got.shape != np.shape(w):
                        failures.append(f"{label}: {name} shape {got.shape} != {np.shape(w)}")
                        continue
                    sc = scales(d, name, ins, ins.get("t"), mt, vt)
                    msg = compare(name, got, np.asarray(w, dtype=np.float64), sc, dev)
                    checked += 1
                    if msg:
                        failures.append(f"{label}: {msg}")
    for f in failures:
        print("FAIL", f)
    print(f"{checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
