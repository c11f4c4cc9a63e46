"""Splitting a fixed number of interviews across origin groups.

Each group is described by the proportion to plan for ``p`` (0.5, the worst
case, by default), its design effect ``deff``, its population ``population``
and optionally its response rate. The half-width a group gets from ``n``
interviews is :func:`sid.plan.formulas.half_width` (the inverse of the
sample-size formula, with the finite-population correction). Scenarios:

* ``equal``: the budget split equally (SID's practice: ~750 per group);
* ``proportional``: in proportion to the group populations;
* ``minimax``: the split that makes the largest half-width as small as
  possible (greedy on integers: each next interview goes to the group with the
  widest interval, which is optimal because every half-width falls with n);
* ``cheapest``: the smallest sample meeting ``moe`` in every group (its total
  may exceed the budget, or leave part of it unused).

Integer splits of equal and proportional use the largest-remainder rule; no
group gets more interviews than its population.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sid.errors import PlanError
from sid.plan.formulas import check_deff, check_moe, check_p, half_width, n_for_moe

ALLOCATION_COLUMNS = ("scenario", "group", "n_net", "share", "p", "deff", "population",
                      "half_width", "moe", "meets_target", "response_rate", "n_gross")
GROUP_COLUMNS = ("group", "p", "deff", "population", "response_rate")
SCENARIOS = ("equal", "proportional", "minimax", "cheapest")


def _check_groups(groups: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("group", "deff", "population") if c not in groups.columns]
    if missing:
        raise PlanError(f"group table lacks column(s) {', '.join(missing)}", where="allocation",
                        fix=f"give columns {', '.join(GROUP_COLUMNS)}")
    g = groups.copy()
    if "p" not in g.columns:
        g["p"] = 0.5
    if "response_rate" not in g.columns:
        g["response_rate"] = np.nan
    for row in g.itertuples():
        check_p(row.p, f"p of group {row.group}")
        check_deff(row.deff, f"deff of group {row.group}")
    return g.reset_index(drop=True)


def _largest_remainder(quota: np.ndarray, total: int, cap: np.ndarray) -> np.ndarray:
    """Integers summing to ``total`` close to ``quota`` (Hamilton), none above ``cap``."""
    quota = np.minimum(quota.astype(float), cap)
    n = np.floor(quota).astype(np.int64)
    left = total - int(n.sum())
    order = np.argsort(-(quota - n), kind="stable")
    while left > 0:
        moved = False
        for i in order:
            if left == 0:
                break
            if n[i] < cap[i]:
                n[i] += 1
                left -= 1
                moved = True
        if not moved:
            break
    return n


def _capped_split(weights: np.ndarray, total: int, cap: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weights``, redistributing what the caps cut off."""
    fixed = np.zeros(len(weights), dtype=bool)
    quota = np.zeros(len(weights))
    for _ in range(len(weights)):
        free = ~fixed
        rest = total - cap[fixed].sum()
        quota[free] = rest * weights[free] / weights[free].sum()
        quota[fixed] = cap[fixed]
        over = free & (quota > cap)
        if not over.any():
            break
        fixed |= over
    return _largest_remainder(quota, total, cap)


def _widths(g: pd.DataFrame, n: np.ndarray, conf_level: float) -> np.ndarray:
    return np.array([half_width(float(k), r.p, r.deff, r.population, conf_level)
                     for k, r in zip(n, g.itertuples(), strict=True)])


def _minimax(g: pd.DataFrame, total: int, cap: np.ndarray, conf_level: float) -> np.ndarray:
    """Greedy integer minimax: start from the continuous optimum's floor, then add one
    interview at a time to the group whose half-width is largest."""
    def need(e: float) -> np.ndarray:
        out = np.empty(len(g))
        for i, r in enumerate(g.itertuples()):
            out[i] = min(cap[i], n_for_moe(r.p, e, r.deff, r.population, conf_level=conf_level).n)
        return out

    lo, hi = 1e-6, 0.499
    for _ in range(100):  # bisection on the common half-width
        mid = math.sqrt(lo * hi)
        if need(mid).sum() > total:
            lo = mid
        else:
            hi = mid
    n = np.minimum(np.floor(need(hi)).astype(np.int64), cap)
    n = np.maximum(n, np.minimum(1, cap))
    while n.sum() > total:  # floor(need) may overshoot only through the floor of 1
        i = int(np.argmax(n))
        n[i] -= 1
    heap = [(-w, i) for i, w in enumerate(_widths(g, n, conf_level)) if n[i] < cap[i]]
    heapq.heapify(heap)
    left = total - int(n.sum())
    while left > 0 and heap:
        _, i = heapq.heappop(heap)
        n[i] += 1
        left -= 1
        if n[i] < cap[i]:
            r = g.iloc[i]
            heapq.heappush(heap, (-half_width(float(n[i]), r.p, r.deff, r.population, conf_level), i))
    return n


def allocate(groups: pd.DataFrame, budget: int, *, moe: float | None = None,
             conf_level: float = 0.95,
             scenarios: Sequence[str] = SCENARIOS) -> pd.DataFrame:
    """Net interviews per group under each scenario, with the half-width each group gets.

    ``groups`` has :data:`GROUP_COLUMNS` (``p`` defaults to 0.5,
    ``response_rate`` is optional: then ``n_gross`` is -1). ``moe`` is the
    target half-width (needed for ``cheapest`` and ``meets_target``). Returns
    :data:`ALLOCATION_COLUMNS`, one row per scenario and group.
    """
    g = _check_groups(groups)
    if isinstance(budget, bool) or not float(budget).is_integer() or budget < len(g):
        raise PlanError("the budget must be a whole number of interviews, at least one per group",
                        where="budget", got=str(budget), fix=f"e.g. --budget {750 * len(g)}")
    budget = int(budget)
    if moe is not None:
        moe = check_moe(moe)
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown or (moe is None and "cheapest" in scenarios):
        raise PlanError("unknown scenario, or cheapest without a target moe", where="scenarios",
                        got=", ".join(scenarios), fix=f"use {', '.join(SCENARIOS)} (cheapest needs moe)")
    cap = np.floor(g["population"].to_numpy(dtype=float)).astype(np.int64)
    if cap.sum() < budget:
        raise PlanError("the budget exceeds the total population of the groups", where="budget",
                        got=f"{budget} > {int(cap.sum())}", fix="give a smaller budget")
    parts = []
    for scenario in scenarios:
        if scenario == "equal":
            n = _capped_split(np.ones(len(g)), budget, cap)
        elif scenario == "proportional":
            n = _capped_split(g["population"].to_numpy(dtype=float), budget, cap)
        elif scenario == "minimax":
            n = _minimax(g, budget, cap, conf_level)
        else:  # cheapest: every group at the target (checked above: moe is given)
            target = float(moe) if moe is not None else math.nan
            n = np.array([n_for_moe(r.p, target, r.deff, r.population, conf_level=conf_level).n_net
                          for r in g.itertuples()], dtype=np.int64)
        widths = _widths(g, n, conf_level)
        rr = g["response_rate"].to_numpy(dtype=float)
        gross = np.array([math.ceil(k / r) if math.isfinite(r) and r > 0 else -1
                          for k, r in zip(n, rr, strict=True)], dtype=np.int64)
        parts.append(pd.DataFrame({
            "scenario": scenario, "group": g["group"].to_numpy(), "n_net": n.astype(np.int64),
            "share": n / n.sum(), "p": g["p"].to_numpy(dtype=float),
            "deff": g["deff"].to_numpy(dtype=float),
            "population": g["population"].to_numpy(dtype=float), "half_width": widths,
            "moe": np.nan if moe is None else moe,
            "meets_target": (widths <= moe) if moe is not None else False,
            "response_rate": rr, "n_gross": gross,
        }))
    return pd.concat(parts, ignore_index=True)[list(ALLOCATION_COLUMNS)]


def half_width_curve(groups: pd.DataFrame, sizes: Sequence[int],
                     conf_level: float = 0.95) -> pd.DataFrame:
    """Half-width against n per group (columns ``group, n, half_width``), for the chart."""
    g = _check_groups(groups)
    rows = [(r.group, int(k), half_width(float(k), r.p, r.deff, r.population, conf_level))
            for r in g.itertuples() for k in sizes]
    return pd.DataFrame(rows, columns=["group", "n", "half_width"])
