"""diffusers' pipeline loop on a UNet fixture, shared by the fixture scripts of the sigma-space and
two-evaluation samplers (euler_fixtures.py, heun_pndm_fixtures.py): z = randn_tensor(shape,
generator), x = z init_noise_sigma, then per timestep model(scale_model_input(x, t), t) and
step(output, t, x[, generator]); and the writing of each case's arrays and cases.json."""
import json
import os

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel

HERE = os.path.dirname(os.path.abspath(__file__))
UNETS = os.path.join(HERE, "..", "fixtures", "unet")


def run(cls, unet_name, batch, n, seed, options, generator_step):
    """The loop of scheduler class `cls` made by `from_config(folder's config, **options)` at
    `n` steps; `generator_step` passes the generator to `step` (the stochastic classes).
    Returns (z, x, timesteps, sigmas or None, the scheduler)."""
    folder = os.path.join(UNETS, unet_name)
    unet = UNet2DModel.from_pretrained(folder).eval()
    base = DDPMScheduler.from_pretrained(folder)
    sched = cls.from_config(base.config, **options)
    sched.set_timesteps(n)
    c, h, w = unet.config.in_channels, *np.broadcast_to(unet.config.sample_size, (2,))
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn((batch, c, int(h), int(w)), generator=generator)
    x = z * sched.init_noise_sigma
    with torch.no_grad():
        for t in sched.timesteps:
            out = unet(sched.scale_model_input(x, t), t).sample
            if generator_step:
                x = sched.step(out, t, x, generator=generator).prev_sample
            else:
                x = sched.step(out, t, x).prev_sample
    sigmas = getattr(sched, "sigmas", None)
    sigmas = None if sigmas is None else [float(s) for s in sigmas]
    return z.numpy().copy(), x.numpy(), [float(t) for t in sched.timesteps], sigmas, sched


def save_case(out, case, z, x):
    """{case}_x_t.npy (z) and {case}_out.npy in `out`, float32."""
    np.save(os.path.join(out, f"{case}_x_t.npy"), z.astype(np.float32))
    np.save(os.path.join(out, f"{case}_out.npy"), x.astype(np.float32))


def save_cases(out, cases):
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
