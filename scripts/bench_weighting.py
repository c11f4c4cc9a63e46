"""Benchmark: sid.weighting.rake versus a minimal row-level numpy IPF (and R's rake() if present).

Usage: .venv/bin/python scripts/bench_weighting.py [--sizes 100000 1000000] [--r]
Prints seconds per method and the ratio sid / numpy (goal: <= 2).
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


def make(n: int, seed: int = 1) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({k: rng.integers(1, c + 1, n).astype(float) for k, c in CATS.items()})
    d["w"] = rng.uniform(1, 10, n)
    total = 1e7
    margins = {}
    for k, c in CATS.items():
        shares = rng.uniform(0.5, 1.5, c)
        margins[k] = {float(i + 1): total * s / shares.sum() for i, s in enumerate(shares)}
    return d, margins


def numpy_ipf(d: pd.DataFrame, margins: dict, tol: float = 1e-10, max_iter: int = 1000) -> np.ndarray:
    """The plainest IPF: per margin, bincount over rows and rescale every row."""
    w = d["w"].to_numpy().copy()
    codes = {k: d[k].to_numpy().astype(np.int64) for k in margins}
    targets = {k: np.array([0.0] + [margins[k][float(i)] for i in range(1, len(margins[k]) + 1)])
               for k in margins}
    for _ in range(max_iter):
        for k in margins:
            tot = np.bincount(codes[k], weights=w, minlength=len(targets[k]))
            adj = np.divide(targets[k], tot, out=np.ones_like(tot), where=tot > 0)
            w *= adj[codes[k]]
        gap = max(np.max(np.abs(np.bincount(codes[k], weights=w)[1:] - targets[k][1:]) / targets[k][1:])
                  for k in margins)
        if gap <= tol:
            break
    return w


def time_r(d: pd.DataFrame, margins: dict) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        d.to_csv(f"{tmp}/d.csv", index=False)
        pops = []
        for k, m in margins.items():
            pd.DataFrame({k: list(m), "Freq": list(m.values())}).to_csv(f"{tmp}/{k}.csv", index=False)
            pops.append(f'read.csv("{tmp}/{k}.csv")')
        script = f"""suppressMessages(library(survey)); d <- read.csv("{tmp}/d.csv")
des <- svydesign(ids=~1, weights=~w, data=d)
pops <- list({", ".join(pops)})
t <- system.time(rake(des, list({", ".join("~" + k for k in margins)}), pops,
                      control=list(maxit=1000, epsilon=1e-10)))[["elapsed"]]
cat(t)"""
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=False)
        try:
            return float(out.stdout.strip().split()[-1])
        except (ValueError, IndexError):
            return None


def best(f, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--r", action="store_true", help="also time R's rake() (slow at 1e6)")
    args = ap.parse_args()
    for n in args.sizes:
        d, margins = make(n)
        a = rake(d, "w", margins).weights.to_numpy()
        b = numpy_ipf(d, margins)
        assert np.allclose(a, b, rtol=1e-8, atol=0), "sid and numpy IPF disagree"
        t_sid = best(lambda d=d, margins=margins: rake(d, "w", margins))
        t_np = best(lambda d=d, margins=margins: numpy_ipf(d, margins))
        line = f"n={n:>9,}  sid {t_sid:.3f}s  numpy IPF {t_np:.3f}s  ratio sid/numpy {t_sid / t_np:.2f}"
        if args.r:
            t_r = time_r(d, margins)
            if t_r is not None:
                line += f"  R rake {t_r:.2f}s  ratio sid/R {t_sid / t_r:.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
