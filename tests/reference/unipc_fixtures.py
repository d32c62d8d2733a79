#!/usr/bin/env python3
"""UniPC loops by diffusers itself, for tests/unipc.rs. CI has no torch: the output is committed
under tests/fixtures/unipc/.

Usage (needs torch, diffusers 0.42, numpy):

    python3 tests/reference/unipc_fixtures.py [--out tests/fixtures/unipc]

As dpm_solver_fixtures.py, with the model folder's DDPMScheduler config turned into a
UniPCMultistepScheduler by `from_config(config, **options)`: x_T = randn_tensor(shape,
generator), then per timestep model(x, t).sample and scheduler.step(output, t, x). Written:
{case}_x_t.npy, {case}_out.npy and cases.json (each case's model, options, N, seed, diffusers'
timesteps and sigmas), plus UniPC's `set_timesteps` of many (spacing, N, steps_offset), and
scheduler_config.json: the second case's scheduler as `save_config` writes it.
"""
import argparse
import json
import os

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel, UniPCMultistepScheduler

HERE = os.path.dirname(os.path.abspath(__file__))
UNETS = os.path.join(HERE, "..", "fixtures", "unet")

# (case, unet fixture, batch, N, seed, scheduler options beyond the model folder's config).
CASES = [
    ("bh2_eps_leading_10", "attn_two_levels_heads", 2, 10, 1, {}),
    ("bh2_order3_linspace_12", "attn_two_levels_heads", 2, 12, 2,
     {"solver_order": 3, "timestep_spacing": "linspace"}),
    ("bh1_sigma_min_8", "cifar10_tiny", 1, 8, 3,
     {"solver_type": "bh1", "final_sigmas_type": "sigma_min"}),
    ("order1_7", "attn_two_levels_heads", 2, 7, 4, {"solver_order": 1}),
    ("v_trailing_9", "attn_two_levels_heads", 2, 9, 5,
     {"prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    ("sample_order3_6", "attn_two_levels_heads", 2, 6, 6,
     {"prediction_type": "sample", "solver_order": 3}),
    ("eps_history_sigma_min_10", "attn_two_levels_heads", 2, 10, 7,
     {"predict_x0": False, "final_sigmas_type": "sigma_min"}),
    ("eps_history_order3_bh1_v_11", "cifar10_tiny", 1, 11, 8,
     {"predict_x0": False, "solver_order": 3, "solver_type": "bh1",
      "final_sigmas_type": "sigma_min", "prediction_type": "v_prediction"}),
    ("disable_corrector_10", "attn_two_levels_heads", 2, 10, 9,
     {"disable_corrector": [0, 3, 8]}),
    ("thresholding_8", "cifar10_tiny", 2, 8, 10,
     {"thresholding": True, "sample_max_value": 1.5, "dynamic_thresholding_ratio": 0.9}),
    # Without lower_order_final the last steps keep the full order (into sigma_min; into zero
    # diffusers returns NaN, and we refuse it).
    ("no_lower_order_final_order3_7", "attn_two_levels_heads", 1, 7, 11,
     {"solver_order": 3, "lower_order_final": False, "final_sigmas_type": "sigma_min"}),
    ("offset_leading_5", "attn_two_levels_heads", 2, 5, 12, {"steps_offset": 1}),
    # The other sigma schedules (see dpm_solver_fixtures.py).
    ("karras_10", "attn_two_levels_heads", 2, 10, 31, {"use_karras_sigmas": True}),
    ("exponential_order3_12", "attn_two_levels_heads", 2, 12, 32,
     {"use_exponential_sigmas": True, "solver_order": 3}),
    ("beta_sigma_min_8", "cifar10_tiny", 1, 8, 33,
     {"use_beta_sigmas": True, "final_sigmas_type": "sigma_min"}),
    # Repeated timesteps (see dpm_solver_fixtures.py): beta at 47 visits 998 twice right after
    # 999, so the corrector runs across the repeat; exponential at 28 ends 2, 0, 0.
    ("beta_repeat_47", "attn_two_levels_heads", 1, 47, 36, {"use_beta_sigmas": True}),
    ("exponential_repeat_order3_28", "attn_two_levels_heads", 1, 28, 37,
     {"use_exponential_sigmas": True, "solver_order": 3}),
    # sigma_min / sigma_max bound the schedule (the model's table spans 0.01 to 157).
    ("karras_bounds_9", "attn_two_levels_heads", 2, 9, 38,
     {"use_karras_sigmas": True, "sigma_min": 0.05, "sigma_max": 40.0}),
    # Zero terminal SNR: the class keeps abar_{T-1} = 2^-24 (sigma_max 4096).
    ("zero_snr_v_trailing_6", "attn_two_levels_heads", 2, 6, 34,
     {"rescale_betas_zero_snr": True, "prediction_type": "v_prediction",
      "timestep_spacing": "trailing"}),
    ("zero_snr_eps_trailing_5", "attn_two_levels_heads", 2, 5, 35,
     {"rescale_betas_zero_snr": True, "timestep_spacing": "trailing"}),
]


def scheduler_for(folder, options):
    base = DDPMScheduler.from_pretrained(folder)
    return UniPCMultistepScheduler.from_config(base.config, **options)


def run(unet_name, batch, n, seed, options):
    folder = os.path.join(UNETS, unet_name)
    unet = UNet2DModel.from_pretrained(folder).eval()
    sched = scheduler_for(folder, options)
    sched.set_timesteps(n)
    c, h, w = unet.config.in_channels, *np.broadcast_to(unet.config.sample_size, (2,))
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, c, int(h), int(w)), generator=generator)
    x_t = x.numpy().copy()
    ts = [int(t) for t in sched.timesteps]
    sigmas = [float(s) for s in sched.sigmas]
    with torch.no_grad():
        for t in sched.timesteps:
            out = unet(x, t).sample
            x = sched.step(out, t, x).prev_sample
    return x_t, x.numpy(), ts, sigmas


def timestep_lists():
    out = []
    for spacing in ["leading", "linspace", "trailing"]:
        for t_train in [1000, 50]:
            for n in [1, 2, 3, 5, 7, 10, 20, 25, 49, 50]:
                if n > t_train:
                    continue
                for offset in ([0, 1] if spacing == "leading" else [0]):
                    s = UniPCMultistepScheduler(
                        num_train_timesteps=t_train, timestep_spacing=spacing,
                        steps_offset=offset,
                    )
                    try:
                        s.set_timesteps(n)
                        ts = [int(t) for t in s.timesteps]
                    except Exception:  # diffusers refuses the list: so must we
                        ts = None
                    out.append({"spacing": spacing, "T": t_train, "N": n,
                                "offset": offset, "timesteps": ts})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "unipc"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for case, unet_name, batch, n, seed, options in CASES:
        x_t, out, ts, sigmas = run(unet_name, batch, n, seed, options)
        np.save(os.path.join(args.out, f"{case}_x_t.npy"), x_t.astype(np.float32))
        np.save(os.path.join(args.out, f"{case}_out.npy"), out.astype(np.float32))
        cases.append({"case": case, "unet": unet_name, "batch": batch, "steps": n,
                      "seed": seed, "options": options, "timesteps": ts, "sigmas": sigmas})
        print(case, ts[:4], "...", float(np.abs(out).max()))
    # The config of one case as diffusers' save_config writes it, for `--scheduler-config`.
    folder = os.path.join(UNETS, "attn_two_levels_heads")
    scheduler_for(folder, dict(CASES[1][5])).save_config(args.out)
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"cases": cases, "timestep_lists": timestep_lists()}, f, indent=1)


if __name__ == "__main__":
    main()
