"""Confidence limits and critical values, as R's ``confint(df=)`` and ``svyciprop``.

The normal and t quantiles come from :mod:`scipy.special` (``ndtri``,
``stdtrit``, ``betaincinv``), not :mod:`scipy.stats`, whose import costs
~0.3 s of every process. On scipy 1.17 ``stdtrit`` equals R's ``qt`` to
1e-14 relative for df 1..300, 500, 1e3, 1e4, 1e5 and Inf at the 80-99% levels
(measured against R 4.x; see docs/scale.md).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from sid.errors import EstimationError

CI_METHODS = ("wald", "t", "logit", "xlogit", "asin", "beta")
PROP_ONLY = ("logit", "xlogit", "asin", "beta")


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
            eta = np.arcsin(np.sqrt(p))
            s = se / (2 * np.sqrt(p * (1 - p)))
            return np.sin(eta - crit * s) ** 2, np.sin(eta + crit * s) ** 2
        if method == "beta":
            n_eff = p * (1 - p) / se**2
            n_eff = n_eff * (t_quantile(a, nrow - 1) / t_quantile(a, df)) ** 2
            lo = special.betaincinv(n_eff * p, n_eff * (1 - p) + 1, a)
            hi = special.betaincinv(n_eff * p + 1, n_eff * (1 - p), 1 - a)
            return lo, hi
    raise EstimationError(f"unknown CI method {method!r}", where="ci",
                          fix=f"use one of {', '.join(CI_METHODS)}")


def _check_ci(stat: str, ci: str | None, level: float) -> str:
    method = ci or ("logit" if stat == "proportion" else "t")
    if method not in CI_METHODS:
        raise EstimationError(f"unknown CI method {method!r}", where="ci",
                              fix=f"use one of {', '.join(CI_METHODS)}")
    if method in PROP_ONLY and stat != "proportion":
        raise EstimationError(f"CI method {method!r} is for proportions only", where="ci",
                              got=f"stat={stat!r}", fix="use 't' or 'wald'")
    if not 0 < level < 1:
        raise EstimationError("conf_level must be between 0 and 1", where="conf_level",
                              got=str(level), fix="e.g. 0.95")
    return method


