"""Design-based regression: R's ``svyglm``, ``regTermTest`` and ``svypredmeans``.

* :func:`fit` - a GLM (gaussian, binomial = quasibinomial, poisson =
  quasipoisson) with an R-style formula, design-based covariance from
  :mod:`sid.variance` (Taylor, replicate, calibrated), a domain by ``where``;
  returns an immutable :class:`ModelFit`.
* :func:`coefficient_table` - the tidy coefficient table (odds/rate ratios for
  binomial/poisson).
* :func:`term_tests` - Wald F tests per term.
* :func:`margins` - predictive margins per level of a grouping variable, with
  :meth:`Margins.contrasts` against a reference level.
* :func:`crude_and_adjusted` - crude and adjusted numbers per level side by side
  (for a "ruw en gecorrigeerd" table).
"""

from sid.model.formula import ModelError, ModelFrame, Term
from sid.model.glm import CI_METHODS, COEF_COLUMNS, EXP_COLUMNS, ModelFit, coefficient_table, fit
from sid.model.irls import FAMILIES
from sid.model.predictive import (
    ADJUSTED_COLUMNS,
    CONTRAST_COLUMNS,
    Margins,
    crude_and_adjusted,
    margins,
)
from sid.model.terms import TERM_COLUMNS, term_tests, wald_test

__all__ = [
    "ADJUSTED_COLUMNS", "CI_METHODS", "COEF_COLUMNS", "CONTRAST_COLUMNS", "EXP_COLUMNS", "FAMILIES", "TERM_COLUMNS",
    "Margins", "ModelError", "ModelFit", "ModelFrame", "Term", "coefficient_table", "crude_and_adjusted", "fit",
    "margins", "term_tests", "wald_test",
]
