"""Families and iteratively reweighted least squares, run to full convergence.

The three families use their canonical links (identity, logit, log), so IRLS
is Newton's method and the working residual times the working weight is
``w (y - mu)``. ``binomial`` and ``poisson`` are R's quasibinomial and
quasipoisson: weighted, non-integer "counts" are fine, the dispersion is never
used (the variance is design-based). Every step is a Newton increment solved
on the column-equilibrated normal equations (a Cholesky factor of a p x p
matrix: fast, and free of LAPACK threading on a busy machine); the root is
exact because the score is evaluated exactly at each step. Iteration stops
when the coefficients no longer move (relative 1e-12), not at glm's deviance
criterion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sid.linalg import qr_rank
from sid.model.formula import ModelError

FAMILIES = ("gaussian", "binomial", "poisson")
_EPS = float(np.finfo(float).eps)
_THRESH = 30.0
_MAXIT = 100
_TOL = 1e-12
GLM_QR_TOL = 1e-11  # glm.fit's qr tolerance: min(1e-7, epsilon / 1000) with epsilon 1e-8


@dataclass(frozen=True)
class Family:
    """A GLM family with its canonical link."""

    name: str
    link: str

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        if self.name == "binomial":  # clamped as R's C logit_linkinv
            e = np.exp(np.clip(eta, -_THRESH, _THRESH))
            return np.where(eta < -_THRESH, _EPS / (1 + _EPS),
                            np.where(eta > _THRESH, 1 / (1 + _EPS), e / (1 + e)))
        if self.name == "poisson":
            with np.errstate(over="ignore"):  # a diverging step is halved by the caller
                return np.maximum(np.exp(eta), _EPS)
        return eta

    def mu_eta(self, eta: np.ndarray, mu: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return np.maximum(mu * (1 - mu), _EPS)
        if self.name == "poisson":
            return mu
        return np.ones_like(eta)

    def variance(self, mu: np.ndarray) -> np.ndarray:
        if self.name == "binomial":
            return mu * (1 - mu)
        if self.name == "poisson":
            return mu
        return np.ones_like(mu)

    def start(self, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        """R's ``mustart`` turned into a starting eta."""
        if self.name == "binomial":
            mu = (w * y + 0.5) / (w + 1)
            return np.log(mu / (1 - mu))
        if self.name == "poisson":
            return np.log(y + 0.1)
        return y.astype(float)

    def deviance(self, y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.name == "binomial":
                t1 = np.where(y > 0, y * np.log(y / mu), 0.0)
                t0 = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
                return float(2 * np.sum(w * (t1 + t0)))
            if self.name == "poisson":
                r = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
                return float(2 * np.sum(w * r))
        return float(np.sum(w * (y - mu) ** 2))


def family(name: str) -> Family:
    """The :class:`Family` called ``name`` (gaussian, binomial, poisson)."""
    if name not in FAMILIES:
        raise ModelError(f"unknown family {name!r}", where="family",
                         fix=f"use one of {', '.join(FAMILIES)}")
    return Family(name, {"gaussian": "identity", "binomial": "logit", "poisson": "log"}[name])


def check_response(fam: Family, y: np.ndarray, w: np.ndarray, response: str) -> None:
    """The outcome must fit the family: {0, 1} for binomial, >= 0 for poisson."""
    used = w > 0
    if fam.name == "binomial":
        bad = np.unique(y[used & (y != 0) & (y != 1)])
        if len(bad):
            raise ModelError(f"binomial outcome {response!r} has values outside {{0, 1}}",
                             where=f"response {response}", got=_show(bad),
                             fix="recode the outcome to 0/1, e.g. 'I(x == 1) ~ ...' or a "
                                 "derived 0/1 variable")
        if np.all(y[used] == y[used][0]):
            raise ModelError(f"binomial outcome {response!r} is constant in the domain",
                             where=f"response {response}", got=_show(y[used][:1]),
                             fix="the outcome needs both 0 and 1 in the domain")
    elif fam.name == "poisson":
        bad = np.unique(y[used & (y < 0)])
        if len(bad):
            raise ModelError(f"poisson outcome {response!r} has negative values",
                             where=f"response {response}", got=_show(bad),
                             fix="a count or rate outcome must be >= 0")


def _show(values: np.ndarray) -> str:
    from sid.errors import show_values

    return show_values([float(v) for v in values])


def check_collinear(X: np.ndarray, w: np.ndarray, names: Sequence[str]) -> None:
    """Refuse linearly dependent columns (R would alias them to NA), naming them."""
    used = w > 0
    xw = X[used] * np.sqrt(w[used])[:, None]
    norms = np.linalg.norm(xw, axis=0)
    problems = []
    zero = [int(j) for j in np.flatnonzero(norms == 0)]
    for j in zero:
        problems.append(f"{names[j]} is 0 on every row with weight in the domain")
    if xw.shape[0] < xw.shape[1]:
        raise ModelError("more coefficients than rows with weight in the domain",
                         where="model", got=f"{xw.shape[1]} coefficients, {xw.shape[0]} rows",
                         fix="use fewer terms or a wider domain")
    independent = set(qr_rank(xw, tol=GLM_QR_TOL).independent.tolist())  # R's rule, as glm.fit
    dep = [j for j in range(X.shape[1]) if j not in independent and norms[j] > 0]
    keep: list[int] = []
    for j in range(X.shape[1]):
        if j in dep:
            base = xw[:, keep] / norms[keep]
            coef = np.linalg.lstsq(base, xw[:, j] / norms[j], rcond=None)[0] if keep else []
            with_ = [names[k] for k, c in zip(keep, coef, strict=True) if abs(c) > 1e-6]
            problems.append(f"{names[j]} = a combination of {', '.join(with_) or 'nothing'}")
        elif norms[j] > 0:
            keep.append(j)
    if problems:
        raise ModelError("collinear terms: " + "; ".join(problems), where="model",
                         fix="drop or merge one of the collinear terms (e.g. a category that "
                             "only occurs together with another)")


@dataclass(frozen=True)
class IrlsFit:
    """Coefficients at convergence and what the variance needs."""

    coef: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    ainv: np.ndarray  # (X' W X)^-1 with W the working weights at the solution
    deviance: float
    iterations: int
    converged: bool
    step: np.ndarray  # the last coefficient change (its direction shows a separation)


def _normal(X: np.ndarray, ww: np.ndarray) -> tuple[tuple[np.ndarray, bool], np.ndarray]:
    """Cholesky factor of the equilibrated ``X' W X`` and the column scales.

    Scaling the columns to unit weighted norm first removes the ill-conditioning
    that comes from units (an income in euros beside a 0/1 dummy); Newton
    steps solved this way still converge to the exact root, because the score
    ``X' w (y - mu)`` is evaluated exactly at every step.
    """
    from scipy.linalg import cho_factor

    g = (X * ww[:, None]).T @ X
    d = np.sqrt(np.diag(g))
    d = np.where(d > 0, d, 1.0)
    return cho_factor(g / np.outer(d, d)), d


def _solve(factor: tuple[tuple[np.ndarray, bool], np.ndarray], rhs: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    c, d = factor
    return cho_solve(c, rhs / d) / d


def _inverse(factor: tuple[tuple[np.ndarray, bool], np.ndarray]) -> np.ndarray:
    """``(X' W X)^-1`` from the equilibrated factor."""
    from scipy.linalg import cho_solve

    c, d = factor
    inv = cho_solve(c, np.eye(len(d)))
    return (inv + inv.T) / 2 / np.outer(d, d)


def irls(fam: Family, X: np.ndarray, y: np.ndarray, w: np.ndarray,
         start: np.ndarray | None = None, maxit: int = _MAXIT) -> IrlsFit:
    """Fit to full convergence from R's start (or ``start``) with step halving.

    Newton steps (the IRLS update written as an increment) on the equilibrated
    normal equations; a gaussian model is one solve plus refinement steps.
    """
    used = w > 0
    if not used.all():
        X, y, w_u = X[used], y[used], w[used]
    else:
        w_u = w
    w_u = w_u / w_u.mean()
    if start is None:
        eta = fam.start(y, w_u)
        coef = None
    else:
        coef = np.asarray(start, dtype=float)
        eta = X @ coef
    mu = fam.linkinv(eta)
    dev = fam.deviance(y, mu, w_u) if coef is not None else np.inf
    converged = False
    step = np.zeros(X.shape[1])
    iterations = 0
    for _ in range(maxit):
        iterations += 1
        me = fam.mu_eta(eta, mu)
        ww = w_u * me**2 / fam.variance(mu)
        factor = _normal(X, ww)
        if coef is None:  # first step from R's mustart: solve for the working response
            new = _solve(factor, X.T @ (ww * (eta + (y - mu) / me)))
        else:  # Newton increment: the score X' w (y - mu) (canonical link)
            new = coef + _solve(factor, X.T @ (ww * (y - mu) / me))
        eta_new = X @ new
        mu_new = fam.linkinv(eta_new)
        dev_new = fam.deviance(y, mu_new, w_u)
        halvings = 0
        while coef is not None and (not np.isfinite(dev_new) or dev_new > dev * (1 + 1e-12)
                                    + 1e-300) and halvings < 30:
            new = (new + coef) / 2
            eta_new = X @ new
            mu_new = fam.linkinv(eta_new)
            dev_new = fam.deviance(y, mu_new, w_u)
            halvings += 1
        step = new - coef if coef is not None else new
        rel = float(np.max(np.abs(step) / (np.abs(new) + 1)))
        flat = coef is not None and abs(dev_new - dev) <= 1e-15 * (abs(dev_new) + 1)
        coef, eta, mu, dev = new, eta_new, mu_new, dev_new
        if (rel <= _TOL or (flat and rel <= 1e-9)) and (iterations > 1 or start is not None):
            converged = True
            break
    if coef is None:
        raise ModelError("the model was not fitted (no iteration ran)", where="model",
                         fix="report this as a bug")
    me = fam.mu_eta(eta, mu)
    ainv = _inverse(_normal(X, w_u * me**2 / fam.variance(mu)))
    return _full(IrlsFit(coef, eta, mu, ainv, dev, iterations, converged, step), X, used, fam)


def _full(fit: IrlsFit, X: np.ndarray, used: np.ndarray, fam: Family) -> IrlsFit:
    """eta and mu on every row (zero-weight rows too), Ainv as is (normalised weights)."""
    if used.all():
        return fit
    n = len(used)
    eta = np.full(n, np.nan)
    eta[used] = fit.eta
    mu = np.full(n, np.nan)
    mu[used] = fit.mu
    return IrlsFit(fit.coef, eta, mu, fit.ainv, fit.deviance, fit.iterations, fit.converged,
                   fit.step)


def check_separation(fam: Family, fit: IrlsFit, w: np.ndarray, names: Sequence[str]) -> None:
    """Refuse a fit whose coefficients run off to infinity (perfect separation)."""
    if fam.name == "gaussian":
        return
    used = w > 0
    mu = fit.mu[used]
    edge = mu <= 10 * _EPS
    if fam.name == "binomial":
        edge |= mu >= 1 - 10 * _EPS
    if fit.converged and not edge.any():
        return
    step = np.abs(fit.step)
    big = np.flatnonzero(step > 0.1 * step.max()) if step.max() > 0 else np.argsort(
        -np.abs(fit.coef))[:1]
    culprits = [names[j] for j in big if names[j] != "(Intercept)"] or [names[j] for j in big]
    what = ("perfect separation: the outcome is predicted exactly (fitted probabilities 0 or 1)"
            if fam.name == "binomial" else
            "a zero count is predicted exactly (fitted means 0): the coefficients diverge")
    raise ModelError(what, where="model", got=f"terms {', '.join(culprits)}",
                     fix="merge categories without events with others, drop the term, or "
                         "restrict the domain")
