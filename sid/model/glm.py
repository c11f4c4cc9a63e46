"""Design-based generalised linear models: R's ``svyglm`` through the one variance engine.

:func:`fit` answers "is the gap between origin groups still there once
education, age, sex and region are taken into account?". The point estimates
are the weighted IRLS solution (:mod:`sid.model.irls`); the covariance comes
from :mod:`sid.variance`:

* Taylor designs: the influence functions of the coefficients,
  ``w_i (y_i - mu_i) x_i' (X'WX)^-1`` (R's ``svy.varcoef``: estfun %*% Ainv),
  are the scores handed to :func:`sid.variance.taylor_vcov` (strata, PSUs, two
  stages, fpc, singleton rules, calibration residuals as R's ``postStrata``);
* replicate designs: the model is refitted with every replicate weight column
  from the full-sample coefficients (R's ``svyglm.svyrep.design``), and
  :func:`sid.variance.replicate_vcov` turns the replicate coefficients into
  R's ``svrVar`` covariance (scale, rscales, mse).

A domain (``where``) and rows with a missing model variable are zero-weighted,
never deleted, and counted. The residual df is R's ``df.residual`` for svyglm:
the design df of the domain + 1 - the number of coefficients.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import special

from sid.design import Design
from sid.model.formula import ModelError, ModelFrame, Term, model_frame
from sid.model.irls import Family, check_collinear, check_response, check_separation, irls
from sid.model.irls import family as make_family
from sid.variance import LinearForm, replicate_vcov, taylor_vcov

CI_METHODS = ("t", "wald")
COEF_COLUMNS = ("term", "estimate", "se", "ci_low", "ci_high", "df", "statistic", "p_value")
EXP_COLUMNS = ("exp_estimate", "exp_ci_low", "exp_ci_high")


@dataclass(frozen=True, eq=False)
class ModelFit:
    """A fitted design-based GLM (immutable).

    ``coef`` and ``vcov`` are in R's coefficient order (``names``);
    ``df_residual`` is R's ``df.residual``; ``n`` the rows with weight that
    entered the fit, ``n_missing`` the rows of the domain left out because a
    model variable is missing; ``iterations``/``converged`` the IRLS record.
    """

    formula: str
    family: str
    names: tuple[str, ...]
    coef: np.ndarray
    vcov: np.ndarray
    df_residual: float
    design_df: float
    n: int
    n_missing: int
    n_weighted: float
    deviance: float
    iterations: int
    converged: bool
    ci: str
    conf_level: float
    where: str | None = None
    terms: tuple[Term, ...] = ()
    frame: ModelFrame | None = field(default=None, repr=False)
    design: Design | None = field(default=None, repr=False)
    member: np.ndarray | None = field(default=None, repr=False)
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def coefficients(self) -> pd.DataFrame:
        """The tidy coefficient table (:data:`COEF_COLUMNS`, plus exp columns for
        binomial/poisson)."""
        return coefficient_table(self)

    def critical(self, ci: str | None = None, conf_level: float | None = None) -> float:
        """The t (residual df) or normal quantile of the interval."""
        method = ci or self.ci
        level = self.conf_level if conf_level is None else conf_level
        q = 1 - (1 - level) / 2
        # scipy.stats' norm.ppf and t.ppf, from scipy.special (importing scipy.stats
        # costs ~0.3 s of every process; the same functions, the same numbers)
        return float(special.ndtri(q) if method == "wald"
                     else special.stdtrit(self.df_residual, q))


def two_sided_p(stat: np.ndarray, df: float, *, wald: bool) -> np.ndarray:
    """``2 * norm.sf(|stat|)`` (wald) or ``2 * t.sf(|stat|, df)`` as scipy.stats computes
    them (``ndtr(-x)``, ``stdtr(df, -x)``), without importing scipy.stats."""
    x = np.abs(stat)
    return 2 * special.ndtr(-x) if wald else 2 * special.stdtr(df, -x)


def _check_ci(ci: str, conf_level: float) -> None:
    if ci not in CI_METHODS:
        raise ModelError(f"unknown CI method {ci!r}", where="ci",
                         fix="use 't' (residual df) or 'wald' (normal)")
    if not 0 < conf_level < 1:
        raise ModelError("conf_level must be between 0 and 1", where="conf_level",
                         got=str(conf_level), fix="e.g. 0.95")


def fit(design: Design, formula: str, family: str = "gaussian", where: Any = None, *,
        ci: str = "t", conf_level: float = 0.95, reference: Mapping[str, Any] | None = None,
        categorical: Iterable[str] = (), codebook: Any = None) -> ModelFit:
    """Fit ``formula`` to the design (R's ``svyglm``), on the ``where`` domain.

    ``family`` is ``gaussian``, ``binomial`` (quasibinomial: 0/1 outcome,
    logit link) or ``poisson`` (quasipoisson, log link). Categorical terms:
    ``C(x)``, non-numeric columns, variables the ``codebook`` types
    categorical/ordinal, the names in ``categorical``; ``reference`` maps a
    variable to its reference level (default: the lowest code, R's first
    level). ``ci`` is ``t`` (residual df) or ``wald`` (normal).
    """
    from sid.estimation import where_mask

    _check_ci(ci, conf_level)
    fam = make_family(family)
    member = where_mask(design, where)
    frame = model_frame(design, formula, member, categorical=categorical, reference=reference,
                        codebook=codebook)
    rows = frame.rows
    w = design.w[rows]
    if not (w > 0).any():
        raise ModelError("no rows with a weight > 0 in the domain", where="where",
                         got=repr(where), fix="check the where expression")
    check_response(fam, frame.y, w, frame.response)
    check_collinear(frame.X, w, frame.names)
    core = irls(fam, frame.X, frame.y, w)
    check_separation(fam, core, w, frame.names)
    v = _vcov(design, fam, frame, w, core.coef, core.mu, core.ainv)
    full = np.zeros(design.n, dtype=bool)
    full[rows] = True
    # R: Taylor degf of the design without the NA rows; replicate degf of the subset design
    ddf = design.degf(member if design.is_replicate else full)
    p = len(core.coef)
    return ModelFit(
        formula=formula, family=fam.name, names=frame.names, coef=core.coef, vcov=v,
        df_residual=ddf + 1 - p, design_df=ddf, n=int(np.sum(w > 0)), n_missing=frame.n_missing,
        n_weighted=float(np.sum(w)), deviance=core.deviance, iterations=core.iterations,
        converged=core.converged, ci=ci, conf_level=float(conf_level),
        where=where if isinstance(where, str) else None, terms=frame.terms, frame=frame,
        design=design, member=member,
        options={"reference": dict(reference or {}), "categorical": tuple(categorical),
                 "codebook": codebook, "where": where})


def influence(frame: ModelFrame, w: np.ndarray, mu: np.ndarray, ainv: np.ndarray) -> np.ndarray:
    """Influence functions of the coefficients on the analysis rows (R's estfun %*% Ainv).

    With a canonical link the working residual times the working weight is
    ``w (y - mu)``; ``ainv`` is for weights normalised to mean 1, so the
    weights are normalised the same way here (the scale cancels).
    """
    wn = np.where(w > 0, w, 0.0) / w[w > 0].mean()
    resid = np.where(w > 0, frame.y - np.nan_to_num(mu), 0.0)
    return (frame.X * (wn * resid)[:, None]) @ ainv


def _vcov(design: Design, fam: Family, frame: ModelFrame, w: np.ndarray, coef: np.ndarray,
          mu: np.ndarray, ainv: np.ndarray) -> np.ndarray:
    """The design-based covariance of the coefficients from the variance engine."""
    rows = frame.rows
    p = len(coef)
    if design.is_replicate:
        return replicate_coef_vcov(design, fam, frame, coef)
    scores = np.zeros((design.n, p))
    scores[rows] = influence(frame, w, mu, ainv)
    present = None
    if design.singleton == "average":
        present = sp.coo_matrix((np.ones(len(rows) * p), (np.repeat(rows, p),
                                                          np.tile(np.arange(p), len(rows)))),
                                shape=(design.n, p))
    return taylor_vcov(design, scores, present=present)


def replicate_coef_vcov(design: Design, fam: Family, frame: ModelFrame,
                        coef: np.ndarray) -> np.ndarray:
    """R's ``svyglm.svyrep.design``: refit with each replicate, then ``svrVar``.

    The engine's replicate covariance recomputes "estimates" from each
    replicate weight column; here the estimate of a weight vector is the
    model refitted with those weights (from the full-sample coefficients, as
    R starts its replicate fits), handed over as the engine's ``transform``
    of an identity form whose replicate "totals" are the weights themselves.
    """
    rows = frame.rows
    m = len(rows)
    form = LinearForm(rows, np.arange(m), np.ones(m), None, m)

    def refit(weights: np.ndarray) -> np.ndarray:
        if weights.ndim == 1:
            return coef
        out = np.empty((weights.shape[0], len(coef)))
        for r, wr in enumerate(weights):
            try:
                res = irls(fam, frame.X, frame.y, wr, start=coef)
                ok = res.converged and np.isfinite(res.coef).all()
            except (np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
                ok = False
            if not ok:  # R would keep a diverged or aliased refit and report a huge variance
                raise ModelError(
                    f"the model cannot be refitted on replicate {r + 1} of "
                    f"{weights.shape[0]} ({design.rep_columns[r]}): a separation or a "
                    "category without weight in that replicate", where="replicate design",
                    fix="merge sparse categories or drop the term that has too few cases")
            out[r] = res.coef
        return out

    return replicate_vcov(design, form, design.w[rows], transform=refit)


# --------------------------------------------------------------------------- tables


def coefficient_table(model: ModelFit, ci: str | None = None,
                      conf_level: float | None = None) -> pd.DataFrame:
    """One row per coefficient in R's order: estimate, se, CI, df, t (or z), p.

    ``binomial``/``poisson`` add ``exp_estimate``, ``exp_ci_low``,
    ``exp_ci_high`` (odds ratios / rate ratios and their CI).
    """
    method = ci or model.ci
    level = model.conf_level if conf_level is None else conf_level
    _check_ci(method, level)
    se = model.se
    crit = model.critical(method, level)
    est = model.coef
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    p = two_sided_p(stat, model.df_residual, wald=method == "wald")
    out = pd.DataFrame({
        "term": list(model.names), "estimate": est, "se": se, "ci_low": est - crit * se,
        "ci_high": est + crit * se, "df": float(model.df_residual), "statistic": stat,
        "p_value": p,
    })
    if model.family in ("binomial", "poisson"):
        out["exp_estimate"] = np.exp(out["estimate"])
        out["exp_ci_low"] = np.exp(out["ci_low"])
        out["exp_ci_high"] = np.exp(out["ci_high"])
    return out
