"""A small float64 numpy port of the parts of openai/improved-diffusion that the samplers follow.

improved-diffusion cannot be installed here (it is not on a package index), so these functions
were written from reading its source (improved_diffusion/gaussian_diffusion.py: the tables of
GaussianDiffusion.__init__, p_mean_variance, ddim_sample, ddim_reverse_sample;
improved_diffusion/respace.py: space_timesteps and SpacedDiffusion's betas). Only the formulas
are reproduced, in our own words; no model is called: the model's outputs are inputs here.

Its conventions, which ours follow unless a comment in sampler_conformance.py says otherwise:
- clip_denoised clamps pred_xstart to [-1, 1];
- fixed_large uses [pv_1, beta_1, ...] as variance AND log-variance at t = 0 (the original DDPM
  code, which the toolkit follows, keeps beta_0 as the variance there);
- DDIM re-derives eps from the (clipped) pred_xstart, and has no noise at t = 0;
- the inverse DDIM moves t to t + 1 with alphas_cumprod_next (0 after the last step).
"""
import numpy as np


def space_timesteps(num_timesteps, spec):
    """The kept steps (a sorted list) of `spec`: "ddimN" or comma-separated section counts."""
    if spec.startswith("ddim"):
        want = int(spec[len("ddim"):])
        for stride in range(1, num_timesteps):
            if len(range(0, num_timesteps, stride)) == want:
                return sorted(range(0, num_timesteps, stride))
        raise ValueError(f"no integer stride gives {want} steps")
    counts = [int(c) for c in spec.split(",")]
    per, extra = divmod(num_timesteps, len(counts))
    kept, start = [], 0
    for i, count in enumerate(counts):
        size = per + (1 if i < extra else 0)
        if size < count:
            raise ValueError(f"a section of {size} steps cannot hold {count}")
        stride = 1 if count <= 1 else (size - 1) / (count - 1)
        pos = 0.0
        for _ in range(count):
            kept.append(start + round(pos))  # Python's round: ties to even
            pos += stride
        start += size
    return sorted(set(kept))


def spaced_betas(betas, kept):
    """SpacedDiffusion: beta'_i = 1 - abar[k_i] / abar[k_{i-1}], abar before k_0 being 1."""
    abar = np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))
    out, last = [], 1.0
    for k in sorted(kept):
        out.append(1.0 - abar[k] / last)
        last = abar[k]
    return np.array(out)


class Diffusion:
    """GaussianDiffusion's tables, float64."""

    def __init__(self, betas):
        b = np.asarray(betas, dtype=np.float64)
        self.betas = b
        self.abar = np.cumprod(1.0 - b)
        self.abar_prev = np.append(1.0, self.abar[:-1])
        self.abar_next = np.append(self.abar[1:], 0.0)
        self.sqrt_recip = np.sqrt(1.0 / self.abar)
        self.sqrt_recipm1 = np.sqrt(1.0 / self.abar - 1.0)
        self.pv = b * (1.0 - self.abar_prev) / (1.0 - self.abar)
        pv1 = self.pv[1] if len(b) > 1 else b[0]  # T = 1 has no pv_1: the toolkit's choice
        self.pv_log = np.log(np.append(pv1, self.pv[1:]))
        self.c1 = b * np.sqrt(self.abar_prev) / (1.0 - self.abar)
        self.c2 = (1.0 - self.abar_prev) * np.sqrt(1.0 - b) / (1.0 - self.abar)
        large = np.append(pv1, b[1:])
        self.large, self.large_log = large, np.log(large)

    def _row(self, table, t, shape):
        return np.asarray(table)[t].reshape([len(t)] + [1] * (len(shape) - 1))

    def p_mean_variance(self, x, t, out, var, mean_type, var_type, clip):
        """(mean, variance, log_variance, pred_xstart); mean_type eps|xstart, var_type
        fixedsmall|fixedlarge|learned|learned-range; t are chain indices."""
        r = lambda table: self._row(table, t, x.shape)
        if var_type == "learned":
            lv = var
        elif var_type == "learned-range":
            frac = (var + 1.0) / 2.0
            lv = frac * r(np.log(self.betas)) + (1.0 - frac) * r(self.pv_log)
        elif var_type == "fixedlarge":
            lv = r(self.large_log) * np.ones_like(x)
        else:
            lv = r(self.pv_log) * np.ones_like(x)
        if var_type == "fixedlarge":
            v = r(self.large) * np.ones_like(x)
        elif var_type == "fixedsmall":
            v = r(self.pv) * np.ones_like(x)
        else:
            v = np.exp(lv)
        if mean_type == "xstart":
            x0 = out
        elif mean_type == "eps":
            x0 = r(self.sqrt_recip) * x - r(self.sqrt_recipm1) * out
        else:
            raise ValueError(f"improved-diffusion has no mean type {mean_type} here")
        if clip:
            x0 = np.clip(x0, -1.0, 1.0)
        mean = r(self.c1) * x0 + r(self.c2) * x
        return mean, v, lv, x0

    def eps_from_xstart(self, x, t, x0):
        r = lambda table: self._row(table, t, x.shape)
        return (r(self.sqrt_recip) * x - x0) / r(self.sqrt_recipm1)

    def ddim_sample(self, x, t, out, mean_type, clip, eta, noise):
        """(sample, pred_xstart) of one DDIM step at chain indices t."""
        _, _, _, x0 = self.p_mean_variance(x, t, out, None, mean_type, "fixedsmall", clip)
        eps = self.eps_from_xstart(x, t, x0)
        a = self._row(self.abar, t, x.shape)
        ap = self._row(self.abar_prev, t, x.shape)
        sigma = eta * np.sqrt((1.0 - ap) / (1.0 - a)) * np.sqrt(1.0 - a / ap)
        mean = x0 * np.sqrt(ap) + np.sqrt(1.0 - ap - sigma ** 2) * eps
        live = (np.asarray(t) != 0).reshape([len(t)] + [1] * (x.ndim - 1))
        return mean + live * sigma * noise, x0

    def ddim_reverse_sample(self, x, t, out, mean_type, clip):
        """(sample at t + 1, pred_xstart) of one inverse DDIM step (eta 0) at chain indices t."""
        _, _, _, x0 = self.p_mean_variance(x, t, out, None, mean_type, "fixedsmall", clip)
        eps = self.eps_from_xstart(x, t, x0)
        an = self._row(self.abar_next, t, x.shape)
        return x0 * np.sqrt(an) + np.sqrt(1.0 - an) * eps, x0
