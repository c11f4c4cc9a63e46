"""The one rank rule: R's ``qr(x, tol)`` (LINPACK ``dqrdc2`` with limited column pivoting).

R decides the rank of a matrix, and which of its columns are independent, with
``dqrdc2``: Householder QR that walks the columns left to right and moves a
column to the right-hand edge when the norm of what is left of it (after the
columns already accepted are projected out) falls below ``tol`` times its
*original* norm. The rule is relative to each column, so scaling a column does
not change the rank, and the independent columns keep their original order.
R uses ``tol = 1e-7`` for ``qr()`` (calibration model matrices) and
``tol = 1e-5`` for the degrees of freedom of a replicate design
(``survey:::degf``).

:func:`qr_rank` follows ``dqrdc2`` step by step (same pivoting, same norm
downdating with R's re-computation when a squared norm drops by more than
1e-6). A tall matrix is first reduced to the triangular factor of an unpivoted
QR (same column inner products, so the same decisions in exact arithmetic),
which makes the rank of an n x R replicate-weight matrix cost one LAPACK call.
Checked against R in ``tests/reference/rank_golden.R``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QRRank", "qr_rank", "R_QR_TOL", "R_DEGF_TOL"]

R_QR_TOL = 1e-7  # R's qr() default
R_DEGF_TOL = 1e-5  # survey:::degf on a replicate design
_RECOMPUTE = 1e-6  # dqrdc2 re-computes a column norm when its square drops below this share


@dataclass(frozen=True)
class QRRank:
    """R's ``qr(x, tol)$rank`` and ``$pivot`` (0-based): ``pivot[:rank]`` are the
    independent columns in R's (original) order, the rest were moved to the end."""

    rank: int
    pivot: np.ndarray

    @property
    def independent(self) -> np.ndarray:
        """Indices of the columns R keeps (a maximal independent set, in column order)."""
        return self.pivot[: self.rank]


def qr_rank(x: np.ndarray, tol: float = R_QR_TOL) -> QRRank:
    """Rank and pivot of ``x`` as R's ``qr(x, tol = tol)`` finds them (``dqrdc2``)."""
    a = np.array(x, dtype=float, copy=True)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"qr_rank needs a matrix, got {a.ndim} dimensions")
    n, p = a.shape
    if n == 0 or p == 0:
        return QRRank(0, np.arange(p))
    if not np.isfinite(a).all():
        raise ValueError("qr_rank: the matrix has missing or infinite values (R: NA/NaN/Inf)")
    if n > p:
        a = np.asarray(np.linalg.qr(a, mode="r"))
    return _dqrdc2(np.asfortranarray(a), float(tol), n)


def _dqrdc2(a: np.ndarray, tol: float, n_rows: int) -> QRRank:
    """``dqrdc2`` on ``a`` (modified in place); ``n_rows`` caps the rank as R's ``min(k - 1, n)``."""
    n, p = a.shape
    qraux = np.sqrt(np.einsum("ij,ij->j", a, a))
    work1 = qraux.copy()
    work2 = np.where(qraux == 0.0, 1.0, qraux)
    jpvt = np.arange(p)
    k = p  # columns at positions >= k were moved to the end (R: k - 1)
    for col in range(min(n, p)):
        # cycle negligible columns to the right-hand edge
        while col < k and not qraux[col] >= work2[col] * tol:
            for arr in (jpvt, qraux, work1, work2):
                arr[col:] = np.roll(arr[col:], -1)
            a[:, col:] = np.roll(a[:, col:], -1, axis=1)
            k -= 1
        if col == n - 1:
            continue
        v = a[col:, col]
        nrmxl = float(np.sqrt(v @ v))
        if nrmxl == 0.0:
            continue
        if v[0] != 0.0:
            nrmxl = float(np.copysign(nrmxl, v[0]))
        v /= nrmxl
        v[0] += 1.0
        if col + 1 < p:
            rest = a[col:, col + 1 :]
            t = -(v @ rest) / v[0]
            rest += np.outer(v, t)
            nz = qraux[col + 1 :] != 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                tt = np.maximum(1.0 - (np.abs(rest[0]) / qraux[col + 1 :]) ** 2, 0.0)
            scaled = nz & (tt >= _RECOMPUTE)
            again = nz & ~scaled
            idx = np.arange(col + 1, p)
            qraux[idx[scaled]] *= np.sqrt(tt[scaled])
            if again.any():
                tail = rest[1:, again]
                fresh = np.sqrt(np.einsum("ij,ij->j", tail, tail))
                qraux[idx[again]] = fresh
                work1[idx[again]] = fresh
        qraux[col] = v[0]
        a[col, col] = -nrmxl
    return QRRank(int(min(k, n_rows)), jpvt)


SMALL_PRODUCT = 1 << 16  # output entries up to which crossprod avoids BLAS


def crossprod(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a.T @ b`` (R's ``crossprod``). A small output (at most 65,536 entries, e.g. the
    covariance of a table's 40 shares) is summed by ``np.einsum``'s own loop: BLAS
    would hand a product this size to its worker threads, which on a machine busy
    with other work wait for cores (measured: compare() on a 5,000-row wave took 10 ms
    wall and 14 ms CPU at load 2.7 instead of 2 ms). Large ones go to BLAS."""
    if a.shape[1] * b.shape[1] <= SMALL_PRODUCT:
        return np.einsum("ui,uj->ij", a, b)
    return a.T @ b
