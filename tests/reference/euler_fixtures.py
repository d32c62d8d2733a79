#!/usr/bin/env python3
"""Euler, Euler ancestral and LMS loops by diffusers itself, for tests/euler.rs. CI has no torch: the
output is committed under tests/fixtures/euler/.

Usage (needs torch, diffusers 0.42, numpy):

    python3 tests/reference/euler_fixtures.py [--out tests/fixtures/euler]

The model folder's DDPMScheduler config (leading spacing) turned into EulerDiscreteScheduler or
EulerAncestralDiscreteScheduler or LMSDiscreteScheduler by `from_config(config, **options)`, and the loop diffusers'
text-to-image pipelines run: z = randn_tensor(shape, generator), x = z init_noise_sigma, then
per timestep model(scale_model_input(x, t), t) and step(output, t, x, generator). Written:
{case}_x_t.npy (z, the unit normal), {case}_out.npy and cases.json (each case's class, model,
options, N, seed, timesteps and sigmas).
"""
import argparse
import os

from diffusers import EulerAncestralDiscreteScheduler, EulerDiscreteScheduler, LMSDiscreteScheduler

from pipeline_loop import HERE, run, save_case, save_cases

# (case, class, unet fixture, batch, N, seed, options beyond the model folder's config).
CASES = [
    ("euler_eps_10", "euler", "attn_two_levels_heads", 2, 10, 41, {}),
    ("euler_v_7", "euler", "attn_two_levels_heads", 2, 7, 42, {"prediction_type": "v_prediction"}),
    ("euler_sample_sigma_min_6", "euler", "cifar10_tiny", 1, 6, 43,
     {"prediction_type": "sample", "final_sigmas_type": "sigma_min"}),
    ("euler_offset_8", "euler", "attn_two_levels_heads", 2, 8, 44, {"steps_offset": 1}),
    ("euler_a_eps_10", "euler-a", "attn_two_levels_heads", 2, 10, 45, {}),
    ("euler_a_v_offset_6", "euler-a", "attn_two_levels_heads", 2, 6, 46,
     {"prediction_type": "v_prediction", "steps_offset": 1}),
    # LMS at the pipelines' order 4 (its first three steps lower).
    ("lms_eps_10", "lms", "attn_two_levels_heads", 2, 10, 47, {}),
    ("lms_v_offset_8", "lms", "attn_two_levels_heads", 2, 8, 48,
     {"prediction_type": "v_prediction", "steps_offset": 1}),
    ("lms_sample_5", "lms", "cifar10_tiny", 1, 5, 49, {"prediction_type": "sample"}),
    # Trailing spacing: diffusers' x_T is sigma_max z there (init_noise_sigma).
    ("euler_trailing_8", "euler", "attn_two_levels_heads", 2, 8, 50,
     {"timestep_spacing": "trailing"}),
    ("euler_a_trailing_6", "euler-a", "attn_two_levels_heads", 2, 6, 51,
     {"timestep_spacing": "trailing"}),
    ("lms_trailing_7", "lms", "attn_two_levels_heads", 2, 7, 52,
     {"timestep_spacing": "trailing", "prediction_type": "v_prediction"}),
    # linspace, the classes' default: float32 timesteps between integers, x_T = sigma_max z.
    ("euler_linspace_8", "euler", "attn_two_levels_heads", 2, 8, 53,
     {"timestep_spacing": "linspace"}),
    ("euler_a_linspace_6", "euler-a", "attn_two_levels_heads", 2, 6, 54,
     {"timestep_spacing": "linspace", "prediction_type": "v_prediction"}),
    ("lms_linspace_7", "lms", "attn_two_levels_heads", 2, 7, 55,
     {"timestep_spacing": "linspace"}),
    ("euler_sample_linspace_5", "euler", "cifar10_tiny", 1, 5, 56,
     {"timestep_spacing": "linspace", "prediction_type": "sample"}),
    # Sigma schedules over the spaced sigmas, the model at _sigma_to_t's float timesteps.
    ("euler_karras_8", "euler", "attn_two_levels_heads", 2, 8, 57,
     {"timestep_spacing": "linspace", "use_karras_sigmas": True}),
    ("euler_exponential_leading_6", "euler", "attn_two_levels_heads", 2, 6, 58,
     {"use_exponential_sigmas": True, "prediction_type": "v_prediction"}),
    ("lms_beta_7", "lms", "attn_two_levels_heads", 2, 7, 59,
     {"timestep_spacing": "linspace", "use_beta_sigmas": True}),
    # sigma_min / sigma_max bound the schedule (Euler's keys).
    ("euler_exponential_bounds_7", "euler", "attn_two_levels_heads", 2, 7, 61,
     {"timestep_spacing": "linspace", "use_exponential_sigmas": True, "sigma_min": 0.1,
      "sigma_max": 60.0}),
    # A v-prediction model's continuous timesteps: the model at 0.25 ln sigma.
    ("euler_continuous_v_6", "euler", "attn_two_levels_heads", 2, 6, 60,
     {"prediction_type": "v_prediction", "timestep_type": "continuous"}),
]


CLASSES = {"euler": EulerDiscreteScheduler, "euler-a": EulerAncestralDiscreteScheduler,
           "lms": LMSDiscreteScheduler}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "euler"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for case, kind, unet_name, batch, n, seed, options in CASES:
        # LMS is deterministic: its step takes no generator.
        z, out, ts, sigmas, _ = run(CLASSES[kind], unet_name, batch, n, seed, options,
                                    kind != "lms")
        save_case(args.out, case, z, out)
        cases.append({"case": case, "class": kind, "unet": unet_name, "batch": batch,
                      "steps": n, "seed": seed, "options": options, "timesteps": ts,
                      "sigmas": sigmas})
        print(case, ts[:4], "...", float(abs(out).max()))
    save_cases(args.out, cases)


if __name__ == "__main__":
    main()
