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

import numpy as np

from sid.estimation.intervals import FEW, beta_extreme, korn_graubard_switch

__all__ = ["FEW", "published_interval"]


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
