"""Quantiles as R's ``svyquantile`` defaults: ``qrule="math"`` and the Woodruff interval."""

from __future__ import annotations

from typing import Any

import numpy as np

from sid.design import Design, ensure_sequence
from sid.errors import EstimationError, show_values
from sid.estimation.domains import _domain_df, _domain_nrow, _Domains, _numeric, label
from sid.estimation.forms import _Core
from sid.estimation.intervals import _qcrit
from sid.variance import LinearForm, domain_presence, vcov

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


def _quantile_core(design: Design, var: str, domains: _Domains, q: Any, level: float,
                   ci: str | None) -> _Core:
    if q is None:
        raise EstimationError("stat='quantile' needs q", where="q", fix="e.g. q=0.5 or [0.25, 0.75]")
    raw = ensure_sequence(q)
    qs = []
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise EstimationError("quantile q must be a number between 0 and 1", where="q",
                                  got=repr(v)[:40], fix="e.g. q=0.5")
        qs.append(float(v))
    if not qs:
        raise EstimationError("stat='quantile' needs q", where="q", fix="e.g. q=0.5 or [0.25, 0.75]")
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
    cov_q = np.full((d * nq, d * nq), np.nan)
    np.fill_diagonal(cov_q, se**2)
    cats = ("",) if nq == 1 else tuple(label(p) for p in qs)
    return _Core(domains, var, "quantile", cats, dom_of, qhat.ravel(),
                 cov_q, df, _domain_nrow(design, dom, d)[dom_of], n_dom[dom_of],
                 nw_dom[dom_of], nmiss[dom_of], np.full(d * nq, np.nan), ci=(lower, upper))


