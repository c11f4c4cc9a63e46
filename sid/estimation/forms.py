"""Each statistic as a :class:`sid.variance.LinearForm`, the core record, and deff."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import EstimationError
from sid.estimation.domains import _check_columns, _Domains, _numeric, label
from sid.estimation.logit import LogitFit
from sid.variance import LinearForm


@dataclass(frozen=True)
class _Core:
    """Everything an estimate needs before it becomes a table."""

    domains: _Domains
    variable: str
    statistic: str
    categories: tuple[str, ...]  # "" when the statistic has none
    dom_of: np.ndarray  # domain index of each column
    est: np.ndarray
    cov: np.ndarray | None  # full covariance, when asked for (else None)
    df: np.ndarray  # per column
    nrow: np.ndarray  # per column: rows of the domain design (for beta)
    n: np.ndarray
    n_weighted: np.ndarray
    n_missing: np.ndarray
    deff: np.ndarray
    ci: tuple[np.ndarray, np.ndarray] | None = None  # quantiles bring their own CI
    logit: LogitFit | None = None  # ci="logit": R's svyglm fit (svyciprop's estimate and CI)
    var: np.ndarray | None = None  # variances (default: the diagonal of cov)
    yes: np.ndarray | None = None  # proportions: rows (weight > 0) per column, when counted

    @property
    def variances(self) -> np.ndarray:
        """The variance of each column."""
        return self.var if self.var is not None else np.diag(self.covariance)

    @property
    def covariance(self) -> np.ndarray:
        """The full covariance; only a core built with ``full_cov=True`` (or without
        separate variances) has one."""
        if self.cov is None:
            raise EstimationError("this estimate was computed without its full covariance",
                                  where=f"{self.statistic} of {self.variable}",
                                  fix="compute it with full_cov=True")
        return self.cov


def _deff(design: Design, form: LinearForm, theta: np.ndarray, v: np.ndarray,
          statistic: str) -> np.ndarray:
    """R's ``deff=TRUE``: variance over the SRS-without-replacement variance."""
    w = design.w[form.rows]
    u = form.raw_scores(design.w, theta)
    k = form.k
    pos = w != 0
    nobs = np.bincount(form.cols, weights=pos.astype(float), minlength=k)
    psum = np.bincount(form.cols, weights=w, minlength=k)
    if design.is_replicate:
        # svymean/svytotal.svyrep.design: nobs = rows of the domain design
        nobs = np.bincount(form.cols, minlength=k).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ubar = np.bincount(form.cols, weights=w * u, minlength=k) / psum
        nvar = nobs if not design.is_replicate else np.bincount(
            form.cols, weights=pos.astype(float), minlength=k)
        s2 = (np.bincount(form.cols, weights=w * (u - ubar[form.cols]) ** 2, minlength=k)
              / psum * nvar / (nvar - 1))
        vsrs = s2 * psum**2 * (psum - nobs) / (psum * nobs)
        out = np.diag(v) / vsrs
    if statistic in ("mean", "proportion") and np.any(psum < nobs):
        warnings.warn("Sample size greater than population size: are weights correctly "
                      "scaled? (deff set to NaN)", stacklevel=3)
        out = np.where(psum < nobs, np.nan, out)
    return out


def _form(design: Design, stat: str, var: str, dom: np.ndarray, d: int
          ) -> tuple[LinearForm, tuple[str, ...], np.ndarray, np.ndarray]:
    """The linear form of a statistic, its category labels, the missing mask, valid rows."""
    if stat == "ratio":
        if "/" not in var:
            raise EstimationError("a ratio needs 'numerator/denominator'", where="var",
                                  got=repr(var), fix="e.g. var='api00/api99'")
        num_name, den_name = (s.strip() for s in var.split("/", 1))
        y = _numeric(design, num_name, "numerator")
        x = _numeric(design, den_name, "denominator")
        missing = np.isnan(y) | np.isnan(x)
        rows = np.flatnonzero((dom >= 0) & ~missing)
        return (LinearForm(rows, dom[rows], y[rows], x[rows], d), ("",), missing, rows)
    if stat == "proportion":
        _check_columns(design, [var], "analysis")
        codes, cats = pd.factorize(design.data[var], sort=True)
        missing = codes < 0
        c = len(cats)
        if c == 0:
            raise EstimationError(f"variable {var!r} has no non-missing values",
                                  where=var, fix="check the variable and its missing codes")
        valid = np.flatnonzero((dom >= 0) & ~missing)
        rows = np.repeat(valid, c)
        cat = np.tile(np.arange(c), len(valid))
        cols = dom[rows] * c + cat
        num = (codes[rows] == cat).astype(float)
        return (LinearForm(rows, cols, num, np.ones(len(rows)), d * c),
                tuple(label(v) for v in cats), missing, valid)
    y = _numeric(design, var)
    missing = np.isnan(y)
    rows = np.flatnonzero((dom >= 0) & ~missing)
    den = None if stat == "total" else np.ones(len(rows))
    return LinearForm(rows, dom[rows], y[rows], den, d), ("",), missing, rows


