"""Design-based estimates: means, totals, proportions, ratios and quantiles.

One module per job: :mod:`~sid.estimation.domains` (domains, ``where``, df),
:mod:`~sid.estimation.forms` (each statistic as a linear form),
:mod:`~sid.estimation.cells` (the same sums aggregated per PSU and domain, the
fast path), :mod:`~sid.estimation.logit` (R's svyglm IRLS for logit CIs),
:mod:`~sid.estimation.quantile`, :mod:`~sid.estimation.intervals`,
:mod:`~sid.estimation.core` (:func:`estimate`) and
:mod:`~sid.estimation.contrasts` (:func:`compare`).
"""

from __future__ import annotations

from sid.estimation.contrasts import (
    COMPARE_COLUMNS,
    EstimateSet,
    compare,
    compare_df,
    contrast,
    estimate_set,
)
from sid.estimation.core import COLUMNS, STATS, estimate, estimate_vcov
from sid.estimation.domains import label, where_mask
from sid.estimation.intervals import CI_METHODS, PROP_ONLY
from sid.estimation.logit import LogitFit, svyglm_logit
from sid.estimation.quantile import qrule_math

__all__ = [
    "CI_METHODS", "COLUMNS", "COMPARE_COLUMNS", "PROP_ONLY", "STATS", "EstimateSet", "LogitFit",
    "compare", "compare_df", "contrast", "estimate", "estimate_set", "estimate_vcov", "label",
    "qrule_math", "svyglm_logit", "where_mask",
]
