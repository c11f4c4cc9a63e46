"""Design-based estimates: means, totals, proportions, ratios and quantiles.

:func:`estimate` answers "what share of each origin group, among those in
work, was treated incorrectly?" with R ``survey`` semantics:

* domains (``by``) and subpopulations (``where``) by zero-weighting, never by
  deleting rows; missing values of the analysis variable are outside the
  domain (R's ``na.rm=TRUE``) and counted in ``n_missing``;
* all domains and categories are estimated at once as one
  :class:`sid.variance.LinearForm`, so one call to the variance engine gives
  their full covariance (used by :func:`compare`);
* confidence intervals as R's ``confint(..., df=)`` (``wald``, ``t``) and
  ``svyciprop(method=)`` (``logit``, ``xlogit``, ``asin``, ``beta``); the
  degrees of freedom inside a domain are R's ``degf(subset(design, ...))``;
* quantiles as ``svyquantile`` defaults (``qrule="math"``, Woodruff interval).

The result is a tidy DataFrame with the fixed schema :data:`COLUMNS` (after
the ``by`` columns).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats as st

from sid.design import Design, ensure_sequence
from sid.errors import EstimationError, show_values
from sid.variance import LinearForm, domain_presence, replicate_vcov, vcov

STATS = ("mean", "total", "proportion", "ratio", "quantile")
CI_METHODS = ("wald", "t", "logit", "xlogit", "asin", "beta")
PROP_ONLY = ("logit", "xlogit", "asin", "beta")
COLUMNS = (
    "variable", "category", "statistic", "estimate", "se", "ci_low", "ci_high", "ci_method",
    "conf_level", "df", "n", "n_weighted", "n_missing", "deff", "cv",
)
COMPARE_COLUMNS = (
    "variable", "category", "statistic", "reference", "estimate", "se", "ci_low", "ci_high",
    "ci_method", "conf_level", "df", "statistic_t", "p_value",
)


def label(value: Any) -> str:
    """A value as R prints it: 1.0 -> "1", 2.5 -> "2.5", strings unchanged."""
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "NA"
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- domains


@dataclass(frozen=True)
class _Domains:
    """Domain code per row (-1: in no domain) and the by values of each domain."""

    code: np.ndarray
    levels: pd.DataFrame
    by: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.levels)


def where_mask(design: Design, where: Any) -> np.ndarray:
    """The subpopulation as a boolean per row: a sid.expr expression or a mask
    (None: every row). Missing (NaN/NA) is outside, never inside."""
    n = design.n
    if where is None:
        return np.ones(n, dtype=bool)
    if isinstance(where, str):
        from sid.expr import evaluate

        values = evaluate(where, design.data)
    else:
        values = where
    arr = pd.Series(values).to_numpy() if not isinstance(values, np.ndarray) else values
    if len(arr) != n:
        raise EstimationError("where has the wrong length", where="where",
                              got=f"{len(arr)} values for {n} rows",
                              fix="give one boolean per row, or an expression string")
    if arr.dtype == object:
        arr = pd.Series(arr).astype("boolean").fillna(False).to_numpy(dtype=bool)
    elif arr.dtype.kind == "f":
        arr = np.nan_to_num(arr, nan=0.0) != 0
    return np.array(arr, dtype=bool)  # a fresh, writable copy


def _check_columns(design: Design, names: Sequence[str], role: str) -> None:
    missing = [v for v in names if v not in design.data.columns]
    if missing:
        raise EstimationError(
            f"{role} variable(s) not in the data", where=role, got=show_values(missing),
            fix="name existing columns (case matters)")


def _domains(design: Design, by: Sequence[str], where: np.ndarray) -> _Domains:
    by = tuple(by)
    if not by:
        return _Domains(np.where(where, 0, -1), pd.DataFrame(index=[0]), by)
    _check_columns(design, by, "by")
    key = np.zeros(design.n, dtype=np.int64)
    ok = where.copy()
    uniques = []
    for name in by:
        codes, lev = pd.factorize(design.data[name], sort=True)
        ok &= codes >= 0
        key = key * (len(lev) + 1) + codes
        uniques.append((codes, lev))
    eligible = ok & (design.w > 0)
    levels_key, first = np.unique(key[eligible], return_index=True)
    rows = np.flatnonzero(eligible)[first]
    pos = np.searchsorted(levels_key, key)
    pos = np.clip(pos, 0, max(len(levels_key) - 1, 0))
    match = ok & (len(levels_key) > 0)
    if len(levels_key):
        match &= levels_key[pos] == key
    code = np.where(match, pos, -1)
    levels = design.data.loc[design.data.index[rows], list(by)].reset_index(drop=True)
    return _Domains(code.astype(np.int64), levels, by)


def _numeric(design: Design, name: str, role: str = "analysis") -> np.ndarray:
    _check_columns(design, [name], role)
    col = design.data[name]
    if not pd.api.types.is_numeric_dtype(col):
        conv = pd.to_numeric(col, errors="coerce")
        bad = col[conv.isna() & col.notna()].unique().tolist()
        raise EstimationError(
            f"{role} variable {name!r} is not numeric", where=name, got=show_values(bad),
            fix="use stat='proportion' for a categorical variable, or recode it to numbers")
    return col.to_numpy(dtype=float, na_value=np.nan)


def _domain_df(design: Design, dom: np.ndarray, d: int) -> np.ndarray:
    """R's ``degf(subset(design, domain))`` for each of ``d`` domains (rows with dom >= 0)."""
    if design.is_replicate:
        return np.array([design.degf(dom == j) for j in range(d)], dtype=float)
    inset = (dom >= 0) & (design.w != 0)
    dd = dom[inset]
    n_cl = int(design.cluster.max()) + 1
    n_h = design.n_strata

    def distinct(codes: np.ndarray, k: int) -> np.ndarray:
        key = dd * k + codes
        if d * k <= 50_000_000:  # presence table: O(n), no sort
            seen = np.flatnonzero(np.bincount(key, minlength=d * k)) // k
        else:
            seen = np.unique(key) // k
        return np.bincount(seen, minlength=d)

    return (distinct(design.cluster[inset], n_cl)
            - distinct(design.stratum[inset], n_h)).astype(float)


def _domain_nrow(design: Design, dom: np.ndarray, d: int) -> np.ndarray:
    """R's ``nrow(subset(design, domain))``: calibrated designs keep every row."""
    if design.calibration:
        return np.full(d, float(design.n))
    return np.bincount(dom[dom >= 0], minlength=d).astype(float)


# --------------------------------------------------------------------------- core


@dataclass(frozen=True)
class _Core:
    """Everything an estimate needs before it becomes a table."""

    domains: _Domains
    variable: str
    statistic: str
    categories: tuple[str, ...]  # "" when the statistic has none
    dom_of: np.ndarray  # domain index of each column
    est: np.ndarray
    cov: np.ndarray
    df: np.ndarray  # per column
    nrow: np.ndarray  # per column: rows of the domain design (for beta)
    n: np.ndarray
    n_weighted: np.ndarray
    n_missing: np.ndarray
    deff: np.ndarray
    ci: tuple[np.ndarray, np.ndarray] | None = None  # quantiles bring their own CI
    logit: LogitFit | None = None  # ci="logit": R's svyglm fit (svyciprop's estimate and CI)


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


def _core(design: Design, stat: str, var: str, by: Any, where: Any, deff: bool,
          q: Any = None, conf_level: float = 0.95, ci: str | None = None) -> _Core:
    if stat not in STATS:
        raise EstimationError(f"unknown statistic {stat!r}", where="stat",
                              fix=f"use one of {', '.join(STATS)}")
    by = ensure_sequence(by)
    wmask = where_mask(design, where)
    domains = _domains(design, by, wmask)
    d = domains.count
    dom = domains.code
    if stat == "quantile":
        return _quantile_core(design, var, domains, q, conf_level, ci)
    form, cats, missing, valid = _form(design, stat, var, dom, d)
    c = len(cats)
    theta = form.estimate(design.w)
    present = domain_presence(design, form)
    logit = None
    if stat == "proportion" and ci == "logit":
        # svyciprop(method="logit"): svyglm on each domain design (R's nrow(domain design));
        # Taylor designs get the shares' covariance from the same engine call
        logit = svyglm_logit(design, form, present=present, domain_of=np.repeat(np.arange(d), c))
    cov = (logit.share_cov if logit is not None and logit.share_cov is not None
           else vcov(design, form, theta, present=present))
    w_valid = design.w[valid]
    n_dom = np.bincount(dom[valid], weights=(w_valid > 0).astype(float), minlength=d)
    nw_dom = np.bincount(dom[valid], weights=w_valid, minlength=d)
    miss_rows = (dom >= 0) & missing & (design.w > 0)
    nmiss_dom = np.bincount(dom[miss_rows], minlength=d).astype(float)
    dom_nm = np.where(missing, -1, dom)  # R: the domain design excludes missing values
    df_dom = _domain_df(design, dom_nm, d)
    nrow_dom = _domain_nrow(design, dom_nm, d)
    dom_of = np.repeat(np.arange(d), c)
    empty = n_dom[dom_of] == 0
    theta = np.where(empty, np.nan, theta)
    if empty.any():
        _warn_empty(domains, np.flatnonzero(n_dom == 0))
    dv = (_deff(design, form, theta, cov, stat) if deff
          else np.full(form.k, np.nan))
    return _Core(domains, var, stat, cats, dom_of, theta, cov, df_dom[dom_of], nrow_dom[dom_of],
                 n_dom[dom_of], nw_dom[dom_of], nmiss_dom[dom_of], dv, logit=logit)


def _warn_empty(domains: _Domains, idx: np.ndarray) -> None:
    if domains.by:
        names = [" & ".join(f"{b}={label(v)}" for b, v in zip(domains.by, row, strict=True))
                 for row in domains.levels.iloc[idx].itertuples(index=False)]
    else:
        names = ["the whole (sub)population"]
    warnings.warn(f"empty domain (no rows with a valid value and a weight > 0): "
                  f"{', '.join(names)}; estimate set to NaN", stacklevel=4)


# --------------------------------------------------------------------------- svyglm logit
#
# R's svyciprop(method="logit") fits svyglm(y ~ 1, design, family=quasibinomial) with
# glm.fit's IRLS and takes a Wald interval on the logit scale. glm.fit stops as soon as
# |dev - devold| / (|dev| + 0.1) < 1e-8, so R's coefficient (and CI) carries a convergence
# error of up to ~1e-8 relative. We run the same iterations (same start, same stopping rule,
# per column) so that the numbers equal R's default output, not the exact fixed point.

GLM_EPSILON = 1e-8  # glm.control() defaults
GLM_MAXIT = 25
_DBL_EPS = float(np.finfo(float).eps)
_THRESH = 30.0


def _linkinv(eta: np.ndarray) -> np.ndarray:
    """R's C ``logit_linkinv`` (clamped beyond |eta| > 30)."""
    with np.errstate(over="ignore"):
        tmp = np.where(eta < -_THRESH, _DBL_EPS,
                       np.where(eta > _THRESH, 1 / _DBL_EPS, np.exp(eta)))
    return tmp / (1 + tmp)


def _mu_eta(eta: np.ndarray) -> np.ndarray:
    """R's C ``logit_mu_eta``."""
    with np.errstate(over="ignore", invalid="ignore"):
        opexp = 1 + np.exp(eta)
        out = np.exp(eta) / (opexp * opexp)
    return np.where((eta > _THRESH) | (eta < -_THRESH), _DBL_EPS, out)


def _dev_resid(y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """R's C ``binomial_dev_resids``: ``2 wt (y log(y/mu) + (1-y) log((1-y)/(1-mu)))``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(y != 0, y * np.log(y / mu), 0.0)
        t0 = np.where(1 - y != 0, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return 2 * wt * (t1 + t0)


def _r_expit(x: np.ndarray) -> np.ndarray:
    """survey's ``expit``: ``exp(x) / (1 + exp(x))`` (accurate for small results)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(x) / (1 + np.exp(x))


@dataclass(frozen=True)
class _Irls:
    coef: np.ndarray  # per column
    iterations: np.ndarray  # per column
    converged: np.ndarray  # per column


def _first_step(a: np.ndarray, y: np.ndarray, cols: np.ndarray, k: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """glm.fit's start and first IRLS step, at row level, for entries (a, y) of k columns.

    Returns per column: the first coefficient, the deviance at the start (devold),
    ``Sy = sum(a y)``, ``S0 = sum(a (1 - y))`` and
    ``C = sum(a [y log y + (1-y) log(1-y)])``.
    eta = log(m/(1-m)) of R's ``mustart = (a y + 0.5)/(a + 1)`` stays inside R's clamps
    (|eta| <= log(2a + 1) < 30 unless a > 5e12), so linkinv(eta) = m and
    mu.eta(eta) = m (1 - m) up to rounding; the working weight ``a mu.eta^2/var`` is then
    ``a m (1-m)`` (0 where a == 0: not "good") and ``w z = w eta + a (y - m)``.
    """
    ay = a * y
    m = (ay + 0.5) / (a + 1)
    m1 = 1 - m
    ww = a * m * m1
    with np.errstate(divide="ignore"):
        wz = ww * np.log(m / m1) + (ay - a * m)
    sum_y = np.bincount(cols, weights=ay, minlength=k)
    sum_0 = np.bincount(cols, weights=a - ay, minlength=k)
    if np.all((y == 0) | (y == 1)):
        # y log(y/mu) + (1-y) log((1-y)/(1-mu)) is log(1/m) or log(1/(1-m)): both -log(s)
        # with s = max(m, 1-m) = (a + 0.5)/(a + 1)
        dev0 = -2 * a * np.log(np.maximum(m, m1))
        const = np.zeros(k)
    else:
        dev0 = _dev_resid(y, m, a)
        with np.errstate(divide="ignore", invalid="ignore"):
            ylogy = (np.where(y > 0, y * np.log(y), 0.0)
                     + np.where(y < 1, (1 - y) * np.log(1 - y), 0.0))
        const = np.bincount(cols, weights=a * ylogy, minlength=k)
    devold = np.bincount(cols, weights=dev0, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.bincount(cols, weights=wz, minlength=k) / np.bincount(cols, weights=ww,
                                                                      minlength=k)
    return coef, devold, sum_y, sum_0, const


def _irls_columns(coef: np.ndarray, devold: np.ndarray | None, sum_y: np.ndarray,
                  sum_0: np.ndarray, const: np.ndarray, *, from_start: bool = False) -> _Irls:
    """glm.fit's iterations after the first, from the column sums only.

    ``coef`` is the coefficient after glm's first step and ``devold`` the deviance
    before it; with ``from_start=True``, ``coef`` is a start value (R's ``start=``),
    the first step is taken from it and ``devold`` (None) is its deviance.

    After iteration 1 every row of a column shares one eta, so each IRLS step,
    deviance and convergence test needs only ``Sy = sum(a y)`` and ``S0 = sum(a (1-y))``:
    ``sum(w z)/sum(w)`` with ``w = a mu.eta^2/var`` and ``z = eta + (y - mu)/mu.eta`` is
    ``eta + (Sy (1-mu) - S0 mu)/(mu.eta (Sy + S0))``, and ``sum(dev.resids)`` is
    ``2 [C + Sy log(1/mu) + S0 log(1/(1-mu))]`` (R's C code: a term with a zero factor
    is 0; mu is clamped inside (0, 1) by linkinv). Both sums are passed in, not one as
    a difference: when a category holds every row of a domain (S0 = 0) glm runs towards
    |eta| ~ 25 and the deviance there is ~1e-11 of Sa, where a rounded ``Sa - Sy``
    would decide the stop.

    Why the iteration counts are R's: these formulas are algebraically R's row-level
    sums, so they differ only by rounding, a relative ~1e-15 of dev. The stopping ratio
    ``|dev - devold| / (|dev| + 0.1)`` therefore moves by ~1e-15 at most, and a different
    decision needs R's own ratio to fall within ~1e-15 of the threshold 1e-8. IRLS for
    an intercept-only logit is Newton's method, so successive ratios shrink
    quadratically (e.g. 1e-3, 1e-6, 1e-12): landing in that band has a probability of
    ~1e-7 per column, and R itself is not reproducible at that level (its long-double
    ``sum`` differs across platforms). The golden tests (R's ``$iter`` included) and a
    row-level transcription of glm.fit in the tests check this.
    """
    k = len(coef)

    sum_a = sum_y + sum_0

    def deviance(b: np.ndarray) -> np.ndarray:
        mu = _linkinv(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = np.where(sum_y != 0, sum_y * np.log(1 / mu), 0.0)
            t0 = np.where(sum_0 != 0, sum_0 * np.log(1 / (1 - mu)), 0.0)
        return 2 * (const + t1 + t0)

    iters = np.ones(k, dtype=np.int64)
    active = np.isfinite(coef)
    beta = coef
    if devold is None:
        devold = deviance(coef)
    for it in range(1, GLM_MAXIT + 1):
        if it > 1 or from_start:  # IRLS step from the column's common eta = coef
            mu = _linkinv(coef)
            with np.errstate(divide="ignore", invalid="ignore"):
                beta = coef + (sum_y * (1 - mu) - sum_0 * mu) / (_mu_eta(coef) * sum_a)
            coef = np.where(active, beta, coef)
            iters = np.where(active, it, iters)
        dev = deviance(coef)
        with np.errstate(invalid="ignore"):
            done = np.abs(dev - devold) / (0.1 + np.abs(dev)) < GLM_EPSILON
        active &= ~done & np.isfinite(beta)
        devold = np.where(active, dev, devold)
        if not active.any():
            break
    converged = ~active & np.isfinite(coef)
    return _Irls(coef, iters, converged)


def _irls(y: np.ndarray, a: np.ndarray, cols: np.ndarray, k: int) -> _Irls:
    """glm.fit(x = 1, y, weights = a, family = quasibinomial()) for k columns at once.

    Each column (a domain x category) iterates until its own deviance test passes,
    exactly where R's would stop. Only iteration 1 (from R's row-varying ``mustart``)
    runs over the entries (:func:`_first_step`); the rest works on column sums
    (:func:`_irls_columns`).
    """
    return _irls_columns(*_first_step(a, y, cols, k))


def _newton_from(start: np.ndarray, q: np.ndarray) -> np.ndarray:
    """glm.fit(start = coef) on normalised replicate weights, for many replicates at once.

    With an intercept-only model every row shares one eta, so the fit only needs the
    replicate's weighted share ``q`` of ones: the column-sum IRLS of
    :func:`_irls_columns` with ``Sy = q`` and ``S0 = 1 - q``, stepping first from ``start``.
    """
    q = np.asarray(q, dtype=float)
    share = q.ravel()
    begin = np.broadcast_to(start, q.shape).astype(float).ravel()
    fit = _irls_columns(begin, None, share, 1 - share, np.zeros_like(share), from_start=True)
    return np.where(np.isfinite(q), fit.coef.reshape(q.shape), np.nan)


@dataclass(frozen=True)
class LogitFit:
    """R's ``svyglm(y ~ 1, design, family = quasibinomial)`` for k proportions.

    ``coef`` is the logit of the proportion as glm.fit leaves it (including its
    convergence error), ``var`` its design-based variance (``vcov(svyglm)``).
    ``share_cov``: the covariance of the shares (svymean's), when it came out of the
    same engine call (Taylor designs with ``domain_of``), else None.
    """

    coef: np.ndarray
    var: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    share_cov: np.ndarray | None = None

    @property
    def estimate(self) -> np.ndarray:
        """svyciprop's point estimate: ``expit(coef)``."""
        return _r_expit(self.coef)

    def interval(self, df: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """svyciprop's CI: ``expit(confint(m, method = "Wald", ddf = df))``."""
        df = np.broadcast_to(np.asarray(df, dtype=float), self.coef.shape)
        a = (1 - level) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            tlevel = 1 - 2 * st.norm.cdf(st.t.ppf(a, df))  # confint.svyglm
            b = (1 - tlevel) / 2  # confint.default
            se = np.sqrt(self.var)
            lo = self.coef + se * st.norm.ppf(b)
            hi = self.coef + se * st.norm.ppf(1 - b)
        bad = ~(df > 0)
        return (np.where(bad, np.nan, _r_expit(lo)), np.where(bad, np.nan, _r_expit(hi)))


def svyglm_logit(design: Design, form: LinearForm, nrow: np.ndarray | None = None,
                 present: Any = None, domain_of: np.ndarray | None = None) -> LogitFit:
    """Fit R's intercept-only quasibinomial ``svyglm`` for each column of ``form``.

    ``form`` holds proportions (``num`` 0/1, ``den`` 1; one entry per row of each
    column's domain design). ``nrow`` is, per column, the number of rows of R's domain
    design, over which svyglm rescales the weights (``w / mean(w)``; rows with weight 0
    count): by default the entries of the column, or every row for a calibrated
    design (R keeps them with weight 0). ``present``: as for :func:`sid.variance.vcov`.
    ``domain_of`` (optional, per column): the domain of each column, when all columns of
    a domain have the same entries and ``nrow`` (the categories of one variable). A
    Taylor design then runs glm's first step once per domain row, and gets the variance
    and the shares' covariance (``share_cov``) from one small engine call.
    Taylor designs: the variance of the glm's estimating function (``svy.varcoef``)
    through :func:`sid.variance.vcov`; replicate designs: every replicate refitted from
    the full-sample coefficient (``svyglm.svyrep.design``) through
    :func:`sid.variance.replicate_vcov`.
    """
    if domain_of is not None and not design.is_replicate and form.k:
        fit = _svyglm_domains(design, form, nrow, present, np.asarray(domain_of, dtype=np.int64))
        if fit is not None:
            return fit
    k = form.k
    cols = form.cols
    w = design.w[form.rows]
    nrow = _default_nrow(design, cols, k) if nrow is None else nrow
    sum_w = np.bincount(cols, weights=w, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_w = sum_w / nrow
        a = w / mean_w[cols]
    y = np.where(a == 0, 0.0, np.asarray(form.num, dtype=float))  # initialize: y[weights == 0] <- 0
    fit = _irls(y, a, cols, k)
    share = LinearForm(form.rows, cols, y, np.ones(len(cols)), k)
    if design.is_replicate:
        def refit(p: np.ndarray) -> np.ndarray:
            # full sample: glm's own coef; replicates: refits started at it
            return fit.coef if p.ndim == 1 else _newton_from(fit.coef, p)

        v = np.diag(replicate_vcov(design, share, share.estimate(design.w), transform=refit))
        return LogitFit(fit.coef, v.copy(), fit.iterations, fit.converged)
    # svy.varcoef: estfun = resid(working) * weights(working), times Ainv = 1/sum(weights).
    # After iteration 1 the working weights are a * h(eta) with h constant in a column, so
    # estfun * Ainv = a (y - mu) / (mu.eta sum(a)): the share's linearised score at
    # theta = mu, over mu.eta.
    mu = _linkinv(fit.coef)
    me = _mu_eta(fit.coef)
    mu0 = np.where(np.isfinite(mu) & (sum_w > 0), mu, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.diag(vcov(design, share, mu0, present=present)) / me**2
    var = _first_iteration_var(design, form, mean_w, fit, var, present)
    return LogitFit(fit.coef, var, fit.iterations, fit.converged)


def _default_nrow(design: Design, cols: np.ndarray, k: int) -> np.ndarray:
    if design.calibration and not design.is_replicate:
        return np.full(k, float(design.n))
    return np.bincount(cols, minlength=k).astype(float)


def _first_iteration_var(design: Design, form: LinearForm, mean_w: np.ndarray, fit: _Irls,
                         var: np.ndarray, present: Any) -> np.ndarray:
    """svy.varcoef for columns where glm stopped after one step (rare): their working
    weights ``a m (1 - m)`` still vary by row."""
    one = fit.iterations == 1
    if not one.any():
        return var
    k = form.k
    e = np.flatnonzero(one[form.cols])
    ce = form.cols[e]
    w = design.w[form.rows[e]]
    e, ce, w = e[w > 0], ce[w > 0], w[w > 0]
    a = w / mean_w[ce]
    y = np.asarray(form.num, dtype=float)[e]
    m = (a * y + 0.5) / (a + 1)
    ww = a * m * (1 - m)
    mu = _linkinv(fit.coef)
    me = _mu_eta(fit.coef)
    with np.errstate(divide="ignore", invalid="ignore"):
        ainv = 1 / np.bincount(ce, weights=ww, minlength=k)
        u = ww / w * (y - mu[ce]) / me[ce] * ainv[ce]
    pres = None if present is None else sp.csc_matrix(present)[:, :k]
    v1 = np.diag(vcov(design, LinearForm(form.rows[e], ce, u, None, k), present=pres))
    return np.where(one, v1, var)


def _svyglm_domains(design: Design, form: LinearForm, nrow: np.ndarray | None, present: Any,
                    domain_of: np.ndarray) -> LogitFit | None:
    """svyglm_logit for a Taylor design whose columns share their domain's entries.

    glm's first step depends on an entry's ``a`` and on whether y is 1 (:func:`_first_step`
    with binary y: ``m`` is ``s = (a+0.5)/(a+1)`` or ``1 - s``, ``w z = +/- t(a)``), so the
    domain sums are taken once per domain row and the y = 1 entries add their part.
    Scores: with ``Y_j = sum(w y)/sum(w)`` and the domain weight total ``Z_d = sum(w)``,
    the share's score is ``Y_j - (p_j/sum(w)) Z_d`` and svyglm's is
    ``(Y_j - (mu_j/sum(w)) Z_d) / mu.eta``: one engine call for the k + d columns
    (Y on the y = 1 entries, Z on one entry per domain row) gives both covariances.
    None when y is not 0/1 (the caller falls back to the general path).
    """
    k = form.k
    cols = form.cols
    num = np.asarray(form.num, dtype=float)
    pos = np.flatnonzero(num)
    if not np.all(num[pos] == 1):
        return None
    d = int(domain_of.max()) + 1
    first = np.full(d, k, dtype=np.int64)
    np.minimum.at(first, domain_of, np.arange(k))
    is_first = np.zeros(k, dtype=bool)
    is_first[first[first < k]] = True
    e = np.flatnonzero(is_first[cols])  # one entry per domain row
    rows_e = form.rows[e]
    dom_e = domain_of[cols[e]]
    w_e = design.w[rows_e]
    sw_d = np.bincount(dom_e, weights=w_e, minlength=d)
    if nrow is None:
        nrow_d = (np.full(d, float(design.n)) if design.calibration
                  else np.bincount(dom_e, minlength=d).astype(float))
    else:
        nrow_d = np.asarray(nrow, dtype=float)[np.minimum(first, k - 1)]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_d = sw_d / nrow_d

    def parts(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = 0.5 / (a + 1)
        s = 1 - r
        ww = a * r * s
        with np.errstate(divide="ignore", invalid="ignore"):
            return ww, ww * np.log(s / r) + a * r, a * np.log(s)

    dd = domain_of
    sw = sw_d[dd]
    cp = cols[pos]
    w_p = design.w[form.rows[pos]]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(sw > 0, 1 / sw, 0.0)
        p = np.bincount(cp, weights=w_p, minlength=k) / sw
        a_e = np.where(w_e == 0, 0.0, w_e / mean_d[dom_e])
        a_p = np.where(w_p == 0, 0.0, w_p / mean_d[dd[cp]])
    # each column's minority side (y = 1 where p <= 0.5, else y = 0) is summed directly,
    # the other side as the domain's sum minus it (see _irls_columns, and the variance)
    flip = p > 0.5
    keep = ~flip[cp]
    zero = np.flatnonzero(flip[cols] & (num == 0)) if flip.any() else np.zeros(0, np.int64)
    c0 = cols[zero]
    w_0 = design.w[form.rows[zero]]
    with np.errstate(divide="ignore", invalid="ignore"):
        a_0 = np.where(w_0 == 0, 0.0, w_0 / mean_d[dd[c0]])
    ww_e, t_e, lg_e = parts(a_e)
    sum_ww = np.bincount(dom_e, weights=ww_e, minlength=d)[dd]
    sum_t = np.bincount(dom_e, weights=t_e, minlength=d)[dd]
    devold = -2 * np.bincount(dom_e, weights=lg_e, minlength=d)[dd]
    sum_a = np.bincount(dom_e, weights=a_e, minlength=d)[dd]
    _, t_p, _ = parts(a_p[keep])
    _, t_0, _ = parts(a_0)
    s1 = np.bincount(cp[keep], weights=a_p[keep], minlength=k)  # non-flipped: sum(a y)
    s0 = np.bincount(c0, weights=a_0, minlength=k)  # flipped: sum(a (1 - y))
    sum_y = np.where(flip, sum_a - s0, s1)
    sum_0 = np.where(flip, s0, sum_a - s1)
    with np.errstate(divide="ignore", invalid="ignore"):
        # sum(w z) = sum over y = 1 of t(a) minus sum over y = 0 of t(a)
        tz = np.where(flip, sum_t - 2 * np.bincount(c0, weights=t_0, minlength=k),
                      2 * np.bincount(cp[keep], weights=t_p, minlength=k) - sum_t)
        coef1 = tz / sum_ww
    fit = _irls_columns(coef1, devold, sum_y, sum_0, np.zeros(k))
    mu = _linkinv(fit.coef)
    me = _mu_eta(fit.coef)
    # Y_j lives on the minority side of each column (y = 1 where p <= 0.5, else y = 0 with
    # the sign flipped), so that Var(Y) - 2 c Cov(Y, Z) + c^2 Var(Z) never cancels
    # (p = 1 gives exactly 0, as R)
    q = np.where(flip, 1 - p, p)
    qm = np.where(flip, 1 - mu, mu)  # R's y - mu with y = 1: 1 - linkinv(coef)
    ent = np.concatenate([pos[keep], zero])
    ce = cols[ent]
    both = LinearForm(np.concatenate([form.rows[ent], rows_e]),
                      np.concatenate([ce, k + dom_e]),
                      np.concatenate([inv[ce], np.ones(len(e))]), None, k + d)
    if present is not None:
        pc = sp.csc_matrix(present)
        present = sp.hstack([pc, pc[:, np.minimum(first, k - 1)]])
    full = vcov(design, both, present=present)
    f_yy = full[:k, :k]
    g = full[:k, k:][:, dd]  # Cov(Y_i, Z_d(j))
    h = full[k:, k:][np.ix_(dd, dd)]
    c = np.where(sw > 0, q * inv, 0.0)
    gc = g * c[None, :]
    sign = np.where(flip, -1.0, 1.0)
    share_cov = (f_yy - gc - gc.T + c[:, None] * h * c[None, :]) * np.outer(sign, sign)
    ok = np.isfinite(mu) & (sw > 0)
    cm = np.where(ok, qm * inv, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (np.diag(f_yy) - 2 * cm * np.diag(g) + cm**2 * np.diag(h)) / me**2
    mean_w = mean_d[dd]
    var = _first_iteration_var(design, form, mean_w, fit, var, present)
    return LogitFit(fit.coef, var, fit.iterations, fit.converged, share_cov)


# --------------------------------------------------------------------------- quantiles


def qrule_math(x: np.ndarray, w: np.ndarray, p: float) -> float:
    """R's ``survey:::qrule_math``: the smallest x whose weighted CDF reaches p.

    Sums in extended precision as R does (``cumsum``/``sum`` use long double),
    so ties at exactly p fall on the same side as in R.
    """
    keep = w != 0
    x, w = x[keep], w[keep]
    if len(x) == 0 or not np.isfinite(p):
        return float("nan")
    order = np.argsort(x, kind="stable")
    xs = x[order]
    cumw = np.cumsum(w[order].astype(np.longdouble)).astype(float)
    total = float(np.cumsum(w.astype(np.longdouble))[-1])
    below = np.flatnonzero(cumw <= p * total)
    pos = int(below[-1]) if len(below) else 0
    nxt = pos if pos == len(xs) - 1 else pos + 1
    return float(xs[pos] if p - cumw[pos] / total == 0 else xs[nxt])


def _qcrit(df: np.ndarray, level: float) -> np.ndarray:
    return st.t.ppf(1 - (1 - level) / 2, df)


def _quantile_core(design: Design, var: str, domains: _Domains, q: Any, level: float,
                   ci: str | None) -> _Core:
    if q is None:
        raise EstimationError("stat='quantile' needs q", where="q", fix="e.g. q=0.5 or [0.25, 0.75]")
    qs = [float(v) for v in ensure_sequence(q)]
    bad = [v for v in qs if not 0 <= v <= 1]
    if bad:
        raise EstimationError("quantile q must be between 0 and 1", where="q",
                              got=show_values(bad), fix="e.g. q=0.5")
    y = _numeric(design, var)
    d = domains.count
    missing = np.isnan(y)
    dom = np.where(missing, -1, domains.code)  # R: na.rm subsets before degf
    nq = len(qs)
    valid = np.flatnonzero(dom >= 0)
    # point estimates, one domain at a time as R (exact long-double sums)
    order = np.argsort(dom[valid], kind="stable")
    split = np.searchsorted(dom[valid][order], np.arange(d + 1))
    groups = [valid[order[split[j]:split[j + 1]]] for j in range(d)]
    qhat = np.array([[qrule_math(y[g], design.w[g], p) for p in qs] for g in groups]).reshape(d, nq)
    # Woodruff: the domain mean of I(y <= qhat) for every domain and q at once
    rows = np.repeat(valid, nq)
    qi = np.tile(np.arange(nq), len(valid))
    cols = dom[rows] * nq + qi
    num = (y[rows] <= qhat.ravel()[cols]).astype(float)
    form = LinearForm(rows, cols, num, np.ones(len(rows)), d * nq)
    pm = form.estimate(design.w)
    cov = vcov(design, form, pm, present=domain_presence(design, form))
    se_p = np.sqrt(np.diag(cov))
    df_dom = _domain_df(design, dom, d)
    dom_of = np.repeat(np.arange(d), nq)
    df = df_dom[dom_of]
    crit = _qcrit(df if (ci or "t") == "t" else np.full(d * nq, np.inf), level)
    lo_p, hi_p = pm - crit * se_p, pm + crit * se_p
    lower = np.full(d * nq, np.nan)
    upper = np.full(d * nq, np.nan)
    for j in range(d * nq):  # the inverse CDF per domain, as R
        g = groups[dom_of[j]]
        if np.isfinite(lo_p[j]) and lo_p[j] >= 0:
            lower[j] = qrule_math(y[g], design.w[g], lo_p[j])
        if np.isfinite(hi_p[j]) and hi_p[j] <= 1:
            upper[j] = qrule_math(y[g], design.w[g], hi_p[j])
    se = (upper - lower) / (2 * crit)
    w_valid = design.w[valid]
    n_dom = np.bincount(dom[valid], weights=(w_valid > 0).astype(float), minlength=d)
    nw_dom = np.bincount(dom[valid], weights=w_valid, minlength=d)
    miss_rows = (domains.code >= 0) & missing & (design.w > 0)
    nmiss = np.bincount(domains.code[miss_rows], minlength=d).astype(float)
    if (n_dom == 0).any():
        _warn_empty(domains, np.flatnonzero(n_dom == 0))
    cov_q = np.full((d * nq, d * nq), np.nan)
    np.fill_diagonal(cov_q, se**2)
    cats = ("",) if nq == 1 else tuple(label(p) for p in qs)
    return _Core(domains, var, "quantile", cats, dom_of, qhat.ravel(),
                 cov_q, df, _domain_nrow(design, dom, d)[dom_of], n_dom[dom_of],
                 nw_dom[dom_of], nmiss[dom_of], np.full(d * nq, np.nan), ci=(lower, upper))


# --------------------------------------------------------------------------- intervals


def _intervals(method: str, est: np.ndarray, se: np.ndarray, df: np.ndarray, nrow: np.ndarray,
               level: float) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits as R: ``confint(df=)`` for wald/t, ``svyciprop`` for the rest
    (``logit`` here is the closed form; :func:`estimate` uses :class:`LogitFit`)."""
    a = (1 - level) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "wald":
            z = st.norm.ppf(1 - a)
            return est - z * se, est + z * se
        crit = st.t.ppf(1 - a, df)
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
            n_eff = n_eff * (st.t.ppf(a, nrow - 1) / st.t.ppf(a, df)) ** 2
            lo = st.beta.ppf(a, n_eff * p, n_eff * (1 - p) + 1)
            hi = st.beta.ppf(1 - a, n_eff * p + 1, n_eff * (1 - p))
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


# --------------------------------------------------------------------------- public API


def estimate(design: Design, stat: str, var: str, by: str | Sequence[str] | None = None,
             where: Any = None, ci: str | None = None, conf_level: float = 0.95,
             deff: bool = False, q: float | Sequence[float] | None = None) -> pd.DataFrame:
    """Estimate ``stat`` of ``var`` overall or per domain, with SE, CI, df, n and deff.

    ``stat`` is ``mean``, ``total``, ``proportion`` (every category),
    ``ratio`` (``var="num/den"``) or ``quantile`` (with ``q``). ``by`` names
    one or more domain variables, ``where`` is a sid.expr expression or a
    boolean mask (the subpopulation). ``ci`` is ``wald``, ``t`` (default for
    all but proportions), or for proportions ``logit`` (default), ``xlogit``,
    ``asin``, ``beta``. Returns the ``by`` columns and then :data:`COLUMNS`.
    """
    method = _check_ci(stat, ci, conf_level)
    core = _core(design, stat, var, by, where, deff, q=q, conf_level=conf_level, ci=method)
    return _table(core, method, conf_level)


def _table(core: _Core, method: str, level: float) -> pd.DataFrame:
    se = np.sqrt(np.diag(core.cov))
    df = core.df.copy()
    est = core.est
    if core.ci is not None:
        lo, hi = core.ci
    elif method == "logit" and core.logit is not None:
        # svyciprop(method="logit") as R prints it: estimate expit(coef), the Wald CI of
        # coef on df, se of the proportion (svymean)
        est = np.where(np.isnan(core.est), np.nan, core.logit.estimate)
        lo, hi = core.logit.interval(df, level)
    else:
        lo, hi = _intervals(method, core.est, se, df, core.nrow, level)
    k = len(core.est)
    c = len(core.categories)
    out = core.domains.levels.iloc[core.dom_of].reset_index(drop=True) if core.domains.by \
        else pd.DataFrame(index=range(k))
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se / est
    cols = {
        "variable": core.variable,
        "category": [core.categories[j % c] for j in range(k)],
        "statistic": core.statistic,
        "estimate": est,
        "se": se,
        "ci_low": lo,
        "ci_high": hi,
        "ci_method": method,
        "conf_level": float(level),
        "df": df,
        "n": core.n.astype(np.int64),
        "n_weighted": core.n_weighted,
        "n_missing": core.n_missing.astype(np.int64),
        "deff": core.deff,
        "cv": cv,
    }
    for name in COLUMNS:
        out[name] = cols[name]
    return out


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
    core = _core(design, stat, var, [*within, by], where, False)
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
    crit = st.t.ppf(1 - (1 - conf_level) / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = diff / se
    out = levels.iloc[core.dom_of[jg]].reset_index(drop=True)
    cols = {
        "variable": var, "category": [core.categories[j % c] for j in jg],
        "statistic": f"{stat} difference", "reference": ref_key, "estimate": diff, "se": se,
        "ci_low": diff - crit * se, "ci_high": diff + crit * se, "ci_method": "t",
        "conf_level": float(conf_level), "df": df, "statistic_t": tstat,
        "p_value": 2 * st.t.sf(np.abs(tstat), df),
    }
    for name in COMPARE_COLUMNS:
        out[name] = cols[name]
    return out


def estimate_vcov(design: Design, stat: str, var: str, by: Any = None,
                  where: Any = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The estimates (as :func:`estimate`, default CIs) and their full covariance matrix."""
    method = _check_ci(stat, None, 0.95)
    core = _core(design, stat, var, by, where, False, ci=method)
    return _table(core, method, 0.95), core.cov
