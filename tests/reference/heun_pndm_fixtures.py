#!/usr/bin/env python3
"""Heun and PNDM loops by diffusers itself, for tests/heun_pndm.rs. CI has no torch: the output is
committed under tests/fixtures/heun_pndm/.

Usage (needs torch, diffusers 0.42, numpy):

    python3 tests/reference/heun_pndm_fixtures.py [--out tests/fixtures/heun_pndm]

The model folder's DDPMScheduler config turned into HeunDiscreteScheduler or PNDMScheduler by
`from_config(config, **options)`, and the loop diffusers' pipelines run: z = randn_tensor(shape,
generator), x = z init_noise_sigma, then per timestep model(scale_model_input(x, t), t) and
step(output, t, x). Written: {case}_x_t.npy (z), {case}_out.npy and cases.json (each case's class,
model, options, N, timesteps, clip_sample in effect, and sigmas for Heun).
"""
import argparse
import os

from diffusers import HeunDiscreteScheduler, PNDMScheduler

from pipeline_loop import HERE, run, save_case, save_cases

A = "attn_two_levels_heads"

# (case, class, unet fixture, batch, N, seed, options beyond the model folder's config).
CASES = [
    # HeunDiscreteScheduler has clip_sample: the folder's DDPMScheduler config sets it (true).
    ("heun_eps_6", "heun", A, 2, 6, 61, {"timestep_spacing": "leading"}),
    ("heun_v_offset_5", "heun", A, 2, 5, 62,
     {"timestep_spacing": "leading", "prediction_type": "v_prediction", "steps_offset": 1,
      "clip_sample": False}),
    ("heun_sample_clip_4", "heun", "cifar10_tiny", 1, 4, 63,
     {"timestep_spacing": "leading", "prediction_type": "sample", "clip_sample": True}),
    ("heun_trailing_5", "heun", A, 2, 5, 64, {"timestep_spacing": "trailing", "clip_sample": False}),
    ("heun_one_step", "heun", A, 1, 1, 65, {"timestep_spacing": "leading"}),
    # linspace, the class's default: float32 timesteps between integers.
    ("heun_linspace_5", "heun", A, 2, 5, 73, {"timestep_spacing": "linspace", "clip_sample": False}),
    ("heun_karras_trailing_4", "heun", A, 2, 4, 74,
     {"timestep_spacing": "trailing", "clip_sample": False, "use_karras_sigmas": True}),
    # PNDMScheduler's own default: the Runge-Kutta warm-up.
    ("pndm_prk_eps_8", "pndm", A, 2, 8, 66, {}),
    ("pndm_prk_v_offset_6", "pndm", A, 2, 6, 67,
     {"prediction_type": "v_prediction", "steps_offset": 1, "set_alpha_to_one": True}),
    ("pndm_plms_eps_6", "pndm", A, 2, 6, 68, {"skip_prk_steps": True}),
    ("pndm_plms_v_trailing_7", "pndm", A, 2, 7, 69,
     {"skip_prk_steps": True, "prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    ("pndm_plms_linspace_5", "pndm", A, 2, 5, 70,
     {"skip_prk_steps": True, "timestep_spacing": "linspace"}),
    ("pndm_plms_2", "pndm", A, 1, 2, 71, {"skip_prk_steps": True}),
    ("pndm_plms_1", "pndm", A, 1, 1, 72, {"skip_prk_steps": True}),
]


CLASSES = {"heun": HeunDiscreteScheduler, "pndm": PNDMScheduler}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "heun_pndm"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for case, kind, unet_name, batch, n, seed, options in CASES:
        z, out, ts, sigmas, sched = run(CLASSES[kind], unet_name, batch, n, seed, options, False)
        # PNDMScheduler has no clip_sample (its config keeps the key unused).
        clip = kind == "heun" and bool(sched.config.get("clip_sample", False))
        save_case(args.out, case, z, out)
        cases.append({"case": case, "class": kind, "unet": unet_name, "batch": batch,
                      "steps": n, "seed": seed, "options": options, "timesteps": ts,
                      "sigmas": sigmas if kind == "heun" else None, "clip_sample": clip})
        print(case, len(ts), ts[:6], "...", float(abs(out).max()))
    save_cases(args.out, cases)


if __name__ == "__main__":
    main()
