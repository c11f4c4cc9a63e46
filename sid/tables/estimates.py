"""A table section's estimates and its contrasts from one estimation (issue 14).

A section of a table with a reference group needs its estimates per wave and group,
each group against the reference group in every wave, and with ``compare_waves``
the change between the waves. :func:`section_estimates` estimates once, with the
full covariance (:func:`sid.estimation.estimate_set`), and :func:`wave_contrast` and
:func:`wave_change` take the contrasts from that set (:func:`sid.estimation.contrast`,
the numbers of :func:`sid.estimation.compare`): one estimation per section instead of
one plus one per wave plus one for the change. The workbook's numbers agree with the
separate calls to 1e-14 relative (summation order).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sid.design import Design
from sid.errors import SidError
from sid.estimation import EstimateSet, compare_df, contrast, estimate_set
from sid.estimation.domains import label
from sid.tables.spec import TableSpec

__all__ = ["section_estimates", "wave_change", "wave_contrast"]


def section_estimates(design: Design, t: TableSpec, stat: str, col: str, by: list[str],
                      where: str) -> tuple[pd.DataFrame, EstimateSet] | None:
    """The section's estimates, as ``estimate(design, stat, col, by=["wave", *by],
    where=where, ci=..., conf_level=..., empty="cell")`` returns them, and the estimate
    set behind them. None without a reference group, and wherever the separate calls
    would raise (an empty base, a wave without the reference group, bad arguments):
    the caller makes them, with their errors."""
    if t.reference is None:
        return None
    try:
        es = estimate_set(design, stat, col, by=["wave", *by], where=where, ci=t.ci.method,
                          conf_level=t.ci.level)
    except SidError:
        return None
    est = es.table
    waves = es.levels["wave"].map(label)
    has_ref = set(waves[(es.levels[by[0]].map(label) == label(t.reference)).to_numpy()])
    if not (est["n"] > 0).any() or not set(t.waves) <= has_ref:
        return None
    est = est.copy()
    est.loc[est["n"] == 0, "ci_method"] = "empty"
    return est, es


def wave_contrast(es: EstimateSet, design: Design, stat: str, col: str, by: list[str],
                  reference: Any, wave: str, where_w: str, level: float) -> pd.DataFrame:
    """``compare(design, stat, col, by=by[0], reference=reference, within=["wave",
    *by[1:]], where=where_w, conf_level=level)``, ``where_w`` the table's base in
    ``wave``, from the section's estimate set."""
    out = contrast(es, by[0], reference, ["wave", *by[1:]],
                   compare_df(design, stat, col, where_w), level)
    return out[(out["wave"].map(label) == wave).to_numpy()].reset_index(drop=True)


def wave_change(es: EstimateSet, design: Design, stat: str, col: str, by: list[str],
                first: str, where: str, level: float) -> pd.DataFrame:
    """``compare(design, stat, col, by="wave", reference=first, within=by, where=where,
    conf_level=level)`` from the section's estimate set."""
    return contrast(es, "wave", first, by, compare_df(design, stat, col, where), level)
