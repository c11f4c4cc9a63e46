"""Contrasts: each group minus a reference group, with the full covariance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sid.design import Design, ensure_sequence
from sid.errors import EstimationError, show_values
from sid.estimation.core import _core
from sid.estimation.domains import label, where_mask
from sid.estimation.intervals import t_quantile, t_twosided_p

COMPARE_COLUMNS = (
    "variable", "category", "statistic", "reference", "estimate", "se", "ci_low", "ci_high",
    "ci_method", "conf_level", "df", "statistic_t", "p_value",
)


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
    core = _core(design, stat, var, [*within, by], where, False, full_cov=True)
    levels = core.domains.levels
    ref_key = label(reference)
    is_ref = levels[by].map(label).to_numpy() == ref_key
    if not is_ref.any():
        raise EstimationError(f"reference group {ref_key!r} not found in {by!r}", where="reference",
                              got=show_values(sorted({label(v) for v in levels[by]})),
                              fix="pick one of the groups present")
    wkey = (levels[within].map(label).agg("|".join, axis=1).to_numpy() if within
            else np.zeros(len(levels), dtype=object))
    c = len(core.categories)
    # column index of the reference for every column
    ref_dom = {wk: i for i, (wk, r) in enumerate(zip(wkey, is_ref, strict=True)) if r}
    rows = [j for j in range(len(core.est)) if not is_ref[core.dom_of[j]]
            and wkey[core.dom_of[j]] in ref_dom]
    jr = np.array([ref_dom[wkey[core.dom_of[j]]] * c + j % c for j in rows], dtype=np.int64)
    jg = np.array(rows, dtype=np.int64)
    cov = core.cov
    if independent:
        same = core.dom_of[:, None] == core.dom_of[None, :]
        cov = np.where(same, cov, 0.0)
    diff = core.est[jg] - core.est[jr]
    var_d = cov[jg, jg] + cov[jr, jr] - 2 * cov[jg, jr]
    se = np.sqrt(var_d)
    member = where_mask(design, where)
    for name in (var.split("/") if stat == "ratio" else [var]):
        member &= design.data[name.strip()].notna().to_numpy()
    df = float(design.degf(member))  # R: degf(subset(design, where & !is.na(var)))
    crit = t_quantile(1 - (1 - conf_level) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = diff / se
    out = levels.iloc[core.dom_of[jg]].reset_index(drop=True)
    cols = {
        "variable": var, "category": [core.categories[j % c] for j in jg],
        "statistic": f"{stat} difference", "reference": ref_key, "estimate": diff, "se": se,
        "ci_low": diff - crit * se, "ci_high": diff + crit * se, "ci_method": "t",
        "conf_level": float(conf_level), "df": df, "statistic_t": tstat,
        "p_value": t_twosided_p(tstat, df),
    }
    for name in COMPARE_COLUMNS:
        out[name] = cols[name]
    return out


