"""R's ``svyglm(y ~ 1, family = quasibinomial)`` for many proportions at once.

The IRLS of ``glm.fit`` with its early stop, run on column sums after the
first step (:func:`_irls_columns`), the design-based variance of the
coefficient (``svy.varcoef``, or replicate refits), and :class:`LogitFit`
with svyciprop's estimate and interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sid.design import Design
from sid.estimation.codes import chunks
from sid.estimation.intervals import _r_expit, norm_cdf, norm_quantile, t_quantile
from sid.variance import LinearForm, replicate_vcov, vcov

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
        return _linkinv_quiet(eta)


def _linkinv_quiet(eta: np.ndarray) -> np.ndarray:
    """:func:`_linkinv` inside the caller's ``np.errstate`` (overflow ignored there)."""
    tmp = np.where(eta < -_THRESH, _DBL_EPS, np.where(eta > _THRESH, 1 / _DBL_EPS, np.exp(eta)))
    return tmp / (1 + tmp)


def _mu_eta(eta: np.ndarray) -> np.ndarray:
    """R's C ``logit_mu_eta``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _mu_eta_quiet(eta)


def _mu_eta_quiet(eta: np.ndarray) -> np.ndarray:
    """:func:`_mu_eta` inside the caller's ``np.errstate`` (overflow, invalid ignored)."""
    e = np.exp(eta)
    opexp = 1 + e
    out = e / (opexp * opexp)
    return np.where((eta > _THRESH) | (eta < -_THRESH), _DBL_EPS, out)


def _dev_resid(y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """R's C ``binomial_dev_resids``: ``2 wt (y log(y/mu) + (1-y) log((1-y)/(1-mu)))``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(y != 0, y * np.log(y / mu), 0.0)
        t0 = np.where(1 - y != 0, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return 2 * wt * (t1 + t0)


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
        const: np.ndarray = np.zeros(k)
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
    has_y, has_0 = sum_y != 0, sum_0 != 0

    def deviance(mu: np.ndarray) -> np.ndarray:
        t1 = np.where(has_y, sum_y * np.log(1 / mu), 0.0)
        t0 = np.where(has_0, sum_0 * np.log(1 / (1 - mu)), 0.0)
        return 2 * (const + t1 + t0)

    iters = np.ones(k, dtype=np.int64)
    active = np.isfinite(coef)
    beta = coef
    # one errstate for the loop (entering one costs as much as the arithmetic on k columns)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        mu = _linkinv_quiet(coef)
        if devold is None:
            devold = deviance(mu)
        for it in range(1, GLM_MAXIT + 1):
            if it > 1 or from_start:  # IRLS step from the column's common eta = coef
                beta = coef + (sum_y * (1 - mu) - sum_0 * mu) / (_mu_eta_quiet(coef) * sum_a)
                coef = np.where(active, beta, coef)
                iters = np.where(active, it, iters)
                mu = _linkinv_quiet(coef)
            dev = deviance(mu)
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
            tlevel = 1 - 2 * norm_cdf(t_quantile(a, df))  # confint.svyglm
            b = (1 - tlevel) / 2  # confint.default
            se = np.sqrt(self.var)
            lo = self.coef + se * norm_quantile(b)
            hi = self.coef + se * norm_quantile(1 - b)
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
    irls = _irls(y, a, cols, k)
    share = LinearForm(form.rows, cols, y, np.ones(len(cols)), k)
    if design.is_replicate:
        def refit(p: np.ndarray) -> np.ndarray:
            # full sample: glm's own coef; replicates: refits started at it
            return irls.coef if p.ndim == 1 else _newton_from(irls.coef, p)

        v = np.diag(replicate_vcov(design, share, share.estimate(design.w), transform=refit))
        return LogitFit(irls.coef, v.copy(), irls.iterations, irls.converged)
    # svy.varcoef: estfun = resid(working) * weights(working), times Ainv = 1/sum(weights).
    # After iteration 1 the working weights are a * h(eta) with h constant in a column, so
    # estfun * Ainv = a (y - mu) / (mu.eta sum(a)): the share's linearised score at
    # theta = mu, over mu.eta.
    mu = _linkinv(irls.coef)
    me = _mu_eta(irls.coef)
    mu0 = np.where(np.isfinite(mu) & (sum_w > 0), mu, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.diag(vcov(design, share, mu0, present=present)) / me**2
    var = _first_iteration_var(design, form, mean_w, irls, var, present)
    return LogitFit(irls.coef, var, irls.iterations, irls.converged)


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
    import scipy.sparse as sp

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
        import scipy.sparse as sp

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




# --------------------------------------------------------------------------- from cell sums


@dataclass(frozen=True)
class LogitRows:
    """How glm's first step reads the rows: a key per row into a (group, bin) table.

    ``keys(rows)`` gives, for a slice of rows, ``group * bins + bin`` (``groups * bins``:
    a row left out). ``dom_of_group`` is the domain of each group and ``col_of_bin`` the
    column of each bin, -1 for a group or bin that is not one (a value absent from the
    range, the missing values' bin).
    """

    keys: Callable[[slice], np.ndarray]
    groups: int
    bins: int
    dom_of_group: np.ndarray
    col_of_bin: np.ndarray
    offset: int = 0  # the keys come shifted by this much (saves a subtraction a row)


def others(x: np.ndarray) -> np.ndarray:
    """Per row of x, the sum of the other columns, without subtracting (no cancellation)."""
    zero = np.zeros((x.shape[0], 1))
    before = np.cumsum(np.hstack([zero, x[:, :-1]]), axis=1)
    after = np.cumsum(np.hstack([zero, x[:, :0:-1]]), axis=1)[:, ::-1]
    return before + after


def cells_logit_fit(w: np.ndarray, rows_of: LogitRows, tn: np.ndarray, td: np.ndarray,
                    nrow: np.ndarray, flip: np.ndarray
                    ) -> tuple[_Irls, np.ndarray, np.ndarray] | None:
    """R's svyglm logit fit for every domain x category column from (domain, category)
    sums, and the centre and scale (d x m) of its cell scores; None if a column stopped
    after glm's first step (the row-level path handles that).

    glm's first step (start ``mustart = (a y + 0.5)/(a + 1)``, ``a = w / mean(w)``
    over the domain design's rows) needs, per domain, ``sum a m (1-m)`` and the
    deviance at the start, and per column ``sum w z``; with binary y these are
    sums of ``ww(a) = a r (1-r)``, ``t(a) = ww log(2a + 1) + a r`` and
    ``a log(1 - r)`` with ``r = 0.5/(a+1)`` (see ``_svyglm_domains``), so one pass
    over the rows gives them per (domain, category), accumulated with ``np.add.at``
    (faster than a ``np.bincount`` per chunk: no table to allocate and add). The rest
    is column sums (:func:`_irls_columns`).
    """
    d, m = tn.shape
    groups, bins = rows_of.groups, rows_of.bins
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_mean = nrow / td  # a = w / mean(w) over the domain design's rows
    in_dom = rows_of.dom_of_group >= 0
    per_group = np.zeros(groups)
    per_group[in_dom] = inv_mean[rows_of.dom_of_group[in_dom]]
    shift = rows_of.offset
    size = shift + groups * bins + 1
    # per key: a's factor; a row left out (and the unused shifted bins): a = 0
    scale_of_key = np.concatenate([np.zeros(shift), np.repeat(per_group, bins), [0.0]])
    acc = np.zeros((3, size))  # per key: sums of ww(a), t(a), a log(1 - r)
    for rows in chunks(len(w)):
        key = rows_of.keys(rows)
        # nine arithmetic passes over the chunk: a r is formed once for ww and t, and
        # 2a + 1 is (a + 1) + a, in the buffer r was divided from
        a = scale_of_key.take(key)
        a *= w[rows]
        t = a + 1
        r = np.divide(0.5, t)
        t += a  # 2a + 1
        ww = 1 - r
        lg = np.log(ww)
        lg *= a
        np.add.at(acc[2], key, lg)
        r *= a  # a r
        ww *= r  # a r (1 - r)
        np.add.at(acc[0], key, ww)
        np.log(t, out=t)
        t *= ww
        t += r
        np.add.at(acc[1], key, t)
    table = acc[:, shift:-1].reshape(3, groups, bins)
    keep_bin = rows_of.col_of_bin >= 0
    s_ww, s_t, s_lg = (v[in_dom][:, keep_bin] for v in table)
    sum_ww = s_ww.sum(axis=1)
    devold = -2 * s_lg.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef1 = (s_t - others(s_t)) / sum_ww[:, None]
        sum_y = tn * inv_mean[:, None]
        sum_0 = others(tn) * inv_mean[:, None]
    k = d * m
    fit = _irls_columns(coef1.ravel(), np.repeat(devold, m), sum_y.ravel(), sum_0.ravel(),
                        np.zeros(k))
    if (fit.iterations == 1).any():
        return None
    mu = _linkinv(fit.coef).reshape(d, m)
    me = _mu_eta(fit.coef).reshape(d, m)
    ok = np.isfinite(mu) & (td[:, None] > 0)
    centre = np.where(ok, mu, np.where(flip, 1.0, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(td[:, None] > 0, 1 / (td[:, None] * me), 0.0)
    return fit, centre, scale
