#!/usr/bin/env python3
"""Guided sampling loops by diffusers itself, for tests/guided_conformance.rs. CI has no torch:
the output is committed under tests/fixtures/class_cond/guided/.

Usage (needs torch, diffusers 0.42, numpy; after class_cond_fixtures.py):

    python3 tests/reference/guided_fixtures.py

On the class-conditional fixture model (tests/fixtures/class_cond/embedding/), its
DDPMScheduler config taken into DDIMScheduler or DPMSolverMultistepScheduler by
`from_config` (as `ddpm sample --sampler ddim|dpm++2m` does), the loop diffusers' pipelines
run with classifier-free guidance: x = x_T * init_noise_sigma; per timestep the model on
[x, x] with [labels, null class], out_uncond + w (out_cond - out_uncond), diffusers'
`rescale_noise_cfg` where a rescale is given, then `scheduler.step`. Written: {case}_x_t.npy
(the given x_T), {case}_out.npy and cases.json (each case's sampler, N, labels, null class, w
and rescale). The stochastic cases (noise "torch") draw as diffusers' pipelines do from one
generator seeded with `seed`: x_T first, then each step's noise for the B samples (guidance
adds no draws); `ddpm sample --noise torch --seed` replays them.
"""
import json
import os

import numpy as np
import torch
from diffusers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler,
                       EulerAncestralDiscreteScheduler, UNet2DModel)
from diffusers.guiders.guider_utils import rescale_noise_cfg

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "fixtures", "class_cond", "embedding")
OUT = os.path.join(HERE, "..", "fixtures", "class_cond", "guided")

# (case, sampler, N, labels, w, rescale, seed, scheduler options: DDIM unclipped, so that x_0
# is not saturated at +-1 by this random model)
CASES = [
    ("ddim_w3_5", "ddim", 5, [2, 5, 7], 3.0, None, 1, {"clip_sample": False}),
    ("dpm_w2.5_rescale_6", "dpm++2m", 6, [0, 9, 4], 2.5, 0.7, 2, {}),
    ("euler_a_w2_torch_5", "euler-a", 5, [1, 3, 8], 2.0, None, 3, {}),
    ("ddpm_w1.5_torch_4", "ddpm", 4, [6, 2], 1.5, None, 4, {"clip_sample": False}),
]
CLASSES = {"ddim": DDIMScheduler, "dpm++2m": DPMSolverMultistepScheduler,
           "euler-a": EulerAncestralDiscreteScheduler, "ddpm": DDPMScheduler}
STOCHASTIC = {"euler-a", "ddpm"}


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    unet = UNet2DModel.from_pretrained(MODEL).eval()
    base = DDPMScheduler.from_pretrained(MODEL)
    null = unet.config.num_class_embeds - 1
    written = []
    for case, sampler, n, labels, w, rescale, seed, options in CASES:
        sched = CLASSES[sampler].from_config(base.config, **options)
        sched.set_timesteps(n)
        gen = torch.Generator().manual_seed(seed)
        x_t = torch.randn((len(labels), 3, 8, 8), generator=gen)
        x = x_t * sched.init_noise_sigma
        lab = torch.tensor(labels + [null] * len(labels))
        with torch.no_grad():
            for t in sched.timesteps:
                xin = sched.scale_model_input(torch.cat([x, x]), t)
                out = unet(xin, t, class_labels=lab).sample
                cond, uncond = out.chunk(2)
                g = uncond + w * (cond - uncond)
                if rescale is not None:
                    g = rescale_noise_cfg(g, cond, guidance_rescale=rescale)
                step_gen = gen if sampler in STOCHASTIC else None
                x = sched.step(g, t, x, generator=step_gen).prev_sample
        np.save(os.path.join(OUT, f"{case}_x_t.npy"), x_t.numpy())
        np.save(os.path.join(OUT, f"{case}_out.npy"), x.numpy())
        noise = {"noise": "torch", "seed": seed} if sampler in STOCHASTIC else {}
        written.append({"case": case, "sampler": sampler, "options": options, "steps": n, **noise,
                        "labels": labels,
                        "null_class": null, "guidance_scale": w, "guidance_rescale": rescale})
        print(case, float(x.abs().max()))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(written, f, indent=1)


if __name__ == "__main__":
    main()
