"""Per element, the sum of the magnitudes of the terms an output is formed from (float32 rounding
scales with it, not with a clipped or cancelling result), as src/check/scales.rs forms it, and
our error budget per device."""
import numpy as np

from conformance_refs import chain_of

F32_HALF_ULP = 2.0 ** -24


def _rows(c):
    ch = chain_of(c)
    idx = [c["kept"].index(t) for t in c["t"]]
    shape = [3] + [1] * len(c["shape"])
    return ch, idx, (lambda v: np.asarray(v, dtype=np.float64).reshape(shape))


def _x0_eps(c, a, b, x, o):
    """|terms| of x_0 and eps from the model's output (a = sqrt(abar), b = sqrt(1 - abar))."""
    if c["pred"] == "sample":
        return o, (x + a * o) / b
    if c["pred"] == "v_prediction":
        return a * x + b * o, a * o + b * x
    return (x + b * o) / a, o


def terms(c, name):
    if name == "model_log_variance" and c["var"] == "learned_range":
        # frac log beta + (1 - frac) log pv: rounding scales with both logs, and 1 - frac
        # cancels where v is near 1.
        ch, idx, col = _rows(c)
        return np.abs(col([np.log(ch.betas[i]) for i in idx])) + np.abs(
            col([ch.pv_log[i] for i in idx])) + 0.0 * c["inputs"]["x"]
    if name not in ("pred_xstart", "model_mean", "sample", "prev_sample", "next_sample"):
        return None
    ch, idx, col = _rows(c)
    x, o = np.abs(c["inputs"]["x"].astype(np.float64)), np.abs(
        c["inputs"]["model_output"].astype(np.float64))
    z = np.abs(c["inputs"]["noise"].astype(np.float64)) if "noise" in c["inputs"] else 0.0
    abar = col([ch.abar[i] for i in idx])
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = np.sqrt(abar), np.sqrt(1.0 - abar)
        x0, eps = _x0_eps(c, a, b, x, o)
        if c["op"] in ("ddim-step", "ddim-reverse-step"):
            if c["op"] == "ddim-step":
                first = 1.0 if c["alpha_one"] else float(np.cumprod(1.0 - c["betas64"])[0])
                tgt = col([ch.abar[i - 1] if i > 0 else first for i in idx])
                sigma = c["eta"] * np.sqrt((1.0 - tgt) / (1.0 - abar)) * np.sqrt(
                    np.maximum(1.0 - abar / tgt, 0.0))
                if c["use_clipped"]:
                    eps = np.maximum(eps, (x + a * x0) / b)
            else:
                tgt = col([ch.abar[i + 1] if i + 1 < len(ch.abar) else 0.0 for i in idx])
                sigma = 0.0
            direction = np.sqrt(np.maximum(1.0 - tgt - sigma ** 2, 0.0))
            if name == "pred_xstart":
                return x0 + 0.0 * x
            return np.sqrt(tgt) * x0 + direction * eps + sigma * z
        mean = col([ch.c1[i] for i in idx]) * x0 + col([ch.c2[i] for i in idx]) * x
        if name == "pred_xstart":
            return x0 + 0.0 * x
        if name == "model_mean":
            return mean
        var = c["inputs"].get("model_var")
        _, _, lv, _ = ch.p_mean_variance(
            np.zeros(x.shape), idx, np.zeros(x.shape), None if var is None else
            var.astype(np.float64), "xstart", {"fixed_small": "fixedsmall", "fixed_large":
                                               "fixedlarge", "learned": "learned",
                                               "learned_range": "learned-range"}[c["var"]],
            False)
        return mean + np.exp(0.5 * lv) * z


def budget(device, op, name, want, tm):
    """Our error bound per element against an exact reference `want`.

    cpu: the f64 twin's result written as float32 by the CLI: half an ulp (2^-24 relative),
    plus 1e-10 of the terms for the f64 formulas' own rounding and their arrangement.
    gpu: `ddpm check`'s budgets (src/check/scales.rs), each with its reason there: a few ulps of
    the terms for the steps' linear combinations (2e-6 for DDIM, 1e-6 for mean and x_0), exp's
    64 ulp on llvmpipe where the noise is scaled by exp(0.5 logvar) (1e-5) and for the learned
    variances, the log-variance tables' rounding (1e-6)."""
    mag = np.abs(np.nan_to_num(want))
    scale = mag if tm is None else np.maximum(np.nan_to_num(tm, posinf=0.0), mag)
    if device == "cpu":
        return F32_HALF_ULP * mag + 1e-10 * scale + 1e-300
    rel = {"prev_sample": 2e-6, "next_sample": 2e-6, "sample": 1e-5, "model_variance": 1e-5,
           "losses": 4e-5, "x_t": 1e-6}.get(name, 1e-6)
    if op in ("ddim-step", "ddim-reverse-step"):
        rel = 2e-6
    return rel * scale + 1e-30
