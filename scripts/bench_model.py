"""Benchmark sid.model.glm: a 10-term logistic model on a 5,000-row wave (issue 12).

Run:  .venv/bin/python scripts/bench_model.py [--repeat 7]

Prints, for n = 5,000 (the target: < 50 ms after import) and for 10k, 20k and 40k rows
(growth should be linear), the median wall time of

* ``sid.model.glm(design, formula, "binomial")``: formula, coding, missing values,
  checks, IRLS to full convergence and the design-based (Taylor, stratified cluster)
  covariance through sid.variance;
* a plain numpy weighted IRLS on the ready-made model matrix (Newton steps on the
  normal equations, same stopping rule, no variance): the floor any implementation pays;

timed interleaved in the same run (fit, numpy, fit, numpy, ...), median of ``--repeat``.
BLAS runs single-threaded unless OPENBLAS_NUM_THREADS is set: on a small shared machine
OpenBLAS threads spin against other processes and make every 5000 x 20 product 10-100x
slower and the timings meaningless (both sides alike); the model's matrices are small.
The wave is generated here (a frame shaped like an SID wave: 7 origin groups x 2 regions
as strata, municipalities as PSUs, design weights, ~3% missing on the outcome).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

FORMULA = ("werk_behandeld ~ leeftijd + I(leeftijd ** 2) + geslacht + gewest + herkomst"
           " + opleiding + taal + kinderen + duur + leeftijd:geslacht")


def wave(n: int, seed: int = 20260101) -> pd.DataFrame:
    """A synthetic SID-like wave with a realistic dependence of the outcome."""
    rng = np.random.default_rng(seed)
    herkomst = rng.integers(1, 8, n)
    gewest = rng.integers(1, 3, n)
    stratum = herkomst * 10 + gewest
    psu = stratum * 1000 + rng.integers(0, max(4, n // 250), n)
    leeftijd = rng.uniform(18, 75, n).round()
    geslacht = rng.integers(1, 3, n)
    opleiding = rng.integers(1, 5, n)
    taal = rng.integers(1, 5, n)
    kinderen = rng.poisson(1.2, n).astype(float)
    duur = rng.uniform(0, 40, n)
    eta = (-1.5 + 0.25 * (herkomst > 1) + 0.1 * herkomst - 0.01 * (leeftijd - 45)
           + 0.2 * (geslacht == 2) - 0.15 * opleiding + 0.1 * taal - 0.01 * duur)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    y[rng.uniform(size=n) < 0.03] = np.nan
    w = rng.uniform(50, 400, n) * np.where(herkomst == 1, 4.0, 1.0)
    return pd.DataFrame({
        "stratum": stratum, "psu": psu, "base_wt": w, "werk_behandeld": y,
        "leeftijd": leeftijd, "geslacht": geslacht, "gewest": gewest, "herkomst": herkomst,
        "opleiding": opleiding, "taal": taal, "kinderen": kinderen, "duur": duur,
    })


def numpy_irls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Plain weighted logistic IRLS (normal equations), to the same 1e-12 stopping rule."""
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        eta = X @ beta
        mu = 1 / (1 + np.exp(-eta))
        ww = w * mu * (1 - mu)
        step = np.linalg.solve((X * ww[:, None]).T @ X, X.T @ (w * (y - mu)))
        beta = beta + step
        if np.max(np.abs(step) / (np.abs(beta) + 1)) <= 1e-12:
            break
    return beta


def bench(n: int, repeat: int) -> tuple[float, float, int]:
    from sid.design import Design
    from sid.model import fit

    data = wave(n)
    design = Design(data, weight="base_wt", strata="stratum", psu="psu")
    cats = ["geslacht", "gewest", "herkomst", "opleiding", "taal"]
    model = fit(design, FORMULA, "binomial", categorical=cats)  # warm-up (imports, caches)
    assert model.frame is not None
    X, y, w = model.frame.X, model.frame.y, design.w[model.frame.rows]
    ref = numpy_irls(X, y, w)
    assert np.allclose(ref, model.coef, rtol=1e-8, atol=1e-10), "numpy IRLS disagrees"
    t_fit, t_np = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fit(design, FORMULA, "binomial", categorical=cats)
        t1 = time.perf_counter()
        numpy_irls(X, y, w)
        t2 = time.perf_counter()
        t_fit.append(t1 - t0)
        t_np.append(t2 - t1)
    return statistics.median(t_fit), statistics.median(t_np), len(model.coef)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", default="5000,10000,20000,40000")
    args = parser.parse_args()
    print(f"formula: {FORMULA}")
    print(f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, median of {args.repeat}")
    print(f"{'n':>7} {'coef':>5} {'sid fit ms':>11} {'numpy ms':>9} {'ratio':>6} "
          f"{'us/row':>7}")
    for n in (int(s) for s in args.sizes.split(",")):
        t_fit, t_np, p = bench(n, args.repeat)
        print(f"{n:>7} {p:>5} {1000 * t_fit:>11.1f} {1000 * t_np:>9.1f} {t_fit / t_np:>6.1f} "
              f"{1e6 * t_fit / n:>7.2f}")


if __name__ == "__main__":
    main()
