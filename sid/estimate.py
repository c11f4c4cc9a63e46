"""Compatibility: the estimation API now lives in :mod:`sid.estimation`.

``from sid.estimate import estimate, compare, ...`` keeps working; new code
imports from :mod:`sid.estimation`.
"""

from __future__ import annotations

from sid.estimation import (
    CI_METHODS,
    COLUMNS,
    COMPARE_COLUMNS,
    PROP_ONLY,
    STATS,
    LogitFit,
    compare,
    estimate,
    estimate_vcov,
    label,
    qrule_math,
    svyglm_logit,
    where_mask,
)

__all__ = [
    "CI_METHODS", "COLUMNS", "COMPARE_COLUMNS", "PROP_ONLY", "STATS", "LogitFit", "compare",
    "estimate", "estimate_vcov", "label", "qrule_math", "svyglm_logit", "where_mask",
]
