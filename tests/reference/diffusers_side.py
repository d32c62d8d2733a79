"""diffusers' schedulers as sampler_conformance.py drives them: as shipped (float32 tables), with
their tables rebuilt in float64 from the same betas, stepping to a chosen previous timestep, and
with the noise they draw replaced by a given tensor. Only diffusers' own code does the math."""
import functools
import math
import types

import numpy as np
import torch
from diffusers import DDIMInverseScheduler, DDIMScheduler, DDPMScheduler
from diffusers.schedulers import scheduling_ddpm

# Our schedule names for diffusers' beta_schedule names (ours: --schedule).
SCHEDULE_NAMES = {"linear": "linear", "scaled_linear": "quad", "squaredcos_cap_v2": "cosine",
                  "sigmoid": "sigmoid"}
# Our mean types for diffusers' prediction types.
MEAN_TYPES = {"epsilon": "eps", "sample": "xstart", "v_prediction": "v"}
VAR_TYPES = {"fixed_small": "fixedsmall", "fixed_large": "fixedlarge", "learned": "learned",
             "learned_range": "learned-range"}


def betas64(schedule, beta_start, beta_end, T, rescale):
    """diffusers' betas computed in float64 (diffusers builds them in float32): the same
    formulas, numpy doubles. Rescaling follows Lin et al. 2023, algorithm 1."""
    if schedule == "linear":
        b = np.linspace(beta_start, beta_end, T, dtype=np.float64)
    elif schedule == "scaled_linear":
        b = np.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=np.float64) ** 2
    elif schedule == "squaredcos_cap_v2":
        f = lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2
        b = np.array([min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)])
    elif schedule == "sigmoid":
        x = np.linspace(-6.0, 6.0, T, dtype=np.float64)
        b = (beta_end - beta_start) / (1.0 + np.exp(-x)) + beta_start
    else:
        raise ValueError(schedule)
    if rescale:
        s = np.sqrt(np.cumprod(1.0 - b))
        s = (s - s[-1]) * s[0] / (s[0] - s[-1])
        abar = s ** 2
        b = 1.0 - abar / np.append(1.0, abar[:-1])
    return b


def make(kind, sched, T, beta_start, beta_end, rescale, f64, **config):
    """A DDPMScheduler / DDIMScheduler / DDIMInverseScheduler ("ddpm", "ddim", "inverse").
    f64: its alphas_cumprod (and its 1 / final / initial abar) rebuilt in float64 from
    betas64(); otherwise as diffusers builds it. DDIM has no sigmoid schedule: it gets
    DDPMScheduler's float32 sigmoid betas as trained_betas (the same tables)."""
    cls = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler, "inverse": DDIMInverseScheduler}[kind]
    base = dict(num_train_timesteps=T, beta_start=beta_start, beta_end=beta_end,
                beta_schedule=sched, rescale_betas_zero_snr=rescale)
    if sched == "sigmoid" and kind != "ddpm":
        betas32 = DDPMScheduler(**base).betas.numpy()
        # trained_betas are taken as they are: the rescale already happened in DDPMScheduler.
        base.update(beta_schedule="linear", trained_betas=betas32, rescale_betas_zero_snr=False)
    s = cls(**base, **config)
    if f64:
        b = torch.tensor(betas64(sched, beta_start, beta_end, T, rescale), dtype=torch.float64)
        s.betas = b
        s.alphas = 1.0 - b
        s.alphas_cumprod = torch.cumprod(s.alphas, dim=0)
        one = torch.tensor(1.0, dtype=torch.float64)
        s.one = one
        first = one if config.get("set_alpha_to_one", True) else s.alphas_cumprod[0]
        if kind == "ddim":
            s.final_alpha_cumprod = first
        if kind == "inverse":
            s.initial_alpha_cumprod = first
    return s


class given_noise:
    """Within the block, the noise DDPMScheduler.step draws is `noise` (cast to its dtype)."""

    def __init__(self, noise):
        self.noise = noise

    def __enter__(self):
        self.saved = scheduling_ddpm.randn_tensor
        scheduling_ddpm.randn_tensor = lambda shape, dtype=None, **_: self.noise.to(dtype)

    def __exit__(self, *exc):
        scheduling_ddpm.randn_tensor = self.saved


def _stepping_to(s, cls, gap):
    """A stand-in for scheduler `s` whose `T // N` is `gap`, so that diffusers' own step moves
    by exactly `gap`: DDIMScheduler.step goes from t to t - T // N (not always the previous kept
    step: the documented difference), DDIMInverseScheduler.step to `timestep` from
    timestep - T // N. T' = gap * 1000 keeps the inverse's cap T' - 1 out of the way."""
    cfg = dict(s.config)
    cfg["num_train_timesteps"] = gap * 1000
    proxy = types.SimpleNamespace(
        config=types.SimpleNamespace(**cfg), num_inference_steps=1000,
        alphas_cumprod=s.alphas_cumprod,
        final_alpha_cumprod=getattr(s, "final_alpha_cumprod", None),
        initial_alpha_cumprod=getattr(s, "initial_alpha_cumprod", None))
    proxy._get_variance = functools.partial(cls._get_variance, proxy) if hasattr(
        cls, "_get_variance") else None
    proxy._threshold_sample = functools.partial(DDIMScheduler._threshold_sample, proxy)
    return proxy


def ddim_step(s, out, t, x, prev, eta, use_clipped, noise):
    """DDIMScheduler.step from t to `prev` (-1: the final abar) with the given noise."""
    proxy = _stepping_to(s, DDIMScheduler, t - prev)
    r = DDIMScheduler.step(proxy, out, int(t), x, eta=eta, use_clipped_model_output=use_clipped,
                           variance_noise=noise if eta > 0 else None)
    return r.prev_sample, r.pred_original_sample


def inverse_step(s, out, t, x, nxt):
    """DDIMInverseScheduler.step moving x from t to `nxt` with the model's output `out`."""
    proxy = _stepping_to(s, DDIMInverseScheduler, nxt - t)
    r = DDIMInverseScheduler.step(proxy, out, int(nxt), x)
    return r.prev_sample, r.pred_original_sample


def ddpm_step(s, out, t, x, noise):
    """DDPMScheduler.step at t (after set_timesteps) with the given noise: (sample, pred_xstart)."""
    with given_noise(noise):
        r = s.step(out, int(t), x)
    return r.prev_sample, r.pred_original_sample
