"""The references of each stepping op (see conformance_refs.py): returns ({output: dict(want64,
want32, slack32, improved)}, [notes]). Where diffusers and the toolkit differ by design, the
reference is diffusers' own step given our semantics, and a note says so."""
import numpy as np
import torch

import diffusers_side as D
from conformance_refs import chain_of, per_sample, schedulers, slack32, with_abar

DIFFUSERS_SPACINGS = ("leading", "linspace", "trailing")


def _ins(c, name, b, conv):
    return conv(c["inputs"][name][b:b + 1])


def _idx(c):
    return [c["kept"].index(t) for t in c["t"]]


def _improved_ok(c, clip_ok):
    """Whether improved-diffusion's port has this case's semantics: eps or x_0 prediction, its
    clip range of 1, no thresholding, and `clip_ok` (per op)."""
    return (c["pred"] in ("epsilon", "sample") and c["threshold"] is None
            and (not c["clip"] or c["clip_range"] == 1.0) and clip_ok)


def _pack(r, improved=None):
    out = {}
    for n, (w64, w32, on32) in r.items():
        out[n] = dict(want64=w64, want32=w32, slack32=slack32(w64, w32, on32), improved=None)
        if improved is not None and n in improved:
            out[n]["improved"] = improved[n]
    return out


def _x64(c, name):
    return c["inputs"][name].astype(np.float64)


def _own_step_notes(c, s64, prev_of):
    """Where diffusers' DDIMScheduler would step elsewhere (t - T // N), say so and by how much
    its own step differs."""
    kept, T, notes = c["kept"], c["sched"][3], []
    if c["chain"][0] == "improved":
        return ["improved-diffusion spacing: diffusers' DDIM step to the previous kept step"]
    n = len(kept)
    keys = ("prediction_type", "clip_sample", "clip_sample_range", "set_alpha_to_one",
            "timestep_spacing", "steps_offset", "thresholding", "dynamic_thresholding_ratio",
            "sample_max_value")
    own = D.make("ddim", *[c["sched"][i] for i in (0, 3, 1, 2, 4)], True,
                 **{k: v for k, v in s64.config.items() if k in keys})
    own.set_timesteps(n)
    for b, t in enumerate(c["t"]):
        if max(t - T // n, -1) == prev_of(t):
            continue
        x, out = _ins(c, "x", b, D_t64), _ins(c, "model_output", b, D_t64)
        z = _ins(c, "noise", b, D_t64) if c["eta"] > 0 else None
        y = own.step(out, t, x, eta=c["eta"], use_clipped_model_output=c["use_clipped"],
                     variance_noise=z).prev_sample
        ours = D.ddim_step(s64, out, t, x, prev_of(t), c["eta"], c["use_clipped"], z)[0]
        notes.append(f"DDIM at t={t}: diffusers steps to t - T // N = {t - T // n}, ours to the "
                     f"previous kept step {prev_of(t)} (its own step differs by "
                     f"{float((y - ours).abs().max()):.3g}); compared with its step to "
                     f"{prev_of(t)}")
    return notes


def _ddim_exact(c, prev_of, x0, abar):
    """The DDIM step in float64 with sqrt(1 - abar_prev - sigma^2) formed without cancellation:
    (1 - abar_prev) ((1 - eta^2) + eta^2 abar (1 - abar_prev) / (abar_prev (1 - abar))), both
    terms >= 0. diffusers subtracts, which near 0 (eta = 1, abar -> 0) leaves ~sqrt(2^-52)
    (float64) or ~sqrt(2^-24) (float32) of noise, or a NaN. Returns (prev, |eps|, u, the scale of
    u's rounding) per element; x0 is diffusers' processed pred_original_sample, abar its
    table (float64, or its float32 one upcast)."""
    first = 1.0 if c["alpha_one"] else abar[0]
    col = lambda v: np.array(v, dtype=np.float64).reshape([3] + [1] * len(c["shape"]))
    a = col([abar[t] for t in c["t"]])
    ap = col([abar[prev_of(t)] if prev_of(t) >= 0 else first for t in c["t"]])
    x, out = _x64(c, "x"), _x64(c, "model_output")
    sa, sb = np.sqrt(a), np.sqrt(1.0 - a)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = {"epsilon": out, "sample": (x - sa * out) / sb,
               "v_prediction": sa * out + sb * x}[c["pred"]]
        if c["use_clipped"]:
            eps = (x - sa * x0) / sb
        eta = c["eta"]
        sigma = np.where(ap >= 1.0, 0.0, eta * np.sqrt((1.0 - ap) / (1.0 - a)) * np.sqrt(
            np.maximum(1.0 - a / ap, 0.0)))
        u = (1.0 - ap) * ((1.0 - eta ** 2) + eta ** 2 * a * (1.0 - ap) / (ap * (1.0 - a)))
    z = _x64(c, "noise") if eta > 0 else 0.0
    prev = np.sqrt(ap) * x0 + np.sqrt(u) * eps + sigma * z
    # What the subtraction's rounding scales with: 1 - abar_prev, and sigma^2's factor
    # (1 - abar_prev) / (1 - abar) times the rounding of 1 - abar / abar_prev.
    mag = (1.0 - ap) * (1.0 + eta ** 2 / (1.0 - a))
    return prev, np.abs(eps), u, mag


def ddim(c):
    s64, s32 = schedulers(c, "ddim")
    kept = c["kept"]
    prev_of = lambda t: kept[kept.index(t) - 1] if kept.index(t) > 0 else -1
    notes = _own_step_notes(c, s64, prev_of)

    def step(s, conv, b):
        t = c["t"][b]
        z = _ins(c, "noise", b, conv) if c["eta"] > 0 else None
        return D.ddim_step(s, _ins(c, "model_output", b, conv), t, _ins(c, "x", b, conv),
                           prev_of(t), c["eta"], c["use_clipped"], z)

    r = per_sample(c, step, s64, s32, ["prev_sample", "pred_xstart"], c["alpha_one"])
    w64, w32, on32 = r["prev_sample"]
    fixed = []
    for w, table, x0 in ((w64, s64, r["pred_xstart"][0]), (on32, s32, r["pred_xstart"][2])):
        exact, eps, u, mag = _ddim_exact(c, prev_of, x0, table.alphas_cumprod.double().numpy())
        cond = lambda rel: eps * (np.sqrt(u + 8 * rel * mag) - np.sqrt(u))
        gap = np.abs(w - exact)
        # Substitute only where diffusers' own float64 cancellation explains the gap (or NaN).
        swap = np.isnan(w) | ((gap > 1e-12 * (np.abs(exact) + eps)) & (gap <= 2 * cond(2.0 ** -53)))
        fixed.append((np.where(swap, exact, w), swap.any(), cond(2.0 ** -24)))
    if fixed[0][1]:
        notes.append("DDIM: diffusers' float64 sqrt(1 - abar_prev - sigma^2) cancels here "
                     "(eta near 1, abar_t near 0; NaN where it rounds below 0): reference "
                     "without the cancellation")
    if np.isnan(w32).any():
        notes.append("DDIM: diffusers' float32 step gives NaN here (no float32 reference)")
    r["prev_sample"] = (fixed[0][0], w32, fixed[1][0])
    extra = {"prev_sample": fixed[1][2]}
    imp = None
    if _improved_ok(c, c["alpha_one"] and (c["use_clipped"] or not c["clip"])):
        z = _x64(c, "noise") if c["eta"] > 0 else 0.0
        y, x0 = chain_of(c).ddim_sample(_x64(c, "x"), _idx(c), _x64(c, "model_output"),
                                        {"epsilon": "eps", "sample": "xstart"}[c["pred"]],
                                        c["clip"], c["eta"], z)
        imp = {"prev_sample": y, "pred_xstart": x0}
    out = _pack(r, imp)
    # diffusers' float32 sqrt(1 - abar_prev - sigma^2): its rounding carried through the sqrt.
    out["prev_sample"]["slack32"] += extra["prev_sample"]
    return out, notes


def D_t64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def reverse(c):
    s64, s32 = schedulers(c, "inverse")
    kept, T, notes = c["kept"], c["sched"][3], []
    nxt = lambda t: kept[kept.index(t) + 1] if kept.index(t) + 1 < len(kept) else None
    if any(nxt(t) is None for t in c["t"]):
        notes.append("inverse DDIM past the last kept step: to abar = 0 (improved-diffusion's "
                     "alphas_cumprod_next); diffusers' step formula with that abar")
    notes.append("DDIMInverseScheduler reads the model at the step it moves to; here both get "
                 "the same model output and x at its own kept step")

    def step(s, conv, b):
        t, n = c["t"][b], nxt(c["t"][b])
        if n is None:
            s = with_abar(s, torch.cat([s.alphas_cumprod, s.alphas_cumprod[:1] * 0]))
            n = T
        return D.inverse_step(s, _ins(c, "model_output", b, conv), t, _ins(c, "x", b, conv), n)

    r = per_sample(c, step, s64, s32, ["next_sample", "pred_xstart"])
    imp = None
    if _improved_ok(c, True):
        y, x0 = chain_of(c).ddim_reverse_sample(_x64(c, "x"), _idx(c), _x64(c, "model_output"),
                                                {"epsilon": "eps", "sample": "xstart"}[c["pred"]],
                                                c["clip"])
        imp = {"next_sample": y, "pred_xstart": x0}
    out = _pack(r, imp)
    if imp is not None and c["clip"]:
        # improved-diffusion's ddim_reverse_sample re-derives eps from the clipped x_0; ours
        # keeps the model's eps (as DDIMInverseScheduler does), and ddim-reverse-step has no
        # use_clipped_model_output: measured, not asserted.
        out["next_sample"]["improved"] = None
        out["next_sample"]["improved_differs"] = imp["next_sample"]
        notes.append("inverse DDIM with clipping: improved-diffusion re-derives eps from the "
                     "clipped x_0, ours keeps the model's eps (reported, see the summary)")
    return out, notes


def _model_output(c, b, conv):
    out = _ins(c, "model_output", b, conv)
    if c["var"] == "learned":  # diffusers' learned variance is the variance, ours its log
        return torch.cat([out, torch.exp(_ins(c, "model_var", b, conv))], dim=1)
    if c["var"] == "learned_range":
        return torch.cat([out, _ins(c, "model_var", b, conv)], dim=1)
    return out


def psample(c):
    s64, s32 = schedulers(c, "ddpm")
    last, notes = c["kept"][0], []
    if last > 0:
        notes.append(f"DDPM at the chain's last step t={last} > 0: diffusers adds noise there, "
                     "ours none (improved-diffusion's rule); compared with diffusers' step "
                     "without noise")

    def step(s, conv, b):
        t = c["t"][b]
        z = _ins(c, "noise", b, conv) * (0.0 if t == last and t > 0 else 1.0)
        return D.ddpm_step(s, _model_output(c, b, conv), t, _ins(c, "x", b, conv), z)

    r = per_sample(c, step, s64, s32, ["sample", "pred_xstart"])
    imp = None
    if _improved_ok(c, True):
        idx = _idx(c)
        var = c["inputs"].get("model_var")
        m, _, lv, x0 = chain_of(c).p_mean_variance(
            _x64(c, "x"), idx, _x64(c, "model_output"), None if var is None else var.astype(
                np.float64), {"epsilon": "eps", "sample": "xstart"}[c["pred"]],
            D.VAR_TYPES[c["var"]], c["clip"])
        live = (np.array(idx) != 0).reshape([3] + [1] * (m.ndim - 1))
        imp = {"sample": m + live * np.exp(0.5 * lv) * _x64(c, "noise"), "pred_xstart": x0}
    return _pack(r, imp), notes


def pmv(c):
    """p-mean-variance: the mean and pred_xstart of DDPMScheduler.step without noise, the
    variances of its _get_variance; where those differ by design at the chain's last step (its
    clamp to 1e-20, its log-variances there) improved-diffusion's values (NaN: no float32
    reference)."""
    s64, s32 = schedulers(c, "ddpm")
    ch, idx, notes = chain_of(c), _idx(c), []
    var = c["inputs"].get("model_var")
    pm, pv, plv, _ = ch.p_mean_variance(
        _x64(c, "x"), idx, np.zeros(_x64(c, "x").shape), None if var is None else
        var.astype(np.float64), "xstart", D.VAR_TYPES[c["var"]], False)

    def step(s, conv, b):
        t = c["t"][b]
        zero = _ins(c, "x", b, conv) * 0
        y, x0 = D.ddpm_step(s, _model_output(c, b, conv), t, _ins(c, "x", b, conv), zero)
        mv = _ins(c, "model_var", b, conv) if var is not None else None
        v = {"fixed_small": lambda: s._get_variance(t) * (zero + 1),
             "fixed_large": lambda: s._get_variance(t) * (zero + 1),
             "learned": lambda: torch.exp(mv), "learned_range": lambda: torch.exp(
                 s._get_variance(t, predicted_variance=mv))}[c["var"]]()
        lv = torch.log(v) if c["var"] != "learned" else mv
        if idx[b] == 0 and c["var"] != "learned":
            keep_var = c["var"] == "fixed_large"
            v = v if keep_var else torch.from_numpy(pv[b:b + 1]).to(v.dtype) * np.nan
            lv = torch.from_numpy(plv[b:b + 1]).to(v.dtype) * np.nan
        return y, x0, v, lv

    r = per_sample(c, step, s64, s32,
                   ["model_mean", "pred_xstart", "model_variance", "model_log_variance"])
    # NaN marks the chain's last step where diffusers' values differ by design: improved's.
    for n, fill in (("model_variance", pv), ("model_log_variance", plv)):
        w64, w32, on32 = r[n]
        hole = np.isnan(w64)
        if hole.any():
            w64 = np.where(hole, fill, w64)
            on32 = np.where(hole, w64, on32)
            notes.append(f"{n} at the chain's last step: improved-diffusion's value (diffusers "
                         "clamps the posterior variance to 1e-20 and takes logs of that)")
        r[n] = (w64, w32, on32)
    imp = None
    if _improved_ok(c, True):
        m, v, lv, x0 = ch.p_mean_variance(
            _x64(c, "x"), idx, _x64(c, "model_output"), None if var is None else
            var.astype(np.float64), {"epsilon": "eps", "sample": "xstart"}[c["pred"]],
            D.VAR_TYPES[c["var"]], c["clip"])
        if c["var"] == "fixed_large":
            # The original DDPM code, which we follow, keeps beta_0 as the variance at t = 0;
            # improved-diffusion uses pv_1 there (its log-variance, log pv_1, is the same).
            v = np.where(np.array(idx).reshape([3] + [1] * (v.ndim - 1)) == 0,
                         r["model_variance"][0], v)
            notes.append("fixedlarge model_variance at chain index 0: beta_0 (the original), "
                         "improved-diffusion pv_1")
        imp = {"model_mean": m, "model_variance": v, "model_log_variance": lv, "pred_xstart": x0}
    return _pack(r, imp), notes


REFS = {"ddim-step": ddim, "ddim-reverse-step": reverse, "p-sample": psample,
        "p-mean-variance": pmv}
