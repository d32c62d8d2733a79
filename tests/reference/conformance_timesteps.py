"""`ddpm timesteps` against diffusers' set_timesteps (DDPMScheduler, DDIMScheduler and the
ascending DDIMInverseScheduler) and improved-diffusion's space_timesteps (the port)."""
import improved_port as I
from conformance_cases import diffusers_timesteps
from diffusers import DDIMInverseScheduler, DDIMScheduler

# (T, N values): every N for small T; for large T the edge cases and a spread.
TS = [(1, None), (2, None), (7, None), (10, None), (50, None), (100, None),
      (999, [1, 2, 3, 7, 10, 13, 15, 23, 50, 100, 333, 500, 998, 999]),
      (1000, [1, 2, 3, 7, 10, 13, 25, 29, 50, 100, 250, 333, 500, 999, 1000]),
      (1234, [1, 5, 10, 17, 100, 617, 1233, 1234])]
OFFSETS = [0, 1, 2]
IMPROVED = {1: ["1", "ddim1"], 7: ["2,1,2", "7", "ddim3", "ddim7", "1,1,1", "3,3,3"],
            10: ["2,1,3", "10", "ddim5", "ddim4", "5,5,5", "0,1"],
            100: ["10", "ddim10", "ddim25", "ddim30", "10,15,20", "1,2,3,4", "50,50"],
            1000: ["ddim50", "ddim100", "ddim250", "ddim999", "ddim1000", "250", "10,15,20",
                   "1,1", "ddim7", "100,200,300"],
            999: ["ddim10", "ddim13", "333,333,333", "334,1,1"]}


def valid(ts, T, n):
    return len(ts) == n and min(ts) >= 0 and max(ts) < T and len(set(ts)) == len(ts)


def configs():
    """(spacing, T, N, offset) of every diffusers case."""
    out = []
    for T, ns in TS:
        for n in ns or range(1, T + 1):
            for spacing in ("leading", "linspace", "trailing"):
                # steps_offset only acts on leading; ours must ignore it elsewhere too.
                for k in OFFSETS if spacing == "leading" else [0, 1]:
                    out.append((spacing, T, n, k))
    return out


def check_schedulers_agree(spacing, T, n, k, want):
    """DDIMScheduler computes the same list; DDIMInverseScheduler its reverse (leading and
    trailing only)."""
    s = DDIMScheduler(num_train_timesteps=T, timestep_spacing=spacing, steps_offset=k)
    s.set_timesteps(n)
    assert [int(v) for v in s.timesteps] == want, ("DDIMScheduler", spacing, T, n, k)
    if spacing != "linspace":
        s = DDIMInverseScheduler(num_train_timesteps=T, timestep_spacing=spacing, steps_offset=k)
        s.set_timesteps(n)
        assert [int(v) for v in s.timesteps] == want[::-1], ("inverse", spacing, T, n, k)


def run(ddpm, stats, fixture_lines):
    """Every config through `ddpm timesteps`; the fixture lines for tests/sampler_conformance.rs
    (`spacing T N offset: t t t ...` or `...: error`)."""
    fails = 0
    for spacing, T, n, k in configs():
        want = diffusers_timesteps(spacing, k, T, n)
        check_schedulers_agree(spacing, T, n, k, want)
        got, err = ddpm.timesteps(T, n, spacing, k)
        ok_want = valid(want, T, n)
        if ok_want:
            good = got == want
        else:  # diffusers' list is not a chain: ours must refuse it with a message
            good = got is None and ("outside" in err or "repeats" in err)
        stats.count("timesteps (diffusers)", good, 1)
        if not good:
            fails += 1
            print(f"MISMATCH timesteps {spacing} T={T} N={n} offset={k}: diffusers {want[:8]}..."
                  f" ours {got if got is None else got[:8]} {err.strip()}")
        # The fixtures: all of small T, a spread of large T, the whole N = T list once per T.
        keep = T <= 50 or n in (1, 2, 7, 10, 13, 29) or (n == T and spacing == "leading")
        if keep and (k == 0 or n < 100) or not ok_want:
            body = " ".join(map(str, want)) if ok_want else "error"
            fixture_lines.append(f"{spacing} {T} {n} {k}: {body}")
    for T, specs in IMPROVED.items():
        for spec in specs:
            try:
                want = I.space_timesteps(T, spec)[::-1]
            except ValueError:
                want = None
            got, err = ddpm.timesteps(T, None, f"improved:{spec}", 0)
            good = got == want if want is not None else got is None
            stats.count("timesteps (improved-diffusion)", good, 1)
            if not good:
                fails += 1
                print(f"MISMATCH timesteps improved:{spec} T={T}: port {want} ours {got} {err}")
            body = "error" if want is None else " ".join(map(str, want))
            fixture_lines.append(f"improved:{spec} {T} 0 0: {body}")
    return fails
