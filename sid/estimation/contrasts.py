"""Contrasts: each group minus a reference group, with the full covariance.

:func:`compare` estimates and contrasts in one call. A caller that needs the
estimates *and* several contrasts of the same variable (the table book: each
wave against its reference group, and the change between waves) computes the
estimates once with :func:`estimate_set` and takes each contrast from it with
:func:`contrast`: the numbers are those of :func:`compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sid.design import Design, ensure_sequence
from sid.errors import EstimationError, show_values
from sid.estimation.core import _core, _table
from sid.estimation.domains import label, where_mask
from sid.estimation.intervals import _check_ci, t_quantile, t_twosided_p

COMPARE_COLUMNS = (
    "variable", "category", "statistic", "reference", "estimate", "se", "ci_low", "ci_high",
    "ci_method", "conf_level", "df", "statistic_t", "p_value",
)


@dataclass(frozen=True)
class EstimateSet:
    """Estimates of every domain x category with their full covariance.

    ``table`` is what :func:`sid.estimation.estimate` returns for the same
    arguments; ``est`` holds the weighted shares or means (for ``ci="logit"``
    the table's ``estimate`` is svyciprop's ``expit(coef)`` instead) and ``cov``
    their covariance, in the column order of ``dom_of`` x ``categories``; ``nrow`` is R's
    ``nrow()`` of each column's domain design (the Korn-Graubard interval needs it).
    """

    variable: str
    statistic: str
    levels: pd.DataFrame
    categories: tuple[str, ...]
    dom_of: np.ndarray
    est: np.ndarray
    cov: np.ndarray
    table: pd.DataFrame
    nrow: np.ndarray


def estimate_set(design: Design, stat: str, var: str, by: str | Sequence[str] | None = None,
                 where: Any = None, ci: str | None = None,
                 conf_level: float = 0.95) -> EstimateSet:
    """The estimates of ``var`` per ``by`` domain (as :func:`sid.estimation.estimate`)
    with their full covariance, computed once for any number of :func:`contrast` calls."""
    if stat == "quantile":
        raise EstimationError("contrasts do not support quantiles", where="stat",
                              fix="compare means, totals, proportions or ratios")
    method = _check_ci(stat, ci, conf_level)
    core = _core(design, stat, var, ensure_sequence(by), where, False, ci=method,
                 conf_level=conf_level, full_cov=True)
    return EstimateSet(var, stat, core.domains.levels, core.categories, core.dom_of, core.est,
                       core.covariance, _table(core, method, conf_level), core.nrow)


def compare_df(design: Design, stat: str, var: str, where: Any = None) -> float:
    """R's ``degf(subset(design, where & !is.na(var)))``: the df of :func:`compare`."""
    member = where_mask(design, where)
    for name in (var.split("/") if stat == "ratio" else [var]):
        member &= design.data[name.strip()].notna().to_numpy()
    return float(design.degf(member))


def contrast(es: EstimateSet, by: str, reference: Any, within: str | Sequence[str] | None = None,
             df: float = float("nan"), conf_level: float = 0.95,
             independent: bool = False) -> pd.DataFrame:
    """Each group of ``by`` minus the ``reference`` group inside each ``within``
    combination, from an :class:`EstimateSet` whose domains include ``by`` and
    ``within``; SE from the full covariance, t CI and p-value on ``df``
    (:func:`compare_df`). Returns :data:`COMPARE_COLUMNS` after the domain columns."""
    within = ensure_sequence(within)
    levels = es.levels
    ref_key = label(reference)
    is_ref = levels[by].map(label).to_numpy() == ref_key
    if not is_ref.any():
        raise EstimationError(f"reference group {ref_key!r} not found in {by!r}", where="reference",
                              got=show_values(sorted({label(v) for v in levels[by]})),
                              fix="pick one of the groups present")
    wkey = (np.array(["|".join(t) for t in zip(*(levels[c].map(label) for c in within),
                                                  strict=True)], dtype=object)
            if within else np.zeros(len(levels), dtype=object))
    c = len(es.categories)
    # column index of the reference for every column
    ref_dom = {wk: i for i, (wk, r) in enumerate(zip(wkey, is_ref, strict=True)) if r}
    rows = [j for j in range(len(es.est)) if not is_ref[es.dom_of[j]]
            and wkey[es.dom_of[j]] in ref_dom]
    jr = np.array([ref_dom[wkey[es.dom_of[j]]] * c + j % c for j in rows], dtype=np.int64)
    jg = np.array(rows, dtype=np.int64)
    cov = es.cov
    if independent:
        same = es.dom_of[:, None] == es.dom_of[None, :]
        cov = np.where(same, cov, 0.0)
    diff = es.est[jg] - es.est[jr]
    var_d = cov[jg, jg] + cov[jr, jr] - 2 * cov[jg, jr]
    se = np.sqrt(var_d)
    crit = t_quantile(1 - (1 - conf_level) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = diff / se
    cols: dict[str, Any] = {name: levels[name].array.take(es.dom_of[jg])
                            for name in levels.columns}
    cols |= {
        "variable": es.variable, "category": [es.categories[j % c] for j in jg],
        "statistic": f"{es.statistic} difference", "reference": ref_key, "estimate": diff,
        "se": se, "ci_low": diff - crit * se, "ci_high": diff + crit * se, "ci_method": "t",
        "conf_level": float(conf_level), "df": df, "statistic_t": tstat,
        "p_value": t_twosided_p(tstat, df),
    }
    return pd.DataFrame(cols, index=pd.RangeIndex(len(jg)))


def compare(design: Design, stat: str, var: str, by: str, reference: Any,
            within: str | Sequence[str] | None = None, where: Any = None,
            conf_level: float = 0.95, independent: bool = False,
            q: Any = None) -> pd.DataFrame:
    """Each group of ``by`` minus the ``reference`` group, with SE, t CI and p-value.

    The SE uses the full linearised (or replicate) covariance of the two
    estimates. With ``within`` the comparison is made inside each combination
    of those variables (e.g. ``by="wave", within="herkomst"`` gives the change
    between waves per origin group). ``independent=True`` treats the groups as
    independent samples (e.g. two waves stacked in one design): the covariance
    between different groups is set to 0. df: the design's df in ``where``.
    """
    if stat == "quantile":
        raise EstimationError("compare does not support quantiles", where="stat",
                              fix="compare means, totals, proportions or ratios")
    within = ensure_sequence(within)
    by_list = ensure_sequence(by)
    if len(by_list) != 1:
        raise EstimationError("compare needs exactly one by variable", where="by",
                              got=show_values(by_list), fix="put further variables in within=")
    by = by_list[0]
    member = None if where is None else where_mask(design, where)  # evaluated once
    core = _core(design, stat, var, [*within, by], member, False, full_cov=True)
    es = EstimateSet(var, stat, core.domains.levels, core.categories, core.dom_of, core.est,
                     core.covariance, pd.DataFrame(), core.nrow)
    return contrast(es, by, reference, within, compare_df(design, stat, var, member), conf_level,
                    independent)
