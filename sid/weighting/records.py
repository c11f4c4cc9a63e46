"""What a weighting step did: weight summaries, margin gaps, the step record and result.

Every method returns a :class:`WeightingResult`: the new weights (a ``pd.Series``
aligned with the input rows) and a frozen :class:`WeightingRecord` with the method,
iterations, convergence, the achieved-versus-target gap of every margin category,
weight summaries before and after, and the calibration entries
(:class:`sid.design.PostStratification` / :class:`~sid.design.Raking` /
:class:`~sid.design.GregCalibration`, R's ``design$postStrata``) a variance engine
needs to reproduce R's standard errors after ``postStratify`` / ``rake`` / ``calibrate``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.design import Calibration
from sid.errors import WeightingError, format_number
from sid.weighting.checks import WeightVector, norm_key

__all__ = [
    "MarginGap",
    "WeightSummary",
    "WeightingRecord",
    "WeightingResult",
    "check_gaps",
    "design_calibration",
    "make_result",
    "summary_table",
    "weight_summary",
]


@dataclass(frozen=True)
class WeightSummary:
    """Distribution of a weight variable (positive weights only for the shape).

    ``ess`` is Kish's effective sample size ``(sum w)^2 / sum w^2`` and
    ``deff_w`` the design effect due to weighting ``n * sum w^2 / (sum w)^2``
    (= 1 + CV^2), both over the rows with a positive weight.
    """

    n: int
    n_positive: int
    min: float
    p01: float
    median: float
    p99: float
    max: float
    sum: float
    mean: float
    cv: float
    ess: float
    deff_w: float

    def as_dict(self) -> dict[str, float | int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class MarginGap:
    """Achieved versus target total of one margin category."""

    margin: str
    category: str
    target: float
    achieved: float
    rel_gap: float




@dataclass(frozen=True)
class WeightingRecord:
    """What a weighting step did: the fit record for the report and the variance engine."""

    method: str
    iterations: int
    converged: bool
    max_gap: float
    gaps: tuple[MarginGap, ...]
    before: WeightSummary
    after: WeightSummary
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    calibration: tuple[Calibration, ...] = ()
    notes: tuple[str, ...] = ()

    def gaps_frame(self) -> pd.DataFrame:
        """Achieved versus target margins as a tidy frame."""
        return pd.DataFrame(
            [g.__dict__ for g in self.gaps],
            columns=["margin", "category", "target", "achieved", "rel_gap"],
        )


@dataclass(frozen=True)
class WeightingResult:
    """New weights (aligned with the input rows) and the record of how they were made."""

    weights: pd.Series
    record: WeightingRecord


# --------------------------------------------------------------------------- summaries


def weight_summary(weights: WeightVector) -> WeightSummary:
    """Summary of a weight vector: min, 1st percentile, median, 99th, max, sum, ESS, deff_w.

    Percentiles are numpy's default (linear interpolation), found with one
    ``np.partition`` rather than a sort.
    """
    w = np.asarray(weights, dtype=float)
    positive = w > 0
    pos = w if positive.all() else w[positive]
    n = int(w.size)
    if pos.size == 0:
        nan = float("nan")
        return WeightSummary(n, 0, nan, nan, nan, nan, nan, float(np.nansum(w)), nan, nan, 0.0, nan)
    s1 = float(pos.sum())
    s2 = float(np.dot(pos, pos))
    mean = s1 / pos.size
    (p01, med, p99), lo, hi = _percentiles(pos, (0.01, 0.5, 0.99))
    # sd from the power sums (no n-sized temporary); exact 0 for constant weights.
    # Relative error about 1e-16 / cv^2: negligible for a report (cv >= 1e-4 gives < 1e-8).
    if pos.size > 1 and hi > lo:
        sd = float(np.sqrt(max(s2 - s1 * mean, 0.0) / (pos.size - 1)))
    else:
        sd = 0.0
    return WeightSummary(
        n=n,
        n_positive=int(pos.size),
        min=lo,
        p01=p01,
        median=med,
        p99=p99,
        max=hi,
        sum=float(w.sum()),
        mean=mean,
        cv=sd / mean,
        ess=s1 * s1 / s2,
        deff_w=pos.size * s2 / (s1 * s1),
    )


def _percentiles(x: np.ndarray, qs: Sequence[float]) -> tuple[list[float], float, float]:
    """Percentiles (numpy's linear rule), minimum and maximum from one partition."""
    n = x.size
    at = [q * (n - 1) for q in qs]
    below = [int(np.floor(a)) for a in at]
    kth = np.unique(below)
    y = np.partition(x, kth)
    out = []
    for a, k in zip(at, below, strict=True):
        frac = a - k
        lo = float(y[k])
        if frac == 0.0 or k + 1 >= n:
            out.append(lo)
            continue
        later = kth[kth > k]
        # the next order statistic is the smallest value right of position k
        nxt = float(y[k + 1]) if later.size and later[0] == k + 1 else float(
            y[k + 1 : (later[0] + 1 if later.size else n)].min())
        diff = nxt - lo
        out.append(nxt - diff * (1.0 - frac) if frac >= 0.5 else lo + diff * frac)
    return out, float(y[: kth[0] + 1].min()), float(y[kth[-1] :].max())


def summary_table(weights: WeightVector, groups: np.ndarray | pd.Series | Sequence[Any] | None = None, *, label: str = "totaal",
                  labels: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """Weight summaries overall and per group (e.g. origin group) as a tidy frame.

    Columns: ``group`` then the fields of :class:`WeightSummary`. ``labels``
    maps group codes to names, shown as ``"1 Belgisch"``.
    """
    names = {norm_key(k): v for k, v in (labels or {}).items()}
    w = np.asarray(weights, dtype=float)
    rows = [{"group": label, **weight_summary(w).as_dict()}]
    if groups is not None:
        g = pd.Series(np.asarray(groups))
        codes, uniques = pd.factorize(g, sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for k, value in enumerate(uniques):
            idx = order[bounds[k] : bounds[k + 1]]
            name = names.get(norm_key(value))
            shown = format_number(value) + (f" {name}" if name else "")
            rows.append({"group": shown, **weight_summary(w[idx]).as_dict()})
    return pd.DataFrame(rows)




def make_result(
    weights: np.ndarray,
    index: pd.Index,
    method: str,
    before: np.ndarray,
    *,
    name: str = "weight",
    iterations: int = 0,
    converged: bool = True,
    gaps: tuple[MarginGap, ...] = (),
    params: Mapping[str, Any] | None = None,
    calibration: tuple[Calibration, ...] = (),
    notes: tuple[str, ...] = (),
    tol: float | None = None,
) -> WeightingResult:
    """The result of a step; with ``tol``, weights that are not finite or miss a margin
    category by more than ``tol`` (relative) raise instead of being returned."""
    max_gap = max((abs(g.rel_gap) for g in gaps), default=0.0)
    if tol is not None:
        check_gaps(weights, gaps, tol, method)
    record = WeightingRecord(
        method=method,
        iterations=iterations,
        converged=converged,
        max_gap=float(max_gap),
        gaps=gaps,
        before=weight_summary(before),
        after=weight_summary(weights),
        params=MappingProxyType(dict(params or {})),
        calibration=calibration,
        notes=notes,
    )
    return WeightingResult(pd.Series(weights, index=index, name=name), record)



def check_gaps(weights: np.ndarray, gaps: Sequence[MarginGap], tol: float, where: str) -> None:
    """Raise unless every weight is finite and every margin category is met within ``tol``
    (relative): no weighting step returns weights that miss their targets."""
    w = np.asarray(weights, dtype=float)
    if not np.all(np.isfinite(w)):
        raise WeightingError(f"{int((~np.isfinite(w)).sum())} weight(s) are not finite",
                             where=where, fix="report this: a weighting step must not return them")
    bad = [g for g in gaps if not abs(g.rel_gap) <= tol]
    if bad:
        worst = max(bad, key=lambda g: abs(g.rel_gap) if np.isfinite(g.rel_gap) else np.inf)
        raise WeightingError(
            f"the weights miss {len(bad)} margin categor{'y' if len(bad) == 1 else 'ies'} by "
            f"more than the tolerance {tol:g}", where=where,
            got=f"margin {worst.margin}, category {worst.category}: achieved "
                f"{worst.achieved:.10g} vs target {worst.target:.10g}",
            fix="collapse sparse categories or check the margins")


def design_calibration(*results: WeightingResult) -> tuple[Calibration, ...]:
    """Calibration entries for :class:`sid.design.Design` (R's ``design$postStrata``).

    Pass the weighting steps in the order they were applied (a step without
    calibration information, such as nonresponse or trimming, adds nothing,
    exactly as R keeps ``postStrata`` unchanged through ``trimWeights``). Build
    the design on the final weights with ``calibration=design_calibration(...)``
    and its Taylor variance uses the calibration residuals, as R does.
    """
    return tuple(cal for res in results for cal in res.record.calibration)
