"""Benchmark: sid.weighting.raking versus a minimal row-level numpy IPF (and R's rake() if present).

Usage: .venv/bin/python scripts/bench_weighting.py [--sizes 100000 1000000] [--no-r]

Raking on 4 margins (sex 2, age 6, origin 7, province 6 categories). Both sid and
the reference stop on the same criterion (largest relative margin gap <= 1e-10)
and both report their iterations. sid does everything a user gets: input checks,
margin resolution, raking on the cells of the cross of the margin variables
(mapped back to rows), gaps and weight summaries in the record. Prints seconds
(best of --repeat, sid and numpy interleaved), the ratio sid / numpy (goal: <= 2)
and, at n = 1e5 when Rscript is on the PATH, R's rake() with the same tolerance.
Two data sets per size: weights independent of the margin variables (IPF converges in
~2 iterations, so the fixed per-call cost dominates: the harder case for sid) and
weights that depend on them (several iterations, where raking on cells pays off).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd

from sid.weighting import rake

CATS = {"sex": 2, "age": 6, "origin": 7, "prov": 6}
TOL = 1e-10


def make(n: int, seed: int = 1, dependent: bool = True) -> tuple[pd.DataFrame, dict]:
    """Random categories and weights. ``dependent``: the weights depend on the categories
    (as design weights by origin do), so raking needs several iterations; otherwise
    the weights are independent of them and IPF converges in about two iterations,
    which leaves only per-call overhead to compare."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({k: rng.integers(1, c + 1, n).astype(float) for k, c in CATS.items()})
    d["w"] = rng.uniform(1, 10, n)
    if dependent:
        d["w"] *= 1 + 0.3 * d["sex"] + 0.2 * d["origin"] * d["age"] / 6
    total = 1e7
    margins = {}
    for k, c in CATS.items():
        shares = rng.uniform(0.5, 1.5, c)
        margins[k] = {float(i + 1): total * s / shares.sum() for i, s in enumerate(shares)}
    return d, margins


def numpy_ipf(d: pd.DataFrame, margins: dict, tol: float = TOL,
              max_iter: int = 1000) -> tuple[np.ndarray, int]:
    """The plainest IPF: per margin, bincount over rows and rescale every row.

    Same stopping rule as sid: largest relative gap of any margin category <= tol.
    """
    w = d["w"].to_numpy().copy()
    codes = {k: d[k].to_numpy().astype(np.int64) for k in margins}
    targets = {k: np.array([0.0] + [margins[k][float(i)] for i in range(1, len(margins[k]) + 1)])
               for k in margins}
    it = 0
    while it < max_iter:
        it += 1
        for k in margins:
            tot = np.bincount(codes[k], weights=w, minlength=len(targets[k]))
            adj = np.divide(targets[k], tot, out=np.ones_like(tot), where=tot > 0)
            w *= adj[codes[k]]
        gap = max(np.max(np.abs(np.bincount(codes[k], weights=w)[1:] - targets[k][1:]) / targets[k][1:])
                  for k in margins)
        if gap <= tol:
            break
    return w, it


def time_r(d: pd.DataFrame, margins: dict) -> float | None:
    """Seconds for R's rake() (best of 3) with epsilon = TOL relative, or None without R."""
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        d.to_csv(f"{tmp}/d.csv", index=False)
        pops = []
        for k, m in margins.items():
            pd.DataFrame({k: list(m), "Freq": list(m.values())}).to_csv(f"{tmp}/{k}.csv", index=False)
            pops.append(f'read.csv("{tmp}/{k}.csv")')
        # R's epsilon < 1 is relative to the sum of the weights and compares table cells
        script = f"""suppressMessages(library(survey)); d <- read.csv("{tmp}/d.csv")
des <- svydesign(ids=~1, weights=~w, data=d)
pops <- list({", ".join(pops)})
t <- min(replicate(3, system.time(rake(des, list({", ".join("~" + k for k in margins)}), pops,
                      control=list(maxit=1000, epsilon={TOL})))[["elapsed"]]))
cat(t)"""
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
        try:
            return float(out.stdout.strip().split()[-1])
        except (ValueError, IndexError):
            return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--no-r", action="store_true", help="skip R's rake() (timed at n <= 1e5 only)")
    args = ap.parse_args()
    for n, dependent in [(n, dep) for dep in (False, True) for n in args.sizes]:
        d, margins = make(n, dependent=dependent)
        res = rake(d, "w", margins, tol=TOL)
        b, it_np = numpy_ipf(d, margins)
        a = res.weights.to_numpy()
        assert np.allclose(a, b, rtol=1e-8, atol=0), "sid and numpy IPF disagree"
        t_sid, t_np = [], []
        for _ in range(args.repeat):  # interleaved, so load on the machine hits both alike
            t = time.perf_counter()
            rake(d, "w", margins, tol=TOL)
            t_sid.append(time.perf_counter() - t)
            t = time.perf_counter()
            numpy_ipf(d, margins)
            t_np.append(time.perf_counter() - t)
        s, p = min(t_sid), min(t_np)
        line = (f"{'dependent' if dependent else 'independent'} weights  n={n:>9,}  sid {s:.4f}s ({res.record.iterations} it, "
                f"{res.record.params['cells']} cells)  numpy IPF {p:.4f}s ({it_np} it)  "
                f"ratio sid/numpy {s / p:.2f}")
        if not args.no_r and n <= 100_000 and dependent:
            t_r = time_r(d, margins)
            if t_r is not None:
                line += f"  R rake {t_r:.3f}s  ratio R/sid {t_r / s:.0f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
