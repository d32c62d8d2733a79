"""diffusers' own scheduler tests (tests/schedulers/test_scheduler_ddpm.py, _ddim.py,
_ddim_inverse.py: their dummy model x t / (t + 1), deterministic sample and noise, seed 0) as
sampler_conformance.py runs them: as shipped against their constants; with float64 tables (the
value tests/diffusers_scheduler_tests.rs meets where float32 tables move a constant beyond its
tolerance); and, where diffusers differs from us by design, diffusers run with our semantics
against the same loop chained through `ddpm op`, one step per call."""
import numpy as np
import torch

import diffusers_side as D

N, SHAPE = 768, (4, 3, 8, 8)


def deterministic(reversed_=False):
    a = torch.arange(N)
    if reversed_:
        a = a.flip(-1)
    return (a.reshape(3, 8, 8, 4) / N).permute(3, 0, 1, 2).contiguous()


def dummy(x, t):
    return x * t / (t + 1)


def _sched(kind, f64, beta_start=1e-4, **cfg):
    base = dict(clip_sample=True, **cfg)
    if kind == "ddpm":
        base.setdefault("variance_type", "fixed_small")
    return D.make(kind, "linear", 1000, beta_start, 0.02, False, f64, **base)


def shipped_constants(stats):
    """Their full loops with diffusers as shipped: the constants of their tests."""
    out = {}
    for pred, want in (("epsilon", 258.9606), ("v_prediction", 202.0296)):
        s, x = _sched("ddpm", False, prediction_type=pred), deterministic()
        g = torch.manual_seed(0)
        for t in reversed(range(1000)):
            x = s.step(dummy(x, t), t, x, generator=g).prev_sample
        out[f"ddpm {pred}"] = (float(x.abs().sum()), want)
    for kw, want in (({}, 172.0067), ({"prediction_type": "v_prediction"}, 52.5302),
                     ({"beta_start": 0.01}, 149.8295),
                     ({"beta_start": 0.01, "set_alpha_to_one": False}, 149.0784)):
        s, x = _sched("ddim", False, **kw), deterministic()
        s.set_timesteps(10)
        for t in s.timesteps:
            x = s.step(dummy(x, t), t, x, 0.0).prev_sample
        out[f"ddim {kw}"] = (float(x.abs().sum()), want)
    s, x = _sched("inverse", False), deterministic()
    s.set_timesteps(10)
    for t in s.timesteps:
        x = s.step(dummy(x, t), t, x).prev_sample
    out["inverse (its own semantics)"] = (float(x.abs().sum()), 671.6816)
    for k, (got, want) in out.items():
        stats.count("diffusers' own tests reproduced by diffusers", abs(got - want) < 1e-2, 1,
                    abs(got - want), abs(got - want) / 1e-2)
    # test_full_loop_with_noise of test_scheduler_ddpm.py with float64 tables: the value
    # tests/diffusers_scheduler_tests.rs meets (its float32 constant is 387.9466).
    s, g = _sched("ddpm", True), torch.manual_seed(0)
    x = s.add_noise(deterministic().double(), deterministic(True).double(), torch.tensor([1]))
    for t in (1, 0):
        z = torch.randn(SHAPE, generator=g) if t > 0 else torch.zeros(SHAPE)
        x = D.ddpm_step(s, dummy(x, t), t, x, z.double())[0]
    print(f"DDPM loop with noise, float64 tables: sum {float(x.abs().sum()):.8f} (float32: "
          "387.9466)")


def _chain(ddpm, op, flags, x, steps, device, extra=None):
    """The loop through `ddpm op`: x (float32) stepped at each t of `steps` in turn."""
    for t in steps:
        ins = {"x": x, "model_output": (x * t / (t + 1)).astype(np.float32),
               "t": np.full(4, t, dtype=np.int64)}
        if extra is not None:
            ins.update(extra(t))
        got, err = ddpm.op(op, flags, ins, device)
        if got is None:
            raise RuntimeError(f"{op} {flags}: {err}")
        x = got["prev_sample" if op == "ddim-step" else "next_sample" if op ==
                "ddim-reverse-step" else "sample"]
    return x


def loops(ddpm, devices, stats):
    """Loops where diffusers and we differ by design, diffusers given our semantics."""
    sched_flags = ["--schedule", "linear", "--timesteps", "1000"]
    cases = []
    # DDIM on spacings where t - T // N is not the previous kept step: diffusers' own step with
    # our previous step.
    for spacing, n in (("trailing", 7), ("linspace", 7), ("leading", 10)):
        s = _sched("ddim", True, timestep_spacing=spacing)
        s.set_timesteps(n)
        kept = [int(t) for t in s.timesteps]
        x = own = deterministic().double()
        for i, t in enumerate(kept):
            prev = kept[i + 1] if i + 1 < len(kept) else -1
            x = D.ddim_step(s, dummy(x, t), t, x, prev, 0.0, False, None)[0]
            own = s.step(dummy(own, t), t, own, 0.0).prev_sample
        print(f"DDIM {spacing}:{n}: diffusers' own loop (to t - T // N) sum {own.abs().sum():.4f},"
              f" with our previous steps {x.abs().sum():.4f}")
        cases.append((f"DDIM {spacing}:{n}", "ddim-step", [
            "--respace", f"{spacing}:{n}", "--eta", "0"], kept, x, None))
    # The inverse, with the model read where x is (ours), from x at t = 0: k_0 .. k_{N-2}.
    s = _sched("inverse", True)
    kept = list(range(0, 1000, 100))
    x = deterministic().double()
    for t, nxt in zip(kept, kept[1:]):
        x = D.inverse_step(s, dummy(x, t), t, x, nxt)[0]
    cases.append(("inverse DDIM leading:10, model at x's step", "ddim-reverse-step",
                  ["--respace", "leading:10"], kept[:-1], x, None))
    # DDPM on trailing:7 (last step 142 > 0: diffusers adds noise there, ours none) with
    # torch.manual_seed(0)'s draws given to both.
    s = _sched("ddpm", True, timestep_spacing="trailing")
    s.set_timesteps(7)
    kept = [int(t) for t in s.timesteps]
    g, x, draws = torch.manual_seed(0), deterministic().double(), {}
    for t in kept:
        z = torch.randn(SHAPE, generator=g)
        draws[t] = z.numpy()
        z = z * 0 if t == kept[-1] else z
        x = D.ddpm_step(s, dummy(x, t), t, x, z.double())[0]
    cases.append(("DDPM trailing:7", "p-sample", ["--respace", "trailing:7", "--var-type",
                  "fixedsmall"], kept, x, lambda t: {"noise": draws[t]}))
    for name, op, flags, steps, want, extra in cases:
        want = want.numpy()
        for dev in devices:
            got = _chain(ddpm, op, sched_flags + flags, deterministic().numpy(), steps, dev, extra)
            # Each step's result passes through a float32 file: ~1e-7 of |x| per step.
            bound = 2e-6 * len(steps) * (np.abs(want) + 1.0)
            err = np.abs(got - want)
            ok = bool(np.all(err <= bound))
            stats.count(f"{dev} loops vs diffusers (our semantics)", ok, want.size,
                        float(err.max()), float((err / bound).max()))
            if not ok:
                print(f"MISMATCH loop {name} on {dev}: max |err| {err.max():.3g}")
            print(f"loop {name} on {dev}: sum |x| ours {np.abs(got).sum():.4f}, diffusers "
                  f"(our semantics, float64) {np.abs(want).sum():.4f}")

