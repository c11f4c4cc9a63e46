"""Confidence limits and critical values, as R's ``confint(df=)`` and ``svyciprop``.

The normal and t quantiles come from :mod:`scipy.special` (``ndtri``,
``stdtrit``, ``betaincinv``), not :mod:`scipy.stats`, whose import costs
~0.3 s of every process. On scipy 1.17 ``stdtrit`` equals R's ``qt`` to
1e-14 relative for df 1..300, 500, 1e3, 1e4, 1e5 and Inf at the 80-99% levels
(measured against R 4.x; see docs/scale.md).

Two deliberate differences from R, both where R's interval is unusable:

* ``asin``: R computes ``sin(eta -+ crit * se)^2`` on the arcsine scale, which
  folds over when ``eta -+ crit * se`` leaves ``[0, pi/2]`` (an interval that
  excludes its estimate, or lower > upper). Here the limits are clamped to
  ``[0, pi/2]`` on the arcsine scale first, so the interval always contains its
  estimate; where R's limits do not fold, the numbers are R's.
* ``auto`` (the default of ``sid estimate --prop``, see :func:`korn_graubard_switch`): R's
  logit interval, except in a group with fewer than :data:`FEW` unweighted "yes"
  or "no" answers, or where the logit interval is missing or has no width: there
  the Korn-Graubard interval (R's ``svyciprop(method="beta")``), and for an
  estimate of exactly 0 or 1 (where R's beta is NaN) the NCHS rule of
  :func:`beta_extreme`. The ``ci_method`` column says which, per row.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from sid.errors import EstimationError

CI_METHODS = ("wald", "t", "logit", "xlogit", "asin", "beta", "auto")
PROP_ONLY = ("logit", "xlogit", "asin", "beta", "auto")
FEW = 10
"""``auto``: below this many unweighted "yes" (or "no") answers in a group, Korn-Graubard
(NCHS data presentation standards for proportions, Parker et al. 2017)."""


def t_quantile(p: float | np.ndarray, df: float | np.ndarray) -> np.ndarray:
    """R's ``qt(p, df)`` (``df = Inf`` gives the normal quantile)."""
    df = np.asarray(df, dtype=float)
    p = np.asarray(p, dtype=float)
    with np.errstate(invalid="ignore"):
        q = special.stdtrit(np.where(df > 0, df, np.nan), p)
    return np.where(np.isinf(df), special.ndtri(p), q)


def norm_quantile(p: float | np.ndarray) -> np.ndarray:
    """R's ``qnorm(p)``."""
    return special.ndtri(np.asarray(p, dtype=float))


def norm_cdf(x: float | np.ndarray) -> np.ndarray:
    """R's ``pnorm(x)``."""
    return special.ndtr(np.asarray(x, dtype=float))


def t_twosided_p(t: np.ndarray, df: float | np.ndarray) -> np.ndarray:
    """Two-sided p-value of a t statistic: ``2 * pt(-|t|, df)``."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        p = 2 * special.stdtr(np.where(df > 0, df, np.nan), -np.abs(t))
    return np.where(np.isinf(df), 2 * special.ndtr(-np.abs(t)), p)


def _r_expit(x: np.ndarray) -> np.ndarray:
    """survey's ``expit``: ``exp(x) / (1 + exp(x))`` (accurate for small results)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(x) / (1 + np.exp(x))


def _qcrit(df: np.ndarray, level: float) -> np.ndarray:
    return t_quantile(1 - (1 - level) / 2, df)


# --------------------------------------------------------------------------- intervals


def _intervals(method: str, est: np.ndarray, se: np.ndarray, df: np.ndarray, nrow: np.ndarray,
               level: float) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits as R: ``confint(df=)`` for wald/t, ``svyciprop`` for the rest
    (``logit`` here is the closed form; :func:`estimate` uses :class:`LogitFit`)."""
    a = (1 - level) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "wald":
            z = norm_quantile(1 - a)
            return est - z * se, est + z * se
        crit = t_quantile(1 - a, df)
        if method == "t":
            return est - crit * se, est + crit * se
        p = est
        if method in ("logit", "xlogit"):
            eta = np.log(p / (1 - p))
            s = se / (p * (1 - p))
            return _r_expit(eta - crit * s), _r_expit(eta + crit * s)
        if method == "asin":
            # clamped on the arcsine scale: R's sin(.)^2 folds over outside [0, pi/2]
            eta = np.arcsin(np.sqrt(p))
            s = se / (2 * np.sqrt(p * (1 - p)))
            lo_eta = np.clip(eta - crit * s, 0.0, np.pi / 2)
            hi_eta = np.clip(eta + crit * s, 0.0, np.pi / 2)
            return np.sin(lo_eta) ** 2, np.sin(hi_eta) ** 2
        if method == "beta":
            n_eff = p * (1 - p) / se**2
            n_eff = n_eff * (t_quantile(a, nrow - 1) / t_quantile(a, df)) ** 2
            lo = special.betaincinv(n_eff * p, n_eff * (1 - p) + 1, a)
            hi = special.betaincinv(n_eff * p + 1, n_eff * (1 - p), 1 - a)
            return lo, hi
    raise EstimationError(f"unknown CI method {method!r}", where="ci",
                          fix=f"use one of {', '.join(CI_METHODS)}")


def korn_graubard(est: np.ndarray, se: np.ndarray, df: np.ndarray, nrow: np.ndarray,
                  level: float) -> tuple[np.ndarray, np.ndarray]:
    """The limits of ``svyciprop(method="beta")`` (what ``estimate(ci="beta")`` shows) for
    shares ``est`` with their SE, df and domain ``nrow``: for a caller that has the
    estimates already and needs this interval as well."""
    return _intervals("beta", est, se, df, nrow, level)


def beta_extreme(p: np.ndarray, n: np.ndarray, df: np.ndarray,
                 level: float) -> tuple[np.ndarray, np.ndarray]:
    """Korn-Graubard for an estimate of exactly 0 or 1, where R's beta is NaN (NCHS).

    The effective sample size is the group's unweighted ``n`` with R's df factor,
    ``n_df = n * (qt(a/2, n - 1) / qt(a/2, df))^2``: [0; qbeta(1 - a/2, 1, n_df)] for
    0 and [qbeta(a/2, n_df, 1); 1] for 1 (Clopper-Pearson with x = 0 or n). NaN
    elsewhere, and where ``n <= 1`` or ``df <= 0``.
    """
    p, n, df = (np.asarray(v, dtype=float) for v in (p, n, df))
    a = (1 - level) / 2
    lo = np.full(p.shape, np.nan)
    hi = np.full(p.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_df = n * (t_quantile(a, n - 1) / t_quantile(a, df)) ** 2
        ok = (n > 1) & (df > 0) & np.isfinite(n_df) & (n_df > 0)
        zero = (p == 0) & ok
        one = (p == 1) & ok
        lo[zero] = 0.0
        hi[zero] = special.betaincinv(1.0, n_df[zero], 1 - a)
        lo[one] = special.betaincinv(n_df[one], 1.0, a)
        hi[one] = 1.0
    return lo, hi


def korn_graubard_switch(n_yes: np.ndarray, n_no: np.ndarray, low: np.ndarray,
                         high: np.ndarray, few: int = FEW) -> np.ndarray:
    """Where ``auto`` leaves the logit interval for Korn-Graubard: fewer than ``few``
    unweighted "yes" or "no" answers, or a logit interval that is missing or has no
    width; never in a group without respondents (nothing to publish there)."""
    yes, no, lo, hi = (np.asarray(v, dtype=float) for v in (n_yes, n_no, low, high))
    with np.errstate(invalid="ignore"):
        degenerate = ~np.isfinite(lo) | ~np.isfinite(hi) | ~(hi > lo)
    return ((np.minimum(yes, no) < few) | degenerate) & ((yes + no) > 0)


def resolve_ci(stat: str, ci: str | None, level: float) -> tuple[str, bool]:
    """The CI method to compute and whether ``auto`` applies (``ci=None`` is R's default,
    logit, for proportions: the API stays R's; ``sid estimate`` asks for ``auto``)."""
    auto = stat == "proportion" and ci == "auto"
    if ci == "auto" and stat != "proportion":
        raise EstimationError("CI method 'auto' is for proportions only", where="ci",
                              got=f"stat={stat!r}", fix="use 't' or 'wald'")
    return _check_ci(stat, "logit" if auto else ci, level), auto


def _check_ci(stat: str, ci: str | None, level: float) -> str:
    if ci == "auto" and stat == "proportion":
        ci = "logit"
    method = ci or ("logit" if stat == "proportion" else "t")
    if method not in CI_METHODS:
        raise EstimationError(f"unknown CI method {method!r}", where="ci",
                              fix=f"use one of {', '.join(CI_METHODS)}")
    if method in PROP_ONLY and stat != "proportion":
        raise EstimationError(f"CI method {method!r} is for proportions only", where="ci",
                              got=f"stat={stat!r}", fix="use 't' or 'wald'")
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) \
            or not 0 < level < 1:
        raise EstimationError("conf_level must be between 0 and 1", where="conf_level",
                              got=str(level), fix="e.g. 0.95")
    return method


