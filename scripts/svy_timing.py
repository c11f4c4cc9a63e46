"""Time the Python package ``svy`` (0.35, by samplics' author) on benchmark workload A.

Used by ``bench_estimate.py`` to print svy's time next to sid's and R's; svy is not a
dependency of sid, so :func:`time_svy` returns ``None`` when it cannot be imported.
Run as a script (where svy is installed) it checks svy's numbers against sid's and
prints the times:

    python scripts/svy_timing.py [1e5 1e6]
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np
import pandas as pd


def time_svy(data: pd.DataFrame) -> dict[str, float] | None:
    """svy's domain proportions with Taylor SEs on the workload-A sample; seconds, one run.

    ``data`` has the columns of ``bench_estimate.make_sample``: h (stratum), psu (PSU
    within stratum), dom, y (categories as float) and w (weight). Not timed: the copy
    to polars and building ``svy.Sample(df, svy.Design(stratum="h", psu="psu",
    wgt="w"))`` (without replacement, no fpc: R's ``svydesign(ids=~psu, strata=~h,
    weights=~w, nest=TRUE)``; svy's PSU ids are taken within strata). Timed with
    ``time.perf_counter`` (wall) and ``time.process_time`` (CPU; polars may use more
    than one core), each call once after one untimed warm-up call of its own:

    * ``prop``: ``sample.estimation.prop("y", by="dom")``, the share of each category
      of y in each domain with its Taylor (linearisation) SE, like R's
      ``svyby(~factor(y), ~dom, des, svymean)``. svy 0.35 has no SE-only mode: every
      call also returns a CI, by default the logit one below;
    * ``prop_logit``: the same call with ``ci_method="logit"`` spelled out: the Wald
      interval on the logit scale, ``expit(logit(p) -+ t_df * se / (p (1 - p)))``
      with df = PSUs - strata, in closed form over the result rows. It is R's
      ``svyciprop(method="logit")`` at convergence but fits no GLM, so it is the
      same work as ``prop`` (the two differ by noise only), unlike sid's and R's
      logit CI, which fit ``svyglm`` per domain and category.

    Returns ``{"prop", "prop_logit"}`` wall seconds and ``{"prop_cpu",
    "prop_logit_cpu"}`` CPU seconds, or ``None`` when svy (or polars) is not importable.
    """
    try:
        import polars as pl
        import svy
    except ImportError:
        return None
    sample = _sample(data, pl, svy)
    calls = {
        "prop": lambda: sample.estimation.prop("y", by="dom"),
        "prop_logit": lambda: sample.estimation.prop("y", by="dom", ci_method="logit"),
    }
    out: dict[str, float] = {}
    for name, call in calls.items():
        call()
        c0 = time.process_time()
        t0 = time.perf_counter()
        call()
        out[name] = time.perf_counter() - t0
        out[f"{name}_cpu"] = time.process_time() - c0
    return out


def _sample(data: pd.DataFrame, pl: Any, svy: Any) -> Any:
    return svy.Sample(pl.from_pandas(data[["h", "psu", "dom", "y", "w"]]),
                      svy.Design(stratum="h", psu="psu", wgt="w"))


def agreement(data: pd.DataFrame) -> dict[str, float]:
    """Largest relative differences of svy's prop from sid's estimate, same rows.

    share and SE against ``ci="t"``; svy's logit CI bounds against sid's default
    logit CI (R's svyglm fit, which carries glm's early stop at about 1e-8).
    """
    import polars as pl
    import svy

    from sid.design import Design
    from sid.estimation import estimate

    got = (_sample(data, pl, svy).estimation.prop("y", by="dom").to_polars()
           .sort("dom", "y").to_pandas())
    design = Design(data, weight="w", strata="h", psu="psu")
    t = estimate(design, "proportion", "y", by="dom", ci="t")
    logit = estimate(design, "proportion", "y", by="dom")
    for ref in (t, logit):
        if not (np.array_equal(got["dom"], ref["dom"])
                and np.array_equal(got["y"], ref["category"].astype(float))):
            raise AssertionError("svy and sid rows differ")

    def rel(a: pd.Series, b: pd.Series) -> float:
        return float(np.max(np.abs(a.to_numpy() / b.to_numpy() - 1)))

    return {"share": rel(got["est"], t["estimate"]), "se": rel(got["se"], t["se"]),
            "lci_vs_logit": rel(got["lci"], logit["ci_low"]),
            "uci_vs_logit": rel(got["uci"], logit["ci_high"])}


def main(argv: list[str]) -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_estimate import make_sample

    print("load average at start:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    for i, n in enumerate(int(float(a)) for a in (argv or ["1e5", "1e6"])):
        data = make_sample(n)
        if i == 0:
            print(f"n={n:.0e} largest rel. difference svy / sid:", ", ".join(
                f"{k} {v:.1e}" for k, v in agreement(data).items()))
        r = time_svy(data)
        if r is None:
            print("svy is not importable")
            return 1
        print(f"n={n:.0e} svy seconds (wall / cpu, one run):", ", ".join(
            f"{k} {r[k]:.3f} / {r[k + '_cpu']:.3f}" for k in ("prop", "prop_logit")))
    print("load average at end:", " ".join(f"{v:.2f}" for v in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
