"""The precision a weighted wave achieved, per origin group and indicator.

For each indicator (a 0/1 column for a proportion, or a numeric column for a
mean, with its base as a ``where`` domain) :func:`achieved_precision` calls
:func:`sid.estimation.estimate` once with ``by=group`` and ``deff=True`` and adds
what planning needs: the half-width ``z * se`` of the normal interval (the
quantity the sample-size formula controls), Kish's weighting design effect
``deff_w = n sum(w^2) / (sum w)^2`` over the estimate's respondents, the
effective sample size ``n / deff`` and the share of the group's interviews
that fall in the indicator's base (``base_share``: workers among all
respondents, say), needed to turn "n in the base" into "interviews".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import PlanError
from sid.estimation import estimate, where_mask
from sid.plan.formulas import z_value

PRECISION_COLUMNS = (
    "indicator", "label", "stat", "group", "estimate", "se", "half_width", "conf_level", "n",
    "n_group", "base_share", "n_weighted", "weighted_base_share", "deff", "deff_w", "n_eff",
)


@dataclass(frozen=True)
class Indicator:
    """One planned figure: ``column`` in the design's data, ``stat`` proportion
    (``column`` is 0/1, missing outside the valid answers) or mean, on the base
    ``where`` (a sid.expr expression; None = everyone)."""

    id: str
    label: str
    column: str
    stat: str = "proportion"
    where: str | None = None


def _kish(w: np.ndarray, member: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Kish's deff_w per group code 0..k-1 over ``member`` rows with weight > 0."""
    m = member & (w > 0) & (codes >= 0)
    c = codes[m]
    wm = w[m]
    n = np.bincount(c, minlength=k).astype(float)
    s1 = np.bincount(c, weights=wm, minlength=k)
    s2 = np.bincount(c, weights=wm * wm, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        return n * s2 / (s1 * s1)


def achieved_precision(design: Design, indicators: Sequence[Indicator], group: str,
                       conf_level: float = 0.95) -> pd.DataFrame:
    """Estimate, SE, half-width, deff, Kish deff_w and effective n per group and indicator.

    ``se``, ``estimate``, ``n``, ``n_weighted`` and ``deff`` are
    :func:`sid.estimation.estimate`'s (proportions: the share of 1s, R's
    ``svymean``; the SE is the same for every CI method). Returns a frame with
    :data:`PRECISION_COLUMNS`, indicators in the given order, groups sorted.
    """
    if group not in design.data.columns:
        raise PlanError(f"group variable {group!r} is not in the data", where="group",
                        fix="give the origin variable of the wave")
    z = z_value(conf_level)
    gvals = pd.to_numeric(design.data[group], errors="coerce").to_numpy(dtype=float)
    levels = np.unique(gvals[np.isfinite(gvals) & (design.w > 0)])
    codes = np.searchsorted(levels, gvals)
    codes[~np.isfinite(gvals) | ~np.isin(gvals, levels)] = -1
    k = len(levels)
    pos = (design.w > 0) & (codes >= 0)
    n_group = np.bincount(codes[pos], minlength=k)
    nw_group = np.bincount(codes[pos], weights=design.w[pos], minlength=k)
    parts = []
    for ind in indicators:
        if ind.stat not in ("proportion", "mean"):
            raise PlanError(f"indicator {ind.id!r}: stat must be proportion or mean",
                            where="indicator", got=repr(ind.stat), fix="use proportion or mean")
        est = estimate(design, ind.stat, ind.column, by=group, where=ind.where,
                       ci="wald" if ind.stat == "proportion" else "t", conf_level=conf_level,
                       deff=True)
        if ind.stat == "proportion":
            est = est[est["category"] == "1"]
        est = est.reset_index(drop=True)
        member = where_mask(design, ind.where) & design.data[ind.column].notna().to_numpy()
        kish = _kish(design.w, member, codes, k)
        gi = np.searchsorted(levels, est[group].to_numpy(dtype=float))
        with np.errstate(divide="ignore", invalid="ignore"):
            frame = pd.DataFrame({
                "indicator": ind.id, "label": ind.label, "stat": ind.stat,
                "group": est[group].to_numpy(dtype=float),
                "estimate": est["estimate"].to_numpy(dtype=float),
                "se": est["se"].to_numpy(dtype=float),
                "half_width": z * est["se"].to_numpy(dtype=float),
                "conf_level": float(conf_level),
                "n": est["n"].to_numpy(dtype=np.int64),
                "n_group": n_group[gi].astype(np.int64),
                "base_share": est["n"].to_numpy(dtype=float) / n_group[gi],
                "n_weighted": est["n_weighted"].to_numpy(dtype=float),
                "weighted_base_share": est["n_weighted"].to_numpy(dtype=float) / nw_group[gi],
                "deff": est["deff"].to_numpy(dtype=float),
                "deff_w": kish[gi],
                "n_eff": est["n"].to_numpy(dtype=float) / est["deff"].to_numpy(dtype=float),
            })
        parts.append(frame)
    if not parts:
        raise PlanError("no indicators to assess", where="indicators",
                        fix="give a table spec with at least one table")
    return pd.concat(parts, ignore_index=True)[list(PRECISION_COLUMNS)]
