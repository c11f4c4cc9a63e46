"""Trimming: R's ``trimWeights`` (additive, or proportional, redistribution), and trimming
alternated with raking until the margins and the bounds both hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import WeightingError, format_number, show_values
from sid.weighting.checks import WeightArg, WeightVector, check_base_weights
from sid.weighting.margins import Margins
from sid.weighting.raking import rake
from sid.weighting.records import WeightingResult, make_result

__all__ = ["Bound", "TrimBoundsConflict", "show_bound", "trim", "trim_rake"]

# one bound for every unit, or one per unit (None: no bound)
Bound = float | np.ndarray | None


class TrimBoundsConflict(WeightingError):
    """Trimming and raking do not agree: the bounds cannot hold together with the margins.

    ``worst`` is how far (relative) the weights are still outside the bounds after
    ``rounds`` rounds. A weighting chain may choose to keep the raked weights then
    (margins are hard, trimming bounds a variance device).
    """

    def __init__(self, what: str, *, rounds: int, worst: float, **kwargs: Any) -> None:
        self.rounds = rounds
        self.worst = worst
        super().__init__(what, **kwargs)


def trim(
    weights: WeightVector,
    lower: Bound = None,
    upper: Bound = None,
    strict: bool = False,
    redistribute: str = "additive",
    *,
    max_iter: int = 1000,
    name: str = "trim_wt",
) -> WeightingResult:
    """Trim weights to [lower, upper] and hand the trimmed amount to the other units.

    ``"additive"`` is R's ``trimWeights``: the total trimmed is added in equal
    parts to every weight that was inside the bounds; ``"proportional"`` adds it
    in proportion to those weights. The sum of the weights is kept. With
    ``strict=True`` this is repeated until no weight is outside the bounds (R's
    ``strict = TRUE``). ``weights`` is a Series (its index is kept) or array.
    """
    where = "trim"
    index = weights.index if isinstance(weights, pd.Series) else pd.RangeIndex(len(np.asarray(weights)))
    w0 = check_base_weights(pd.DataFrame(index=index), np.asarray(weights, dtype=float), where)
    if redistribute not in ("additive", "proportional"):
        raise WeightingError(f"unknown redistribution {redistribute!r}", where=where,
                             fix="use 'additive' (R's trimWeights) or 'proportional'")
    n, total = len(w0), float(w0.sum())
    lo = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, dtype=float), (n,))
    hi = np.broadcast_to(np.inf if upper is None else np.asarray(upper, dtype=float), (n,))
    if np.any(lo > hi):
        raise WeightingError("lower bound above upper bound", where=where,
                             got=f"rows {show_values(np.flatnonzero(lo > hi).tolist())}",
                             fix="swap or correct the bounds")
    if lo.sum() > total or hi.sum() < total:
        raise WeightingError(
            f"bounds ({show_bound(lower)}, {show_bound(upper)}) cannot hold the weight total "
            f"{total:.6g} over {n} units (mean {total / n:.6g})",
            where=where, fix="the mean weight must lie between the bounds",
        )
    w = w0.copy()
    passes = 0
    n_trimmed = 0
    while True:
        outside = (w < lo) | (w > hi)
        if not outside.any():
            break
        if outside.all():
            raise WeightingError("every weight is outside the bounds", where=where,
                                 fix="widen the bounds")
        passes += 1
        n_trimmed += int(outside.sum())
        new = np.clip(w, lo, hi)
        trimmed = float((w - new).sum())
        inside = ~outside
        if redistribute == "additive":
            new[inside] += trimmed / inside.sum()
        else:
            new[inside] *= 1.0 + trimmed / new[inside].sum()
        w = new
        if not strict:
            break
        if passes >= max_iter:
            raise WeightingError(f"strict trimming did not settle in {max_iter} passes", where=where,
                                 got=f"{int(((w < lo) | (w > hi)).sum())} weights still outside",
                                 fix="widen the bounds")
    left = int(((w < lo) | (w > hi)).sum())
    params = {"lower": show_bound(lower), "upper": show_bound(upper), "strict": strict,
              "redistribute": redistribute, "passes": passes, "trimmed_units": n_trimmed,
              "outside_after": left}
    return make_result(w, index, "trim", w0, name=name, iterations=passes, params=params)


def show_bound(b: Bound) -> str:
    if b is None:
        return "-"
    arr = np.asarray(b, dtype=float)
    if arr.ndim == 0:
        return format_number(float(arr))
    return f"per unit {arr.min():.6g}..{arr.max():.6g}"


def trim_rake(
    data: pd.DataFrame,
    weight: WeightArg,
    margins: Margins,
    *,
    lower: Bound = None,
    upper: Bound = None,
    within: str | Sequence[str] | None = None,
    redistribute: str = "additive",
    tol: float = 1e-10,
    max_rounds: int = 200,
    trim_tol: float = 1e-6,
    name: str = "final_wt",
) -> WeightingResult:
    """Rake, trim, re-rake, ... until the margins hold and the weights are within the bounds.

    The bounds may be exceeded by at most ``trim_tol`` (relative) after the last
    raking; otherwise :class:`~sid.errors.WeightingError` says how far they are
    apart. The record's calibration is that of the last raking.
    """
    where = "trim_rake"
    w0 = check_base_weights(data, weight, where)
    res = rake(data, w0, margins, within=within, tol=tol, name=name)
    rounds = 0
    n = len(w0)
    lo = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, dtype=float), (n,))
    hi = np.broadcast_to(np.inf if upper is None else np.asarray(upper, dtype=float), (n,))
    trimmed_units = 0
    while True:
        w = res.weights.to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            over = np.where(np.isfinite(hi), np.maximum(w - hi, 0) / hi, 0.0)
            under = np.where(np.isfinite(lo) & (lo > 0), np.maximum(lo - w, 0) / lo, 0.0)
        worst = float(max(over.max(), under.max()))
        if worst <= trim_tol:
            break
        rounds += 1
        if rounds > max_rounds:
            raise TrimBoundsConflict(
                f"trimming and raking do not agree after {max_rounds} rounds",
                rounds=max_rounds, worst=worst,
                where=where,
                got=f"weights still {worst:.3g} (relative) outside ({show_bound(lower)}, "
                f"{show_bound(upper)})",
                fix="widen the trimming bounds or collapse margin categories",
            )
        t = trim(w, lower, upper, strict=True, redistribute=redistribute)
        trimmed_units += int(t.record.params["trimmed_units"])
        res = rake(data, t.weights.to_numpy(), margins, within=within, tol=tol, name=name)
    rec = res.record
    params = dict(rec.params) | {"lower": show_bound(lower), "upper": show_bound(upper),
                                 "rounds": rounds, "redistribute": redistribute,
                                 "trimmed_units": trimmed_units}
    return make_result(res.weights.to_numpy(), data.index, "trim_rake", w0, name=name,
                   iterations=rounds, gaps=rec.gaps, params=params, calibration=rec.calibration, tol=tol + 1e-12)

