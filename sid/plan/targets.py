"""Required net and gross sample per group for each target, from the precision
a wave achieved (:func:`sid.plan.precision.achieved_precision`).

Targets:

* ``moe``: every figure of the group within +/- ``moe``. Per proportion
  indicator the measured p and deff give the net n **in the indicator's base**
  (:func:`sid.plan.formulas.n_for_moe`, finite-population correction with the
  base's population = group population x weighted base share); dividing by the
  base share (interviews in the base per interview) gives interviews. A row
  with ``indicator`` empty is the worst case p = 0.5 on all respondents with the
  group's median deff.
* ``power``: detect a difference of ``delta`` from the reference group with
  ``power`` at two-sided ``alpha``: ``p1`` = the reference group's share,
  ``p2 = p1 + delta`` towards 0.5 (the larger variance, so the conservative
  side), n per group = ``ceil(deff x power.prop.test n)`` with the group's deff.

Then ``n_gross = ceil(n_net / response_rate)`` (eligible persons to approach)
and ``n_draw = ceil(n_gross / eligibility_rate)`` (addresses to draw).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sid.errors import PlanError
from sid.plan.formulas import n_for_difference, n_for_moe

REQUIREMENT_COLUMNS = (
    "group", "target", "indicator", "label", "p", "p2", "deff", "base_population", "n_base",
    "base_share", "n_net", "response_rate", "n_gross", "eligibility_rate", "n_draw",
)
SUMMARY_COLUMNS = (
    "group", "population", "n_now", "response_rate", "eligibility_rate", "deff_median",
    "target", "n_net_p50", "n_gross_p50", "n_draw_p50", "n_net_max", "n_gross_max",
    "n_draw_max", "binding_indicator",
)


def _usable(p: float, deff: float) -> bool:
    return 0 < p < 1 and math.isfinite(deff) and deff > 0


def group_deff(precision: pd.DataFrame) -> pd.Series:
    """The median total deff of each group's proportion indicators (usable rows only)."""
    prop = precision[(precision["stat"] == "proportion") & (precision["estimate"] > 0)
                     & (precision["estimate"] < 1) & (precision["deff"] > 0)]
    return prop.groupby("group")["deff"].median().rename("deff_median")


def requirements(precision: pd.DataFrame, populations: pd.Series, rates: pd.DataFrame, *,
                 moe: float = 0.03, conf_level: float = 0.95, power: float | None = None,
                 delta: float | None = None, alpha: float = 0.05,
                 reference: float | None = 1.0) -> pd.DataFrame:
    """Net, gross and drawn n per group, target and indicator (:data:`REQUIREMENT_COLUMNS`)."""
    if (power is None) != (delta is None):
        raise PlanError("give both power and delta for the power target", where="power",
                        got=f"power={power}, delta={delta}", fix="e.g. --power 0.8 --delta 0.05")
    rates = rates.set_index("group")
    deff_med = group_deff(precision)
    prop = precision[precision["stat"] == "proportion"]
    rows: list[dict] = []

    def finish(row: dict, n_base: int, base_share: float) -> None:
        g = row["group"]
        rr = float(rates.loc[g, "response_rate"])
        el = float(rates.loc[g, "eligibility_rate"])
        n_net = math.ceil(n_base / base_share) if base_share < 1 else n_base
        n_gross = math.ceil(n_net / rr)
        row.update(n_base=n_base, base_share=base_share, n_net=n_net, response_rate=rr,
                   n_gross=n_gross, eligibility_rate=el,
                   n_draw=math.ceil(n_gross / el) if el < 1 else n_gross)
        rows.append(row)

    ref_p = {}
    if power is not None and reference is not None:
        ref_rows = prop[prop["group"] == float(reference)]
        ref_p = dict(zip(ref_rows["indicator"], ref_rows["estimate"], strict=True))
    for g in sorted(prop["group"].unique()):
        pop = float(populations.loc[g])
        dm = float(deff_med.get(g, np.nan))
        if math.isfinite(dm):
            r = n_for_moe(0.5, moe, dm, pop, conf_level=conf_level)
            finish({"group": g, "target": "moe", "indicator": "", "label": "", "p": 0.5,
                    "p2": np.nan, "deff": dm, "base_population": pop}, r.n_net, 1.0)
        sub = prop[prop["group"] == g]
        for row in sub.itertuples():
            if not _usable(row.estimate, row.deff) or row.base_share <= 0:
                continue
            base_pop = pop * row.weighted_base_share
            r = n_for_moe(row.estimate, moe, row.deff, base_pop if base_pop >= 1 else None,
                          conf_level=conf_level)
            finish({"group": g, "target": "moe", "indicator": row.indicator, "label": row.label,
                    "p": row.estimate, "p2": np.nan, "deff": row.deff,
                    "base_population": base_pop}, r.n_net, row.base_share)
        if power is None or delta is None or reference is None or g == float(reference):
            continue
        if math.isfinite(dm):
            s = n_for_difference(0.5, 0.5 - delta, power, alpha, dm)
            finish({"group": g, "target": "power", "indicator": "", "label": "", "p": 0.5,
                    "p2": 0.5 - delta, "deff": dm, "base_population": pop}, s.n_net, 1.0)
        for row in sub.itertuples():
            p1 = ref_p.get(row.indicator, np.nan)
            if not (_usable(p1, row.deff) and row.base_share > 0):
                continue
            p2 = p1 + delta if p1 < 0.5 else p1 - delta
            if not 0 < p2 < 1:
                continue
            s = n_for_difference(p1, p2, power, alpha, row.deff)
            finish({"group": g, "target": "power", "indicator": row.indicator,
                    "label": row.label, "p": p1, "p2": p2, "deff": row.deff,
                    "base_population": pop * row.weighted_base_share}, s.n_net, row.base_share)
    out = pd.DataFrame(rows, columns=list(REQUIREMENT_COLUMNS))
    for c in ("n_base", "n_net", "n_gross", "n_draw"):
        out[c] = out[c].astype(np.int64)
    return out


def summary(requirements_frame: pd.DataFrame, precision: pd.DataFrame,
            populations: pd.Series, rates: pd.DataFrame) -> pd.DataFrame:
    """One row per group and target: worst case p = 0.5 and the binding indicator."""
    rates = rates.set_index("group")
    n_now = precision.groupby("group")["n_group"].first()
    deff_med = group_deff(precision)
    rows = []
    for (g, target), sub in requirements_frame.groupby(["group", "target"], sort=True):
        worst = sub[sub["indicator"] == ""]
        ind = sub[sub["indicator"] != ""]
        top = ind.loc[ind["n_net"].idxmax()] if len(ind) else None
        rows.append({
            "group": g, "population": float(populations.loc[g]), "n_now": int(n_now.get(g, 0)),
            "response_rate": float(rates.loc[g, "response_rate"]),
            "eligibility_rate": float(rates.loc[g, "eligibility_rate"]),
            "deff_median": float(deff_med.get(g, np.nan)), "target": target,
            "n_net_p50": int(worst["n_net"].iloc[0]) if len(worst) else -1,
            "n_gross_p50": int(worst["n_gross"].iloc[0]) if len(worst) else -1,
            "n_draw_p50": int(worst["n_draw"].iloc[0]) if len(worst) else -1,
            "n_net_max": int(top["n_net"]) if top is not None else -1,
            "n_gross_max": int(top["n_gross"]) if top is not None else -1,
            "n_draw_max": int(top["n_draw"]) if top is not None else -1,
            "binding_indicator": str(top["indicator"]) if top is not None else "",
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
