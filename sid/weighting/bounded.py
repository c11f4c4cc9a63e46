"""Trimming as bounded calibration: the weights closest to the calibrated ones that meet the
margins *and* lie within per-unit bounds, with a stated fallback when no such weights exist.

Why: trimming and re-raking in turn (:func:`~sid.weighting.trimming.trim_rake`) can cycle
or crawl without ever meeting both the bounds and the margins (two of 313 synthetic
samples). Here trimming is one convex problem, solved directly:

    minimise   sum_i w_i log(w_i / d_i) - w_i + d_i        (the raking distance to d)
    subject to the margins (sum of w over each margin category = its target)
               lower_i <= w_i <= upper_i

Its solution has the form ``w_i = clip(d_i exp(x_i' lambda), lower_i, upper_i)`` (raking
with bounds, R's ``calibrate(calfun = "raking", bounds = )`` with bounds per unit); the
multipliers ``lambda`` maximise the concave dual, found by Newton steps with a line
search, which converges whenever the problem is feasible. When it is not (the margins
force some weights outside the bounds), the bounds are widened by ``widen`` (upper x
1.5, lower / 1.5) and the problem solved again, at most ``max_widen`` times; if even
that fails the calibrated weights are kept unchanged (they meet the margins). Margins
are hard constraints, the trimming bounds a variance device: every outcome meets the
margins within ``tol`` and says in its record which bounds hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import xlogy

from sid.design import Raking
from sid.errors import WeightingError
from sid.weighting.checks import WeightArg, check_base_weights
from sid.weighting.margins import Margin, Margins, apply_within, margin_gaps, resolve_margins
from sid.weighting.records import WeightingResult, make_result
from sid.weighting.trimming import Bound, show_bound

__all__ = ["WIDEN", "bounded_rake"]

WIDEN = 1.5  # a fallback round multiplies the upper bounds by this and divides the lower ones
_EPS_GINV = 256 * np.finfo(float).eps
_CURVATURE = 1e-6  # curvature lent to units at a bound, so every Newton step is defined


def bounded_rake(
    data: pd.DataFrame,
    weight: WeightArg,
    margins: Margins,
    *,
    lower: Bound = None,
    upper: Bound = None,
    within: str | Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    widen: float = WIDEN,
    max_widen: int = 8,
    total_tol: float = 1e-6,
    name: str = "final_wt",
) -> WeightingResult:
    """Weights within ``[lower, upper]`` (per unit or one for all) that meet the margins,
    closest in the raking distance to ``weight``; a stated fallback when none exist.

    ``weight`` should already meet the margins (the output of :func:`rake` or
    :func:`calibrate`); the result is then ``weight`` itself whenever it lies within
    the bounds. ``record.params`` says ``widened`` (how many fallback rounds were
    needed: 0 = the bounds as given hold), ``bounds_factor`` (``widen ** widened``),
    ``untrimmed`` (True when no widening helped and ``weight`` is kept) and
    ``outside_given`` (units outside the bounds as given).
    """
    where = "bounded_rake" + (f"(within={within!r})" if within is not None else "")
    d = check_base_weights(data, weight, where)
    n = len(d)
    lo = np.broadcast_to(0.0 if lower is None else np.asarray(lower, dtype=float), (n,)).copy()
    hi = np.broadcast_to(np.inf if upper is None else np.asarray(upper, dtype=float), (n,)).copy()
    if np.any(~np.isfinite(lo) & (lo != -np.inf)) or np.any(np.isnan(hi)):
        raise WeightingError("trimming bounds are missing (NaN)", where=where,
                             fix="give finite bounds")
    lo = np.maximum(lo, 0.0)
    if np.any(hi <= 0) or np.any(lo >= hi):
        raise WeightingError("trimming bounds are empty: an upper bound <= 0 or lower >= upper",
                             where=where, fix="give 0 <= lower < upper")
    if not (widen > 1.0 and max_widen >= 0):
        raise WeightingError(f"widen must exceed 1 (got {widen!r})", where=where,
                             fix="use the default 1.5")
    ms = resolve_margins(data, apply_within(margins, within, where), where, total_tol)
    x = _Design(ms)
    t = np.concatenate([m.targets for m in ms])
    out, iterations, widened = d, 0, None
    for k in range(max_widen + 1):
        factor = widen**k
        w, its, ok = _solve(x, d, t, lo / factor, hi * factor, tol, max_iter)
        iterations += its
        if ok:
            out, widened = w, k
            break
    untrimmed = widened is None
    gaps = margin_gaps(ms, out)
    if untrimmed and max((abs(g.rel_gap) for g in gaps), default=0.0) > tol:
        raise WeightingError(
            "no bounds could be met and the input weights do not meet the margins", where=where,
            fix="trim weights that were raked or calibrated to the same margins")
    outside = int(np.sum((d < lo * (1 - 1e-9)) | (d > hi * (1 + 1e-9))))
    left = int(np.sum((out < lo * (1 - 1e-9)) | (out > hi * (1 + 1e-9))))
    params = {"lower": show_bound(lower), "upper": show_bound(upper), "tol": tol,
              "widened": -1 if untrimmed else widened,
              "bounds_factor": None if untrimmed else widen ** (widened or 0),
              "untrimmed": untrimmed, "outside_given": outside, "outside_after": left}
    notes: tuple[str, ...] = ()
    if untrimmed:
        notes = (f"the trimming bounds cannot hold together with the margins, even widened "
                 f"{max_widen} times by {widen:g}: the weights are kept untrimmed",)
    elif widened:
        notes = (f"the trimming bounds cannot hold together with the margins: widened to "
                 f"lower / {widen ** widened:.4g} and upper x {widen ** widened:.4g}; "
                 f"{left} unit(s) outside the bounds as given",)
    return make_result(out, data.index, "bounded_rake", d, name=name, iterations=iterations,
                       gaps=gaps, params=params, notes=notes, tol=tol,
                       calibration=(Raking(tuple((m.code, out) for m in ms)),))


class _Design:
    """The margins' model matrix, kept as one category code per unit and margin (no n x p
    matrix): products with it are bincounts."""

    def __init__(self, ms: Sequence[Margin]) -> None:
        self.codes = [m.code for m in ms]
        self.sizes = [len(m.keys) for m in ms]
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(int)

    def xt(self, v: np.ndarray) -> np.ndarray:
        """X' v: the sum of v over each margin category."""
        return np.concatenate([np.bincount(c, weights=v, minlength=k)
                               for c, k in zip(self.codes, self.sizes, strict=True)])

    def x(self, lam: np.ndarray) -> np.ndarray:
        """X lambda: per unit, the sum of its categories' multipliers."""
        u = np.zeros(len(self.codes[0]))
        for c, k, s in zip(self.codes, self.sizes, self.starts, strict=True):
            u += lam[s:s + k][c]
        return u

    def gram(self, v: np.ndarray) -> np.ndarray:
        """X' diag(v) X."""
        p = sum(self.sizes)
        out = np.zeros((p, p))
        for a, (ca, ka, sa) in enumerate(zip(self.codes, self.sizes, self.starts, strict=True)):
            for cb, kb, sb in list(zip(self.codes, self.sizes, self.starts, strict=True))[a:]:
                block = np.bincount(ca * kb + cb, weights=v, minlength=ka * kb).reshape(ka, kb)
                out[sa:sa + ka, sb:sb + kb] = block
                out[sb:sb + kb, sa:sa + ka] = block.T
        return out


def _weights(x: _Design, d: np.ndarray, lam: np.ndarray, lo: np.ndarray,
             hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Primal weights at the multipliers, which units are inside their bounds, and x'lambda."""
    u = x.x(lam)
    with np.errstate(over="ignore"):
        raw = d * np.exp(np.minimum(u, 700.0))
    w = np.minimum(np.maximum(raw, lo), hi)
    return w, (raw > lo) & (raw < hi), u


def _dual(w: np.ndarray, d: np.ndarray, u: np.ndarray, lam: np.ndarray, t: np.ndarray) -> float:
    """The concave dual: the Lagrangian at the unit-wise minimising weights."""
    return float(np.sum(xlogy(w, w / d) - w + d - u * w) + lam @ t)


def _solve(x: _Design, d: np.ndarray, t: np.ndarray, lo: np.ndarray, hi: np.ndarray,
           tol: float, max_iter: int) -> tuple[np.ndarray, int, bool]:
    """Newton ascent on the dual with a backtracking line search; (weights, iterations, met)."""
    denom = np.where(t != 0, np.abs(t), 1.0)
    # necessary: every category can reach its target within the bounds of its units
    if np.any(x.xt(lo) > t * (1 + tol)) or np.any(x.xt(hi) < t * (1 - tol)):
        return d, 0, False
    lam = np.zeros(len(t))
    w, inside, u = _weights(x, d, lam, lo, hi)
    value = _dual(w, d, u, lam, t)
    for it in range(1, max_iter + 1):
        grad = t - x.xt(w)
        if np.all(np.abs(grad) / denom <= tol):
            return w, it - 1, True
        curv = np.where(inside, w, _CURVATURE * w)
        step = np.linalg.pinv(x.gram(curv), rcond=_EPS_GINV, hermitian=True) @ grad
        slope = float(grad @ step)
        if not slope > 0:
            step, slope = grad, float(grad @ grad)
        s = 1.0
        while True:
            new_lam = lam + s * step
            nw, ninside, nu = _weights(x, d, new_lam, lo, hi)
            new_value = _dual(nw, d, nu, new_lam, t)
            if new_value >= value + 1e-4 * s * slope or s < 1e-12:
                break
            s /= 2
        if s < 1e-12 and new_value <= value:
            break
        lam, w, inside, value = new_lam, nw, ninside, new_value
    grad = t - x.xt(w)
    return w, max_iter, bool(np.all(np.abs(grad) / denom <= tol))
