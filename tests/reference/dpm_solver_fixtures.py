#!/usr/bin/env python3
"""DPM-Solver++ loops by diffusers itself, for tests/dpm_solver.rs. CI has no torch: the output is
committed under tests/fixtures/dpm_solver/.

Usage (needs torch, diffusers 0.42, numpy):

    python3 tests/reference/dpm_solver_fixtures.py [--out tests/fixtures/dpm_solver]

For each case: a UNet2DModel fixture of tests/fixtures/unet/ (seeded random weights, made by
unet_fixtures.py), its DDPMScheduler config turned into a DPMSolverMultistepScheduler with
`from_config(config, **options)` (diffusers' idiom, as `ddpm sample --sampler dpm++2m` does), and
the loop diffusers' pipelines run: x_T = randn_tensor(shape, generator) (torch.Generator seeded),
then per timestep model(x, t).sample and scheduler.step(output, t, x, generator=generator).
Written: {case}_x_t.npy (float32 [B, C, H, W]), {case}_out.npy (diffusers' result) and
cases.json (each case's model, options, N, seed and diffusers' timesteps), plus diffusers'
`set_timesteps` of many (spacing, N, steps_offset) for multistep_timesteps.
"""
import argparse
import json
import os

import numpy as np
import torch
from diffusers import DDPMScheduler, DPMSolverMultistepScheduler, UNet2DModel

HERE = os.path.dirname(os.path.abspath(__file__))
UNETS = os.path.join(HERE, "..", "fixtures", "unet")

# (case, unet fixture, batch, N, seed, scheduler options beyond the model folder's config).
CASES = [
    ("eps_leading_10", "attn_two_levels_heads", 2, 10, 1, {}),
    ("v_linspace_7", "attn_two_levels_heads", 2, 7, 2,
     {"prediction_type": "v_prediction", "timestep_spacing": "linspace"}),
    ("sample_trailing_5", "attn_two_levels_heads", 2, 5, 3,
     {"prediction_type": "sample", "timestep_spacing": "trailing"}),
    # 16 steps: lower_order_final no longer applies, so the last step before sigma_min is
    # second order.
    ("heun_sigma_min_16", "cifar10_tiny", 1, 16, 4,
     {"solver_type": "heun", "final_sigmas_type": "sigma_min"}),
    ("order1_6", "attn_two_levels_heads", 2, 6, 5, {"solver_order": 1}),
    ("euler_at_final_sigma_min_15", "attn_two_levels_heads", 1, 15, 6,
     {"euler_at_final": True, "final_sigmas_type": "sigma_min"}),
    ("offset_leading_12", "attn_two_levels_heads", 1, 12, 7, {"steps_offset": 1}),
    ("thresholding_8", "cifar10_tiny", 2, 8, 8,
     {"thresholding": True, "sample_max_value": 1.5, "dynamic_thresholding_ratio": 0.9}),
    ("sde_midpoint_10", "attn_two_levels_heads", 2, 10, 9,
     {"algorithm_type": "sde-dpmsolver++"}),
    ("sde_heun_v_6", "attn_two_levels_heads", 2, 6, 10,
     {"algorithm_type": "sde-dpmsolver++", "solver_type": "heun",
      "prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    # Third order: under 15 steps the step before the last is second order; from 15 on (and
    # sigma_min, so the last is not lowered either) third order to the end.
    ("order3_12", "attn_two_levels_heads", 2, 12, 11, {"solver_order": 3}),
    ("order3_sigma_min_16", "cifar10_tiny", 1, 16, 12,
     {"solver_order": 3, "final_sigmas_type": "sigma_min"}),
    ("order3_sde_v_9", "attn_two_levels_heads", 2, 9, 13,
     {"solver_order": 3, "algorithm_type": "sde-dpmsolver++",
      "prediction_type": "v_prediction", "timestep_spacing": "linspace"}),
    # The noise-prediction forms (deprecated in diffusers, which refuses them with a zero
    # final sigma).
    ("dpmsolver_sigma_min_10", "attn_two_levels_heads", 2, 10, 14,
     {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min"}),
    ("dpmsolver_order3_sample_16", "cifar10_tiny", 1, 16, 15,
     {"algorithm_type": "dpmsolver", "solver_order": 3, "final_sigmas_type": "sigma_min",
      "prediction_type": "sample", "timestep_spacing": "trailing"}),
    ("dpmsolver_heun_threshold_7", "cifar10_tiny", 2, 7, 16,
     {"algorithm_type": "dpmsolver", "solver_type": "heun", "final_sigmas_type": "sigma_min",
      "thresholding": True, "sample_max_value": 1.2}),
    ("sde_dpmsolver_heun_8", "attn_two_levels_heads", 2, 8, 17,
     {"algorithm_type": "sde-dpmsolver", "solver_type": "heun", "final_sigmas_type": "sigma_min",
      "prediction_type": "v_prediction"}),
    ("sde_dpmsolver_midpoint_6", "attn_two_levels_heads", 2, 6, 18,
     {"algorithm_type": "sde-dpmsolver", "final_sigmas_type": "sigma_min"}),
    # The other sigma schedules: timesteps from the sigmas, the solver on the sigmas. With
    # sigma_min the last step goes from sigma_min to itself (h = 0), second order at 16 steps.
    ("karras_12", "attn_two_levels_heads", 2, 12, 19, {"use_karras_sigmas": True}),
    ("karras_sde_sigma_min_16", "cifar10_tiny", 1, 16, 20,
     {"use_karras_sigmas": True, "algorithm_type": "sde-dpmsolver++",
      "final_sigmas_type": "sigma_min"}),
    ("exponential_10", "attn_two_levels_heads", 2, 10, 21, {"use_exponential_sigmas": True}),
    ("beta_order3_8", "attn_two_levels_heads", 2, 8, 22,
     {"use_beta_sigmas": True, "solver_order": 3}),
    ("lu_v_9", "attn_two_levels_heads", 2, 9, 23,
     {"use_lu_lambdas": True, "prediction_type": "v_prediction"}),
    # Sigma lists that call the model at one timestep twice (diffusers runs both steps, each
    # with its own sigma): exponential at 30 ends 2, 0, 0; lu at 40 ends 3, 1, 1, 0 (into
    # sigma_min its third-order last step would go from sigma_min to itself: NaN there).
    ("exponential_repeat_30", "attn_two_levels_heads", 1, 30, 41,
     {"use_exponential_sigmas": True}),
    ("lu_repeat_order3_40", "attn_two_levels_heads", 1, 40, 42,
     {"use_lu_lambdas": True, "solver_order": 3}),
    # lambda_min_clipped: the timesteps spaced below the clip; trailing then takes 9 steps.
    ("clipped_trailing_10", "attn_two_levels_heads", 2, 10, 24,
     {"lambda_min_clipped": -3.0, "timestep_spacing": "trailing"}),
    ("clipped_linspace_8", "attn_two_levels_heads", 2, 8, 25,
     {"lambda_min_clipped": -4.0, "timestep_spacing": "linspace"}),
    # Zero terminal SNR: the class keeps abar_{T-1} = 2^-24 (sigma_max 4096).
    ("zero_snr_v_trailing_8", "attn_two_levels_heads", 2, 8, 26,
     {"rescale_betas_zero_snr": True, "prediction_type": "v_prediction",
      "timestep_spacing": "trailing"}),
    # eps prediction there too: x_0 at t = T - 1 divides by alpha = 2^-12, not by 0.
    ("zero_snr_eps_trailing_6", "attn_two_levels_heads", 2, 6, 27,
     {"rescale_betas_zero_snr": True, "timestep_spacing": "trailing"}),
]


def scheduler_for(folder, options):
    base = DDPMScheduler.from_pretrained(folder)
    options = {"algorithm_type": "dpmsolver++", **options}
    return DPMSolverMultistepScheduler.from_config(base.config, **options)


def run(case, unet_name, batch, n, seed, options):
    folder = os.path.join(UNETS, unet_name)
    unet = UNet2DModel.from_pretrained(folder).eval()
    sched = scheduler_for(folder, options)
    sched.set_timesteps(n)
    c, h, w = unet.config.in_channels, *np.broadcast_to(unet.config.sample_size, (2,))
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, c, int(h), int(w)), generator=generator)
    x_t = x.numpy().copy()
    with torch.no_grad():
        for t in sched.timesteps:
            out = unet(x, t).sample
            x = sched.step(out, t, x, generator=generator).prev_sample
    return x_t, x.numpy(), [int(t) for t in sched.timesteps]


def timestep_lists():
    out = []
    for spacing in ["leading", "linspace", "trailing"]:
        for t_train in [1000, 50]:
            for n in [1, 2, 3, 5, 7, 10, 20, 25, 49, 50]:
                if n > t_train:
                    continue
                for offset in ([0, 1] if spacing == "leading" else [0]):
                    s = DPMSolverMultistepScheduler(
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


def clipped_lists():
    """DPM-Solver's set_timesteps with a finite lambda_min_clipped, on the linear and the
    squared-cosine schedules."""
    out = []
    for schedule in ["linear", "squaredcos_cap_v2"]:
        for lam in [-2.0, -3.0, -4.0, -5.1]:
            for spacing in ["leading", "linspace", "trailing"]:
                for n in [3, 5, 10, 20]:
                    s = DPMSolverMultistepScheduler(
                        beta_schedule=schedule, timestep_spacing=spacing,
                        lambda_min_clipped=lam)
                    try:
                        s.set_timesteps(n)
                        ts = [int(t) for t in s.timesteps]
                    except Exception:
                        ts = None
                    out.append({"schedule": schedule, "lambda_min_clipped": lam,
                                "spacing": spacing, "N": n, "timesteps": ts})
    return out


def sigma_lists():
    """set_timesteps of both multistep classes under each sigma schedule: timesteps, sigmas
    (final one included) and whether diffusers repeats a timestep."""
    from diffusers import UniPCMultistepScheduler
    out = []
    for cls, keys in [(DPMSolverMultistepScheduler, ["use_karras_sigmas", "use_exponential_sigmas",
                                                      "use_beta_sigmas", "use_lu_lambdas"]),
                      (UniPCMultistepScheduler, ["use_karras_sigmas", "use_exponential_sigmas",
                                                 "use_beta_sigmas"])]:
        for key in keys:
            for t_train in [1000, 50]:
                for n in [1, 2, 3, 5, 10, 20, 25, 30, 50, 100]:
                    if n > t_train:
                        continue
                    for final in ["zero", "sigma_min"]:
                        s = cls(num_train_timesteps=t_train, final_sigmas_type=final,
                                **{key: True})
                        s.set_timesteps(n)
                        ts = [int(t) for t in s.timesteps]
                        out.append({"class": cls.__name__, "key": key, "T": t_train, "N": n,
                                    "final": final, "timesteps": ts,
                                    "sigmas": [float(v) for v in s.sigmas],
                                    "repeats": len(set(ts)) != len(ts)})
    # DPM-Solver on the squared-cosine schedule, where it truncates Karras and lu timesteps.
    for key in ["use_karras_sigmas", "use_lu_lambdas", "use_exponential_sigmas"]:
        for n in [3, 5, 10, 20]:
            s = DPMSolverMultistepScheduler(beta_schedule="squaredcos_cap_v2", **{key: True})
            s.set_timesteps(n)
            ts = [int(t) for t in s.timesteps]
            out.append({"class": "DPMSolverMultistepScheduler", "key": key, "T": 1000, "N": n,
                        "final": "zero", "schedule": "squaredcos_cap_v2", "timesteps": ts,
                        "sigmas": [float(v) for v in s.sigmas],
                        "repeats": len(set(ts)) != len(ts)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "dpm_solver"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for case, unet_name, batch, n, seed, options in CASES:
        x_t, out, ts = run(case, unet_name, batch, n, seed, options)
        np.save(os.path.join(args.out, f"{case}_x_t.npy"), x_t.astype(np.float32))
        np.save(os.path.join(args.out, f"{case}_out.npy"), out.astype(np.float32))
        cases.append({"case": case, "unet": unet_name, "batch": batch, "steps": n,
                      "seed": seed, "options": options, "timesteps": ts})
        print(case, ts[:4], "...", float(np.abs(out).max()))
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"cases": cases, "timestep_lists": timestep_lists(),
                   "clipped_lists": clipped_lists()}, f, indent=1)
    with open(os.path.join(args.out, "sigma_lists.json"), "w") as f:
        json.dump(sigma_lists(), f)


if __name__ == "__main__":
    main()
