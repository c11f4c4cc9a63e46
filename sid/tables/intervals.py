"""Which confidence interval a table book publishes for a proportion: logit or Korn-Graubard.

The logit interval (R's ``svyciprop(method="logit")``) is the book's default. It
degenerates when a group has no, or very few, "yes" (or "no") answers: with no
"yes" it reads 0.0 [0.0; 0.0], a certainty the data cannot give. There the book
publishes the Korn-Graubard interval instead (``beta``, R's
``svyciprop(method="beta")``), as the NCHS data presentation standards for
proportions require (Parker et al. 2017, Vital Health Stat 2(175)).

The rule (:func:`sid.estimation.intervals.korn_graubard_switch`, the one that
``sid estimate --ci auto`` applies too), per group: Korn-Graubard when the unweighted
number of "yes" or of "no" answers in the group's base is below :data:`FEW`
(10), or when the logit interval is missing or has no width; logit otherwise.

R's beta interval is undefined when the estimate is exactly 0 or 1 (its effective
sample size ``p(1-p)/var`` is 0/0). There :func:`sid.estimation.intervals.beta_extreme`
follows the
NCHS standard: the effective sample size is the group's unweighted n, with the same
degrees-of-freedom adjustment as R, ``n * (qt(a/2, n - 1) / qt(a/2, df))^2``; the
interval is then [0; qbeta(1 - a/2, 1, n_df)] for 0 (mirrored for 1), never of zero
width while n > 0. Both parts are checked against R in
``tests/reference/kg_switch_golden.R``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sid.errors import EstimationError
from sid.estimation.intervals import FEW, beta_extreme, korn_graubard, korn_graubard_switch

if TYPE_CHECKING:
    from sid.design import Design
    from sid.estimation import EstimateSet

__all__ = ["FEW", "aligned", "published_interval", "rare_outcome_intervals", "text_keys",
           "yes_no_counts"]


def published_interval(n: np.ndarray, df: np.ndarray, n_yes: np.ndarray, n_no: np.ndarray,
                       logit: tuple[np.ndarray, np.ndarray, np.ndarray],
                       beta: tuple[np.ndarray, np.ndarray, np.ndarray], level: float = 0.95,
                       few: int = FEW) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The estimate and interval a book publishes per group, and its method (logit/beta).

    ``logit``/``beta`` are (estimate, low, high) of :func:`sid.estimation.estimate` with
    ``ci="logit"`` (estimate: R's expit(coef)) and ``ci="beta"`` (estimate: svymean, as
    R's beta ``svyciprop``) on the 0-1 scale. Where Korn-Graubard is used, the estimate is
    svymean's, and where that is exactly 0 or 1 the interval is
    :func:`sid.estimation.intervals.beta_extreme`.
    """
    l_est, l_lo, l_hi = (np.asarray(v, dtype=float) for v in logit)
    b_est, b_lo, b_hi = (np.asarray(v, dtype=float) for v in beta)
    switch = korn_graubard_switch(n_yes, n_no, l_lo, l_hi, few)
    ext_lo, ext_hi = beta_extreme(b_est, n, df, level)
    extreme = np.isfinite(ext_lo)
    b_lo = np.where(extreme, ext_lo, b_lo)
    b_hi = np.where(extreme, ext_hi, b_hi)
    est = np.where(switch, b_est, l_est)
    lo = np.where(switch, b_lo, l_lo)
    hi = np.where(switch, b_hi, l_hi)
    return est, lo, hi, np.where(switch, "beta", "logit")


# --------------------------------------------------------------------------- matching


def text_keys(frame: pd.DataFrame, keys: Sequence[str]) -> list[tuple[str, ...]]:
    """Each row's key columns as text (a wave "2022", a group "3.0"): how a table's
    estimates, its Korn-Graubard estimates and its unweighted counts are matched."""
    return list(zip(*(frame[k].astype(str).tolist() for k in keys), strict=True))


def aligned(frame: pd.DataFrame, have: list[tuple[str, ...]], wanted: list[tuple[str, ...]],
            columns: Sequence[str]) -> tuple[np.ndarray, ...]:
    """``columns`` of ``frame`` (whose rows have the keys ``have``) in the order of
    ``wanted``, NaN for a key it lacks (as pandas' ``reindex``)."""
    at = {key: i for i, key in enumerate(have)}
    if len(at) != len(have):
        raise EstimationError("two rows with the same groups", where="Korn-Graubard intervals",
                              fix="report this as a bug")
    rows = np.array([at.get(key, -1) for key in wanted], dtype=np.int64)
    out = []
    for c in columns:
        values = np.append(frame[c].to_numpy(dtype=float), np.nan)  # row -1: NaN
        out.append(values[rows])
    return tuple(out)


def _text_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(column.astype(str).to_numpy())``. A float64 column (a survey code) is
    factorised by its bits first and only its distinct values are formatted (formatting
    every row cost ~1 ms a key); the codes and uniques are the same (tests)."""
    if column.dtype != np.float64:
        return pd.factorize(column.astype(str).to_numpy())
    raw = column.to_numpy()
    first, distinct = pd.factorize(raw.view(np.int64))  # every bit pattern apart (-0.0, NaNs)
    code, uniques = pd.factorize(pd.Series(distinct.view(np.float64)).astype(str).to_numpy())
    return code[first], uniques


def yes_no_counts(keyed: pd.DataFrame, values: np.ndarray, keys: Sequence[str],
                  wanted: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Unweighted numbers of "yes" (the sum of the 0/1 ``values``) and of "no" per key of
    ``wanted`` (as :func:`text_keys`), over the rows of ``keyed``; 0 without rows."""
    codes = np.zeros(len(values), dtype=np.int64)
    lookups = []
    for k in keys:
        code, uniques = _text_codes(keyed[k])
        lookups.append({u: i for i, u in enumerate(uniques)})
        codes = codes * max(len(uniques), 1) + code
    size = int(np.prod([max(len(lk), 1) for lk in lookups]))
    yes = np.bincount(codes, weights=values, minlength=size)
    count = np.bincount(codes, minlength=size).astype(float)
    n_yes = np.zeros(len(wanted))
    n_no = np.zeros(len(wanted))
    for i, key in enumerate(wanted):
        if all(part in lookup for part, lookup in zip(key, lookups, strict=True)):
            at = 0
            for part, lookup in zip(key, lookups, strict=True):
                at = at * max(len(lookup), 1) + lookup[part]
            n_yes[i], n_no[i] = yes[at], count[at] - yes[at]
    return n_yes, n_no


def rare_outcome_intervals(design: Design, col: str, by: list[str], where: str,
                           est: pd.DataFrame, level: float, in_base: np.ndarray,
                           es: EstimateSet | None) -> pd.DataFrame:
    """The logit estimates of a proportion with Korn-Graubard intervals where the rule of
    this module asks for them (few "yes" or "no" in a group). ``in_base``
    is the table's base, ``where_mask(design, where)``, computed once per table; ``es``
    the section's estimate set, whose shares, SEs and df the interval takes (else it is
    estimated with ``ci="beta"``)."""
    from sid.estimation import estimate

    keys = ["wave", *by]
    if es is not None:  # what estimate(ci="beta") gives, from the estimates at hand
        lo, hi = korn_graubard(es.est, es.table["se"].to_numpy(), es.table["df"].to_numpy(),
                               es.nrow, level)
        beta = es.table.assign(estimate=es.est, ci_low=lo, ci_high=hi)
    else:
        beta = estimate(design, "proportion", col, by=keys, where=where, ci="beta",
                        conf_level=level, empty="cell")  # an empty group: an empty cell
    beta = beta[beta["category"] == "1"]
    data = design.data
    inside = in_base & data[col].notna().to_numpy()
    est = est.reset_index(drop=True)
    wanted = text_keys(est, keys)
    kg_est, kg_lo, kg_hi = aligned(beta, text_keys(beta, keys), wanted,
                                   ("estimate", "ci_low", "ci_high"))
    n_yes, n_no = yes_no_counts(data.loc[inside, keys],
                                data.loc[inside, col].to_numpy(dtype=float), keys, wanted)
    e, lo, hi, method = published_interval(
        est["n"].to_numpy(dtype=float), est["df"].to_numpy(dtype=float), n_yes, n_no,
        (est["estimate"], est["ci_low"], est["ci_high"]), (kg_est, kg_lo, kg_hi), level=level)
    return est.assign(estimate=e, ci_low=lo, ci_high=hi, ci_method=method)
