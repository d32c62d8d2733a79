"""References for one single-step case of sampler_conformance.py.

For each output: want64 (diffusers with float64 tables, or where diffusers has no such step the
improved-diffusion port), want32 (diffusers as shipped, float32 tables), slack32 (how far
diffusers' float32 result is from the exact one: the float32 tables' error carried through its
step, plus its float32 arithmetic's error, both measured with its own step), improved (the
improved-diffusion port where its semantics are ours), and notes on the documented
differences, where the reference is diffusers' own step with our semantics."""
import copy

import numpy as np
import torch

import diffusers_side as D
import improved_port as I

def expected_error(c):
    """Why ours must refuse case c, or None."""
    if c["kept"] is None:
        return "diffusers' list is not a chain (N + 1 steps, a -1, or a step >= T)"
    abar = np.cumprod(1.0 - c["betas64"])
    if c["pred"] == "epsilon" and any(abar[k] == 0.0 for k in c["kept"]):
        return "eps prediction at abar_t = 0 (zero terminal SNR): diffusers divides by 0 there"
    return None


def _config(c, kind):
    name, b0, b1, T, rescale = c["sched"]
    cfg = dict(prediction_type=c["pred"], clip_sample=c["clip"], clip_sample_range=c["clip_range"])
    if kind == "ddim":
        cfg["set_alpha_to_one"] = c["alpha_one"]
    if kind == "ddpm":
        cfg["variance_type"] = c["var"]
    if c["threshold"] is not None:
        cfg.update(thresholding=True, dynamic_thresholding_ratio=c["threshold"][0],
                   sample_max_value=c["threshold"][1])
    if c["chain"][0] in ("leading", "linspace", "trailing") and kind != "inverse":
        cfg.update(timestep_spacing=c["chain"][0], steps_offset=c["chain"][1])
    return (kind, name, T, b0, b1, rescale), cfg


def schedulers(c, kind):
    """(float64-table scheduler, float32 one), timesteps set as the chain says."""
    args, cfg = _config(c, kind)
    pair = [D.make(*args[:3], args[3], args[4], args[5], f64, **cfg) for f64 in (True, False)]
    for s in pair:
        if kind == "ddpm" and c["chain"][0] == "improved":
            s.set_timesteps(timesteps=sorted(c["kept"], reverse=True))
        elif kind == "ddpm" and c["chain"][0] != "full":
            s.set_timesteps(c["chain"][2])
    return pair


def with_abar(s, abar, alpha_one=True):
    """A shallow copy of scheduler s over the table `abar` (1 / abar_0 recomputed from it)."""
    s = copy.copy(s)
    s.alphas_cumprod = abar
    first = torch.tensor(1.0, dtype=abar.dtype) if alpha_one else abar[0]
    s.final_alpha_cumprod = s.initial_alpha_cumprod = first
    return s


def _t64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def _t32(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def per_sample(c, step, s64, s32, names, alpha_one=True):
    """Run `step(s, tensor, b)` (-> tuple of arrays named `names`) for each sample b: with
    diffusers' float64 tables, as shipped (float32), and its float64 step on its float32 tables
    (upcast). Returns {name: (want64, want32, on32)} over the batch."""
    res = {n: ([], [], []) for n in names}
    for b in range(3):
        run = lambda s, conv: dict(zip(names, [np.asarray(v, dtype=np.float64) for v in
                                               step(s, conv, b)]))
        w64, w32 = run(s64, _t64), run(s32, _t32)
        on32 = run(with_abar(s64, s32.alphas_cumprod.double(), alpha_one), _t64)
        for n in names:
            for k, v in enumerate((w64, w32, on32)):
                res[n][k].append(v[n])
    return {n: tuple(np.concatenate(v) for v in res[n]) for n in names}


def slack32(want64, want32, on32):
    """A bound on |want32 - exact|: the float32 tables' error carried through diffusers' own
    step (on32 - want64) plus its float32 arithmetic's error (want32 - on32). NaN counts as 0
    (a sqrt of a cancellation rounded below 0, see conformance_ops.ddim: such elements get their
    own bound, or have no float32 reference)."""
    return (np.nan_to_num(np.abs(on32 - want64), nan=0.0)
            + np.nan_to_num(np.abs(want32 - on32), nan=0.0))


def chain_of(c):
    return I.Diffusion(I.spaced_betas(c["betas64"], c["kept"]))
