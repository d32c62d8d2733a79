"""The single-step configurations of sampler_conformance.py: schedules x chains x ops, options
cycled so that every value of every option meets many of the others, seeded inputs, and the
`ddpm op` flags of each case."""
import itertools

import numpy as np

import diffusers_side as D
import improved_port as I

# (diffusers beta_schedule, beta_start, beta_end, T); each with and without the zero-SNR rescale.
SCHEDULES = [("linear", 1e-4, 0.02, 1000), ("scaled_linear", 0.00085, 0.012, 1000),
             ("squaredcos_cap_v2", 1e-4, 0.02, 1000), ("sigmoid", 1e-4, 0.02, 1000),
             ("linear", 1e-4, 0.02, 50), ("squaredcos_cap_v2", 1e-4, 0.02, 7)]

# Chains per T: (spacing, steps_offset, N) for diffusers' spacings, ("improved", spec, None),
# or ("full", 0, None) (no --respace). Some are invalid in diffusers (N + 1 trailing steps
# ending in -1, leading + offset reaching T): ours must refuse them.
CHAINS = {
    1000: [("leading", 0, 10), ("leading", 1, 10), ("leading", 1, 7), ("leading", 0, 1),
           ("linspace", 0, 7), ("linspace", 0, 10), ("linspace", 0, 1), ("trailing", 0, 10),
           ("trailing", 0, 7), ("trailing", 0, 1), ("leading", 0, 1000), ("full", 0, None),
           ("improved", "ddim50", None), ("improved", "10,15,20", None),
           ("leading", 2, 1000), ("trailing", 0, 13)],
    50: [("leading", 0, 7), ("leading", 1, 7), ("linspace", 0, 50), ("trailing", 0, 7),
         ("trailing", 0, 29), ("improved", "ddim10", None), ("improved", "3,4", None),
         ("full", 0, None)],
    7: [("leading", 0, 7), ("leading", 1, 7), ("trailing", 0, 3), ("linspace", 0, 2),
        ("improved", "2,1,2", None), ("full", 0, None)],
}

OPS = ["ddim-step", "ddim-reverse-step", "p-sample", "p-mean-variance"]
PREDS = ["epsilon", "sample", "v_prediction"]
CLIPS = [(True, 1.0), (False, 1.0), (True, 0.6), (True, 2.5)]
ETAS = [0.0, 0.3, 1.0]
VARS = ["fixed_small", "fixed_large", "learned", "learned_range"]
THRESHOLDS = [(0.995, 1.0), (0.9, 1.5), (0.8, 2.0)]


def diffusers_timesteps(spacing, offset, T, N):
    """diffusers' set_timesteps(N) list (descending), as DDPMScheduler computes it."""
    s = D.DDPMScheduler(num_train_timesteps=T, timestep_spacing=spacing, steps_offset=offset)
    s.set_timesteps(N)
    return [int(v) for v in s.timesteps]


def kept_steps(chain, T):
    """(kept training steps ascending, or None where diffusers' list is not a valid chain)."""
    kind, arg, n = chain
    if kind == "full":
        return list(range(T))
    if kind == "improved":
        return I.space_timesteps(T, arg)
    ts = diffusers_timesteps(kind, arg, T, n)
    valid = len(ts) == n and min(ts) >= 0 and max(ts) < T and len(set(ts)) == n
    return sorted(ts) if valid else None


def respace_flags(chain):
    kind, arg, n = chain
    if kind == "full":
        return []
    if kind == "improved":
        return ["--respace", f"improved:{arg}"]
    return ["--respace", f"{kind}:{n}", "--steps-offset", str(arg)]


def schedule_flags(sched, f64_betas_path):
    """ddpm's schedule flags: our own named schedule, or the float64 betas from a file."""
    name, b0, b1, T, rescale = sched
    if f64_betas_path is not None:
        return ["--betas", f64_betas_path]
    flags = ["--schedule", D.SCHEDULE_NAMES[name], "--beta-start", repr(b0), "--beta-end",
             repr(b1), "--timesteps", str(T)]
    return flags + (["--rescale-zero-snr"] if rescale else [])


def cases():
    """Every single-step case (dicts; inputs are added by `prepare`). Per op, the j-th case
    takes its options in mixed radix of j (prediction, clip, eta, use_clipped_model_output,
    set_alpha_to_one: every combination once in 144 cases), the variance type and the shape
    turning with other periods, so that the options also meet the schedules and chains."""
    out, k = [], 0
    j = dict.fromkeys(OPS, 0)
    for (name, b0, b1, T), rescale in itertools.product(SCHEDULES, [False, True]):
        for chain in CHAINS[T]:
            for op in OPS:
                k, i = k + 1, j[op]
                j[op] += 1
                clip, rng = CLIPS[(i // 3) % 4]
                c = dict(name=f"c{k:04d}", op=op, sched=(name, b0, b1, T, rescale), chain=chain,
                         pred=PREDS[i % 3], clip=clip, clip_range=rng, eta=ETAS[(i // 12) % 3],
                         use_clipped=(i // 36) % 2 == 1, alpha_one=(i // 72) % 2 == 0,
                         var=VARS[(i // 3 + i // 12) % 4], threshold=None,
                         shape=[2, 3] if i % 2 else [2, 4])
                out.append(c)
    # Dynamic thresholding: the DDPM and DDIM steps, each prediction, three (ratio, max).
    for (ratio, mx), pred, op in itertools.product(THRESHOLDS, PREDS, ["p-sample", "ddim-step"]):
        k += 1
        out.append(dict(name=f"c{k:04d}", op=op, sched=("linear", 1e-4, 0.02, 1000, False),
                        chain=("leading", 1, 10), pred=pred, clip=True, clip_range=1.0,
                        eta=ETAS[k % 3], use_clipped=k % 2 == 0, alpha_one=True,
                        var="fixed_small", threshold=(ratio, mx), shape=[2, 3, 5]))
    return out


def flags(c):
    """ddpm op's flags for case c besides the schedule and the inputs."""
    f = ["--mean-type", D.MEAN_TYPES[c["pred"]], "--clip-denoised", str(c["clip"]).lower(),
         "--clip-range", repr(c["clip_range"])] + respace_flags(c["chain"])
    if c["op"] in ("p-sample", "p-mean-variance"):
        f += ["--var-type", D.VAR_TYPES[c["var"]]]
    if c["op"] == "ddim-step":
        f += ["--eta", repr(c["eta"]), "--use-clipped-model-output",
              str(c["use_clipped"]).lower(), "--set-alpha-to-one", str(c["alpha_one"]).lower()]
    if c["threshold"] is not None:
        f += ["--thresholding", "--threshold-ratio", repr(c["threshold"][0]), "--sample-max",
              repr(c["threshold"][1])]
    return f


def prepare(c):
    """Adds betas64, kept, t (the last, a middle and the first kept step, in sampling order),
    and seeded inputs: x = sqrt(abar) x0 + sqrt(1 - abar) eps with x0 in [-1.3, 1.3] (so that
    clipping binds on some elements), the model's output the truth plus 0.3 N(0, 1)."""
    name, b0, b1, T, rescale = c["sched"]
    c["betas64"] = D.betas64(name, b0, b1, T, rescale)
    c["kept"] = kept_steps(c["chain"], T)
    if c["kept"] is None:
        c["t"] = [0, 0, 0]
        kept = [0]
    else:
        kept = c["kept"]
        c["t"] = [kept[-1], kept[len(kept) // 2], kept[0]]
    rng = np.random.default_rng(int(c["name"][1:]))
    shape = [3] + c["shape"]
    abar = np.cumprod(1.0 - c["betas64"])[c["t"]].reshape([3] + [1] * len(c["shape"]))
    x0 = rng.uniform(-1.3, 1.3, shape)
    eps = rng.standard_normal(shape)
    x = np.sqrt(abar) * x0 + np.sqrt(1.0 - abar) * eps
    truth = {"epsilon": eps, "sample": x0,
             "v_prediction": np.sqrt(abar) * eps - np.sqrt(1.0 - abar) * x0}[c["pred"]]
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    ins = {"x": f32(x), "model_output": f32(truth + 0.3 * rng.standard_normal(shape))}
    if c["op"] == "ddim-step" and c["eta"] > 0 or c["op"] == "p-sample":
        ins["noise"] = f32(rng.standard_normal(shape))
    if c["op"] in ("p-sample", "p-mean-variance") and c["var"] == "learned":
        # A log-variance around the fixed ones (diffusers' `learned` reads exp of it).
        ins["model_var"] = f32(rng.uniform(-12.0, -2.0, shape))
    if c["op"] in ("p-sample", "p-mean-variance") and c["var"] == "learned_range":
        ins["model_var"] = f32(rng.uniform(-1.0, 1.0, shape))
    c["inputs"] = ins
    return c
