"""The one variance engine: linearised scores in, a covariance matrix out.

Every estimator in :mod:`sid.estimation` is a ratio of weighted totals (a total
has no denominator). It describes itself once as a :class:`LinearForm` for all
its domains and categories at the same time (k columns), and this module
turns it into

* the point estimates;
* the Taylor (linearisation) covariance: scores -> R's calibration residuals
  (``design$postStrata``) -> PSU totals -> stratum-centred sums, with fpc and a
  second stage as R's ``svyrecvar``/``multistage``/``onestage``/``onestrat``;
* or the replicate covariance, as R's ``svrVar`` (scale, rscales, mse).

Scores are sparse: a row has non-zero scores only in the columns of its own
domain, so a :class:`LinearForm` is stored as coordinate triplets and summed
into PSU totals with one ``np.bincount`` (no loop over rows, PSUs, domains or
categories). Dense score matrices are accepted too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

import numpy as np

from sid.design import Design, GregCalibration, PostStratification, Raking
from sid.errors import EstimationError
from sid.linalg import crossprod, qr_rank

if TYPE_CHECKING:
    import scipy.sparse as sp

# --------------------------------------------------------------------------- linear forms


@dataclass(frozen=True)
class LinearForm:
    """k ratios of weighted totals: ``theta_j = sum_i w_i num_ij / sum_i w_i den_ij``.

    Stored as coordinates: entry ``e`` is row ``rows[e]``, column ``cols[e]``
    with numerator value ``num[e]`` and denominator value ``den[e]``
    (``den is None``: a total, ``theta_j = sum w num``). A row outside a
    column's domain simply has no entry in that column (zero weight there).
    """

    rows: np.ndarray
    cols: np.ndarray
    num: np.ndarray
    den: np.ndarray | None
    k: int

    def totals(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Weighted totals of numerator and denominator per column."""
        ww = w[self.rows]
        tn = np.bincount(self.cols, weights=ww * self.num, minlength=self.k)
        td = None if self.den is None else np.bincount(self.cols, weights=ww * self.den,
                                                        minlength=self.k)
        return tn, td

    def estimate(self, w: np.ndarray) -> np.ndarray:
        tn, td = self.totals(w)
        if td is None:
            return tn
        with np.errstate(divide="ignore", invalid="ignore"):
            return tn / td

    def raw_scores(self, w: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Per-entry unweighted influence values ``u`` (scores are ``w * u``).

        Ratio: ``u = (num - theta * den) / sum(w den)``; total: ``u = num``.
        """
        if self.den is None:
            return self.num.astype(float)
        _, td = self.totals(w)
        assert td is not None  # totals() gives a denominator total when den is set
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.num - theta[self.cols] * self.den) / td[self.cols]

    def scores(self, w: np.ndarray, theta: np.ndarray) -> sp.coo_matrix:
        """Linearised scores (influence values) as a sparse n x k matrix."""
        import scipy.sparse as sp

        vals = w[self.rows] * self.raw_scores(w, theta)
        return sp.coo_matrix((vals, (self.rows, self.cols)), shape=(len(w), self.k))


# --------------------------------------------------------------------------- calibration


def _ave(x: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """R's ``ave(x, cells)`` for every column: the cell mean on each row."""
    import scipy.sparse as sp

    codes = np.unique(cells, return_inverse=True)[1].ravel()
    g = codes.max() + 1
    ind = sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                        shape=(g, len(codes)))
    sums = ind @ x
    counts = np.bincount(codes, minlength=g)
    return (sums / counts[:, None])[codes]


def _resid(aux: np.ndarray, y: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """R's ``qr.resid(qr(aux), y)``: residual of y projected on aux's column space."""
    keep = qr_rank(aux, tol).independent  # the one rank rule: R's qr(aux, tol)
    if keep.size == 0:
        return y
    q, _ = np.linalg.qr(aux[:, keep])
    return y - q @ (q.T @ y)


def apply_calibration(design: Design, x: np.ndarray) -> np.ndarray:
    """Scores after R's ``design$postStrata`` adjustments, in their order (``svyrecvar``)."""
    import scipy.sparse as sp

    for cal in design.calibration:
        if isinstance(cal, GregCalibration):
            w = np.asarray(cal.w, dtype=float)
            safe = np.where(w == 0, 1.0, w)
            x = _resid(np.asarray(cal.aux, dtype=float), x / safe[:, None]) * w[:, None]
        elif isinstance(cal, Raking):
            for _ in range(10):
                for cells, psw in cal.margins:
                    psw = np.asarray(psw, dtype=float)[:, None]
                    x = x - psw * _ave(x / psw, np.asarray(cells))
        elif isinstance(cal, PostStratification):
            psw = np.asarray(cal.weights, dtype=float).copy()
            oldw = (np.ones(len(psw)) if cal.oldweights is None
                    else np.asarray(cal.oldweights, dtype=float))
            psw[(psw == 0) & (oldw == 0)] = 1.0
            codes = np.unique(np.asarray(cal.cells), return_inverse=True)[1].ravel()
            g = codes.max() + 1
            ind = sp.csr_matrix((oldw / psw, (codes, np.arange(len(codes)))),
                                shape=(g, len(codes)))
            psmeans = (ind @ x) / np.bincount(codes, weights=oldw, minlength=g)[:, None]
            x = x - psmeans[codes] * psw[:, None]
        else:  # pragma: no cover - guarded by the type
            raise EstimationError(f"unknown calibration entry {type(cal).__name__}")
    return x


# --------------------------------------------------------------------------- Taylor


def _is_sparse(x: object) -> TypeGuard[sp.spmatrix]:
    """``scipy.sparse.issparse`` as a type guard (narrows a dense-or-sparse argument)."""
    import scipy.sparse as sp

    return bool(sp.issparse(x))


def _unit_totals(scores: np.ndarray | sp.spmatrix, unit: np.ndarray, n_units: int) -> np.ndarray:
    """Sum the score columns within units (PSUs): a dense n_units x k matrix."""
    import scipy.sparse as sp

    if _is_sparse(scores):
        coo = scores.tocoo()
        k = coo.shape[1]
        flat = np.bincount(unit[coo.row] * k + coo.col, weights=coo.data,
                           minlength=n_units * k)
        return flat.reshape(n_units, k)
    ind = sp.csr_matrix((np.ones(len(unit)), (unit, np.arange(len(unit)))),
                        shape=(n_units, len(unit)))
    return np.asarray(ind @ scores)


def _present_groups(present: np.ndarray | sp.spmatrix | None, group: np.ndarray, n_groups: int,
                    k: int) -> np.ndarray:
    """Boolean n_groups x k: does column j have a member row in group g."""

    if present is None:
        out = np.zeros((n_groups, k), dtype=bool)
        out[np.unique(group)] = True
        return out
    if _is_sparse(present):
        coo = present.tocoo()
        flat = np.zeros(n_groups * k, dtype=bool)
        flat[group[coo.row] * k + coo.col] = coo.data != 0
        return flat.reshape(n_groups, k)
    return _unit_totals(np.asarray(present, dtype=float), group, n_groups) > 0


def stage_scale(n_units: np.ndarray, f: np.ndarray, mult: np.ndarray, singleton: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per stratum: R's ``onestrat`` multiplier ``f n/(n-1)`` (times a stage multiplier)
    after the lonely-PSU rule, and which strata are lonely (one unit, fpc < 100%)."""
    lonely = (n_units == 1) & (f >= 1e-7)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_units > 1, f * n_units / (n_units - 1), f) * mult
    scale = np.where(f < 1e-7, 0.0, scale)
    if singleton in ("average", "remove", "certainty"):
        scale = np.where(lonely, 0.0, scale)  # R: a centred single total is 0 anyway
    return scale, lonely


def stratified_crossprod(totals: np.ndarray, stratum: np.ndarray, n_units: np.ndarray,
                          f: np.ndarray, mult: np.ndarray, singleton: str
                          ) -> tuple[np.ndarray, np.ndarray]:
    """R's ``onestrat`` summed over strata: ``sum_h scale_h * crossprod(centred totals)``.

    ``totals`` are unit totals (units x k), ``stratum`` the stratum of each
    unit, ``n_units``/``f``/``mult`` per stratum (units in the design, 1 - sampling
    fraction, and a stage multiplier). Returns the covariance and a boolean per
    stratum: lonely (one unit, fpc < 100%).
    """
    h = len(n_units)
    k = totals.shape[1]
    ssum = np.bincount((stratum[:, None] * k + np.arange(k)).ravel(), weights=totals.ravel(),
                       minlength=h * k).reshape(h, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = ssum / n_units[:, None]
    scale, lonely = stage_scale(n_units, f, mult, singleton)
    centred = totals - means[stratum]
    if singleton == "adjust":
        centred = np.where(lonely[stratum][:, None], totals, centred)
    s = scale[stratum]
    v = crossprod(centred * s[:, None], centred)
    return v, lonely


def taylor_vcov(design: Design, scores: np.ndarray | sp.spmatrix,
                present: np.ndarray | sp.spmatrix | None = None) -> np.ndarray:
    """Taylor covariance of k estimates from their n x k scores (R's ``svyrecvar``).

    ``present`` (n x k, optional) marks the rows that belong to each column's
    domain; it only matters for ``singleton="average"``, where R rescales by
    (strata in the domain) / (strata in the domain with more than one PSU).
    """

    k = scores.shape[1]
    if design.calibration:
        dense = scores.toarray() if _is_sparse(scores) else np.asarray(scores, dtype=float)
        scores = apply_calibration(design, dense)
        present = None  # R keeps every row of a calibrated design (weights set to 0)
    n_cl = len(design.n_psu) and int(design.cluster.max()) + 1
    totals = _unit_totals(scores, design.cluster, n_cl)
    st = design.stage2
    totals2 = None if st is None else _unit_totals(scores, st.unit, int(st.unit.max()) + 1)
    pres = None
    if design.singleton == "average":
        pres = (_present_groups(present, design.stratum, design.n_strata, k),
                None if st is None else _present_groups(present, st.group, len(st.n_units), k))
    return taylor_totals(design, totals, totals2, pres)


def taylor_totals(design: Design, totals: np.ndarray, totals2: np.ndarray | None,
                   pres: tuple[np.ndarray, np.ndarray | None] | None) -> np.ndarray:
    """svyrecvar from unit totals: PSU stage (and SSU stage), lonely-PSU rules.
    ``pres``: column presence per stratum and per PSU (``singleton="average"`` only)."""
    n_cl = totals.shape[0]
    cl_stratum = np.empty(n_cl, dtype=np.int64)
    cl_stratum[design.cluster] = design.stratum
    v, lonely = stratified_crossprod(totals, cl_stratum, design.n_psu, design.f1,
                                      np.ones(len(design.n_psu)), design.singleton)
    if design.singleton == "average" and lonely.any() and pres is not None:
        nstrat = pres[0].sum(axis=0).astype(float)
        nok = (pres[0] & ~lonely[:, None]).sum(axis=0).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.sqrt(nstrat / nok)
        v = v * np.outer(factor, factor)
    st = design.stage2
    if st is not None and totals2 is not None:
        ssu_group = np.empty(totals2.shape[0], dtype=np.int64)
        ssu_group[st.unit] = st.group
        v2, lonely2 = stratified_crossprod(totals2, ssu_group, st.n_units, st.f, st.mult,
                                            design.singleton)
        v = v + v2
        if design.singleton == "average" and lonely2.any() and pres is not None:
            bad = (pres[1] & lonely2[:, None]).any(axis=0)
            v[bad, :] = np.nan
            v[:, bad] = np.nan
    return v


# --------------------------------------------------------------------------- replicates


def replicate_vcov(design: Design, form: LinearForm, theta: np.ndarray,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Replicate covariance as R's ``svrVar``: ``scale * sum_r rscales_r (t_r - c)(t_r - c)'``.

    ``t_r`` are the estimates recomputed with each replicate weight column; the
    centre ``c`` is their mean over replicates with ``rscales > 0``, or the
    full-sample estimate when ``mse``. Replicates that give NaN for a column are
    dropped for that column (R drops them with a warning). ``transform`` (e.g.
    the logit) is applied to replicate and full-sample estimates first, as R
    does when it refits a model on every replicate.
    """
    import scipy.sparse as sp

    rep = design.rep_w
    rs = design.rep_rscales
    if rep is None or rs is None:
        raise EstimationError("the design has no replicate weights", where="replicate_vcov",
                              fix="use a replicate design, or vcov() for a Taylor design")
    mat_n = sp.csr_matrix((form.num, (form.rows, form.cols)), shape=(design.n, form.k))
    tn = np.asarray((mat_n.T @ rep).T)  # R x k
    if form.den is None:
        thetas = tn
    else:
        mat_d = sp.csr_matrix((form.den, (form.rows, form.cols)), shape=(design.n, form.k))
        td = np.asarray((mat_d.T @ rep).T)
        with np.errstate(divide="ignore", invalid="ignore"):
            thetas = tn / td
    if transform is not None:
        thetas = transform(thetas)
        theta = transform(theta)
    ok = np.isfinite(thetas)
    if ok.all():
        centre = theta if design.mse else thetas[rs > 0].mean(axis=0)
        dev = thetas - centre
        return design.rep_scale * crossprod(dev * rs[:, None], dev)
    v = np.full((form.k, form.k), np.nan)
    for j in range(form.k):  # only for columns with failed replicates (rare)
        good = ok[:, j]
        if not good.any():
            continue
        t = thetas[good, j]
        r = rs[good]
        centre = theta[j] if design.mse else t[r > 0].mean()
        v[j, j] = design.rep_scale * np.sum((t - centre) ** 2 * r)
    full = ok.all(axis=0)
    if full.any():
        idx = np.flatnonzero(full)
        t = thetas[:, idx]
        centre = theta[idx] if design.mse else t[rs > 0].mean(axis=0)
        dev = t - centre
        v[np.ix_(idx, idx)] = design.rep_scale * crossprod(dev * rs[:, None], dev)
    return v


# --------------------------------------------------------------------------- front door


def domain_presence(design: Design, form: LinearForm) -> sp.spmatrix | None:
    """Which rows belong to each column's domain, where the variance needs to know.

    R's ``survey.lonely.psu = "average"`` averages over the strata that have
    members in the domain, so a Taylor design with that rule needs the rows
    of each column (the entries of ``form``); for every other design the
    answer does not depend on it and this returns None.
    """
    import scipy.sparse as sp

    if design.singleton != "average" or design.is_replicate:
        return None
    return sp.coo_matrix((np.ones(len(form.rows)), (form.rows, form.cols)),
                         shape=(design.n, form.k))


def vcov(design: Design, form: LinearForm, theta: np.ndarray | None = None,
         present: np.ndarray | sp.spmatrix | None = None) -> np.ndarray:
    """Covariance (k x k) of the k estimates of ``form``: Taylor or replicate, per design."""
    if theta is None:
        theta = form.estimate(design.w)
    if design.is_replicate:
        return replicate_vcov(design, form, theta)
    return taylor_vcov(design, form.scores(design.w, theta), present=present)
