"""Compatibility: the estimation API now lives in :mod:`sid.estimation`.

``from sid.estimate import estimate, compare, ...`` keeps working, and so do the
names other modules took from the old single file (the glm IRLS helpers,
domain coding); new code imports from :mod:`sid.estimation` and its modules.
"""

from __future__ import annotations

from sid.estimation import (
    CI_METHODS,
    COLUMNS,
    COMPARE_COLUMNS,
    PROP_ONLY,
    STATS,
    EstimateSet,
    LogitFit,
    compare,
    compare_df,
    contrast,
    estimate,
    estimate_set,
    estimate_vcov,
    label,
    qrule_math,
    svyglm_logit,
    where_mask,
)
from sid.estimation.core import _core, _table
from sid.estimation.domains import (
    _check_columns,
    _domain_df,
    _domain_nrow,
    _Domains,
    _domains,
    _numeric,
    _warn_empty,
)
from sid.estimation.forms import _Core, _deff, _form
from sid.estimation.intervals import _check_ci, _intervals, _qcrit, _r_expit
from sid.estimation.logit import (
    _DBL_EPS,
    _THRESH,
    GLM_EPSILON,
    GLM_MAXIT,
    _default_nrow,
    _dev_resid,
    _first_iteration_var,
    _first_step,
    _Irls,
    _irls,
    _irls_columns,
    _linkinv,
    _mu_eta,
    _newton_from,
    _svyglm_domains,
)
from sid.estimation.quantile import _quantile_core

__all__ = [
    "CI_METHODS", "COLUMNS", "COMPARE_COLUMNS", "GLM_EPSILON", "GLM_MAXIT", "PROP_ONLY", "STATS",
    "EstimateSet", "LogitFit", "compare", "compare_df", "contrast", "estimate", "estimate_set",
    "estimate_vcov", "label", "qrule_math", "svyglm_logit", "where_mask",
    # private names of the old single module, for code that imported them
    "_Core", "_DBL_EPS", "_Domains", "_Irls", "_THRESH", "_check_ci", "_check_columns", "_core",
    "_default_nrow", "_deff", "_dev_resid", "_domain_df", "_domain_nrow", "_domains",
    "_first_iteration_var", "_first_step", "_form", "_intervals", "_irls", "_irls_columns",
    "_linkinv", "_mu_eta", "_newton_from", "_numeric", "_qcrit", "_quantile_core", "_r_expit",
    "_svyglm_domains", "_table", "_warn_empty",
]
