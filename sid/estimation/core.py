"""The front door: :func:`estimate` (and :func:`estimate_vcov`) as a tidy table.

:func:`estimate` answers "what share of each origin group, among those in
work, was treated incorrectly?" with R ``survey`` semantics:

* domains (``by``) and subpopulations (``where``) by zero-weighting, never by
  deleting rows; missing values of the analysis variable are outside the
  domain (R's ``na.rm=TRUE``) and counted in ``n_missing``;
* all domains and categories are estimated at once, so one call to the
  variance engine (:mod:`sid.variance`) gives their SEs, or their full
  covariance when it is asked for (:func:`estimate_vcov`, :func:`sid.estimation.contrasts`);
* confidence intervals as R's ``confint(..., df=)`` (``wald``, ``t``) and
  ``svyciprop(method=)`` (``logit``, ``xlogit``, ``asin``, ``beta``); the
  degrees of freedom inside a domain are R's ``degf(subset(design, ...))``;
* quantiles as ``svyquantile`` defaults (``qrule="math"``, Woodruff interval).

The result is a tidy DataFrame with the fixed schema :data:`COLUMNS` (after
the ``by`` columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sid.design import Design, ensure_sequence
from sid.errors import EstimationError
from sid.estimation.cells import cells_core
from sid.estimation.domains import (
    _domain_df,
    _domain_nrow,
    _domains,
    domain_names,
    label,
    where_mask,
)
from sid.estimation.forms import _Core, _deff, _form
from sid.estimation.intervals import (
    _check_ci,
    _intervals,
    beta_extreme,
    korn_graubard_switch,
    resolve_ci,
)
from sid.estimation.logit import svyglm_logit
from sid.estimation.onepass import onepass_core
from sid.estimation.quantile import _quantile_core
from sid.variance import domain_presence, vcov

STATS = ("mean", "total", "proportion", "ratio", "quantile")
COLUMNS = (
    "variable", "category", "statistic", "estimate", "se", "ci_low", "ci_high", "ci_method",
    "conf_level", "df", "n", "n_weighted", "n_missing", "deff", "cv",
)


def _core(design: Design, stat: str, var: str, by: Any, where: Any, deff: bool,
          q: Any = None, conf_level: float = 0.95, ci: str | None = None,
          full_cov: bool = True, rows: bool = False) -> _Core:
    """Estimates, variances (and the full covariance with ``full_cov``), df and counts.

    Taylor designs without calibration take the cell path (:mod:`sid.estimation.cells`);
    the rest, and ``rows=True`` (tests), the row-level :class:`sid.variance.LinearForm`.
    """
    if stat not in STATS:
        raise EstimationError(f"unknown statistic {stat!r}", where="stat",
                              fix=f"use one of {', '.join(STATS)}")
    by = ensure_sequence(by)
    if stat == "proportion" and where is None and not deff and not rows:
        fast = onepass_core(design, var, by, full_cov=full_cov, ci=ci)
        if fast is not None:
            return fast
    wmask = None if where is None else where_mask(design, where)
    domains = _domains(design, by, wmask)
    d = domains.count
    dom = domains.code
    if stat == "quantile":
        return _quantile_core(design, var, domains, q, conf_level, ci)
    if not deff and not rows:
        fast = cells_core(design, stat, var, domains, full_cov=full_cov, ci=ci)
        if fast is not None:
            return fast
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
    dv = (_deff(design, form, theta, cov, stat) if deff
          else np.full(form.k, np.nan))
    return _Core(domains, var, stat, cats, dom_of, theta, cov, df_dom[dom_of], nrow_dom[dom_of],
                 n_dom[dom_of], nw_dom[dom_of], nmiss_dom[dom_of], dv, logit=logit)


# --------------------------------------------------------------------------- public API


EMPTY = ("error", "cell")


def estimate(design: Design, stat: str, var: str, by: str | Sequence[str] | None = None,
             where: Any = None, ci: str | None = None, conf_level: float = 0.95,
             deff: bool = False, q: float | Sequence[float] | None = None,
             empty: str = "error") -> pd.DataFrame:
    """Estimate ``stat`` of ``var`` overall or per domain, with SE, CI, df, n and deff.

    ``stat`` is ``mean``, ``total``, ``proportion`` (every category),
    ``ratio`` (``var="num/den"``) or ``quantile`` (with ``q``). ``by`` names
    one or more domain variables, ``where`` is a sid.expr expression or a
    boolean mask (the subpopulation). ``ci`` is ``wald``, ``t`` (default for
    all but proportions), or for proportions ``logit`` (default), ``xlogit``,
    ``asin``, ``beta`` (R's ``svyciprop``; asin clamped, see
    :mod:`sid.estimation.intervals`) or ``auto`` (``sid estimate``'s default: logit, or
    Korn-Graubard where a group has few yes/no answers or the logit interval no
    width, see :func:`~sid.estimation.intervals.korn_graubard_switch`; the
    ``ci_method`` column says which per row). Returns the ``by`` columns and then
    :data:`COLUMNS`.

    An empty (sub)population (no row with weight > 0 and a valid value) is always
    an :class:`EstimationError`. A domain that is empty while others are not is an
    error too with ``empty="error"`` (the default); with ``empty="cell"`` (tables)
    its row stays, with ``n`` 0, every number NaN and ``ci_method`` ``"empty"``.
    """
    if empty not in EMPTY:
        raise EstimationError(f"unknown empty rule {empty!r}", where="empty",
                              fix=f"use one of {', '.join(EMPTY)}")
    _check_arguments(stat, var, by, deff)
    method, auto = resolve_ci(stat, ci, conf_level)
    core = _core(design, stat, var, by, where, deff, q=q, conf_level=conf_level, ci=method,
                 full_cov=False)
    _check_empty(core, var, where, empty)
    out = _table(core, method, conf_level)
    if auto:
        out = _auto_intervals(out, core, design, var, conf_level)
    if empty == "cell":
        out.loc[out["n"] == 0, "ci_method"] = "empty"
    return out


def _check_arguments(stat: Any, var: Any, by: Any, deff: Any) -> None:
    """Types of the arguments (a spec or a script can pass anything): one line each."""
    if not isinstance(stat, str) or stat not in STATS:
        raise EstimationError(f"unknown statistic {stat!r}", where="stat",
                              fix=f"use one of {', '.join(STATS)}")
    if not isinstance(var, str) or not var.strip():
        raise EstimationError("the analysis variable must be a column name", where="var",
                              got=repr(var)[:40], fix="e.g. var='werkbeh'")
    bad = [b for b in ensure_sequence(by) if not isinstance(b, str)]
    if bad:
        raise EstimationError("by must name columns", where="by", got=repr(bad)[:40],
                              fix="e.g. by='herkomst' or by=['wave', 'herkomst']")
    names = list(ensure_sequence(by))
    twice = sorted({b for b in names if names.count(b) > 1})
    if twice:
        raise EstimationError("a domain variable is named twice in by", where="by",
                              got=", ".join(twice), fix="name each variable once")
    if not isinstance(deff, (bool, np.bool_)):
        raise EstimationError("deff must be True or False", where="deff", got=repr(deff)[:40])


def _check_empty(core: _Core, var: str, where: Any, empty: str) -> None:
    """An empty (sub)population, or with ``empty="error"`` any empty domain: one line."""
    d = core.domains.count
    n_dom = np.zeros(d)
    np.maximum.at(n_dom, core.dom_of, core.n)
    shown = where if isinstance(where, str) else ("the given mask" if where is not None else None)
    if d == 0 or not n_dom.any():
        raise EstimationError(
            "nothing to estimate: no respondent with a weight > 0"
            + (f" satisfies where {shown}" if shown else "")
            + f" and has a valid value of {var!r}",
            where=f"estimate {var}",
            fix="check the --where condition and the variable's missing values")
    if empty == "error" and (n_dom == 0).any():
        names = domain_names(core.domains, np.flatnonzero(n_dom == 0))
        raise EstimationError(
            f"{len(names)} empty domain(s): no respondent with a weight > 0 and a valid value "
            f"of {var!r}", where=f"estimate {var}", got=", ".join(names[:8])
            + (f" (+{len(names) - 8} more)" if len(names) > 8 else ""),
            fix="leave them out with --where (e.g. notna(...) on the by variable's other "
                "values), or use a table, where an empty cell is shown as empty")


def _auto_intervals(out: pd.DataFrame, core: _Core, design: Design, var: str,
                    level: float) -> pd.DataFrame:
    """``ci="auto"``: logit rows with few yes/no answers (or no width) become Korn-Graubard."""
    yes = core.yes if core.yes is not None else _yes_counts(core, design, var)
    n = out["n"].to_numpy(dtype=float)
    switch = korn_graubard_switch(yes, n - yes, out["ci_low"].to_numpy(),
                                  out["ci_high"].to_numpy())
    if not switch.any():
        return out
    est = core.est
    se = out["se"].to_numpy()
    df = out["df"].to_numpy()
    lo, hi = _intervals("beta", est, se, df, core.nrow, level)
    ext_lo, ext_hi = beta_extreme(est, n, df, level)
    extreme = np.isfinite(ext_lo)
    lo = np.where(extreme, ext_lo, lo)
    hi = np.where(extreme, ext_hi, hi)
    out = out.copy()
    out["estimate"] = np.where(switch, est, out["estimate"])
    out["ci_low"] = np.where(switch, lo, out["ci_low"])
    out["ci_high"] = np.where(switch, hi, out["ci_high"])
    out["ci_method"] = np.where(switch, "beta", out["ci_method"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = out["se"] / out["estimate"]
    return out


def _yes_counts(core: _Core, design: Design, var: str) -> np.ndarray:
    """Per row of a proportion table: respondents (weight > 0) of the domain in the category."""
    codes, cats = pd.factorize(design.data[var], sort=True)
    c = len(core.categories)
    position = {name: j for j, name in enumerate(core.categories)}
    to_col = np.array([position.get(label(v), -1) for v in cats] + [-1], dtype=np.int64)
    codes = to_col[codes]  # codes -1 (missing) pick the final -1
    dom = core.domains.code
    keep = (dom >= 0) & (codes >= 0) & (design.w > 0)
    counts = np.bincount(dom[keep] * c + codes[keep], minlength=core.domains.count * c)
    return counts.astype(float)


def _table(core: _Core, method: str, level: float) -> pd.DataFrame:
    se = np.sqrt(core.variances)
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
    levels = core.domains.levels
    cols: dict[str, Any] = {name: levels[name].array.take(core.dom_of)  # keeps the dtype
                            for name in core.domains.by}
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se / est
    cols |= {
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
    return pd.DataFrame(cols, index=pd.RangeIndex(k))


def estimate_vcov(design: Design, stat: str, var: str, by: Any = None,
                  where: Any = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The estimates (as :func:`estimate`, default CIs) and their full covariance matrix."""
    method = _check_ci(stat, None, 0.95)
    core = _core(design, stat, var, by, where, False, ci=method, full_cov=True)
    return _table(core, method, 0.95), core.covariance
