"""Calibration to population totals as R's ``calibrate()``: GREG (``"linear"``),
``"raking"`` and ``"logit"`` with bounds, by Newton-Raphson with a generalised inverse
(R's ``grake``), including R's rescaling of the weights when every population/sample
ratio exceeds 20."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sid.design import GregCalibration
from sid.errors import WeightingError, format_number
from sid.linalg import R_QR_TOL, qr_rank
from sid.weighting.checks import WeightArg, check_base_weights, norm_key, raise_problems, row_labels
from sid.weighting.margins import (
    Margin,
    Margins,
    apply_within,
    check_consistency,
    cross_cells,
    margin_gaps,
    normalise_margins,
    resolve_margin,
)
from sid.weighting.records import MarginGap, WeightingResult, make_result

__all__ = ["INTERCEPT", "calibrate"]

INTERCEPT = "(Intercept)"
_EPS_GINV = 256 * np.finfo(float).eps


def _fm1(method: str, u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """g - 1 as a function of u = x'eta (R's calfun$Fm1)."""
    if method == "linear":
        return np.minimum(np.maximum(u + 1.0, lo), hi) - 1.0
    if method == "raking":
        with np.errstate(over="ignore"):
            return np.minimum(np.maximum(np.exp(u), lo), hi) - 1.0
    a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a * u)
        return (lo * (hi - 1.0) + hi * (1.0 - lo) * e) / (hi - 1.0 + (1.0 - lo) * e) - 1.0


def _dfm1(method: str, u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Derivative of Fm1 (R's calfun$dF)."""
    inside = (u < hi - 1.0) & (u > lo - 1.0)
    if method == "linear":
        return inside.astype(float)
    if method == "raking":
        with np.errstate(over="ignore"):
            return np.where(inside, np.exp(u), 0.0)
    a = (hi - lo) / ((hi - 1.0) * (1.0 - lo))
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(a * u)
        den = hi - 1.0 + (1.0 - lo) * e
        num = lo * (hi - 1.0) + hi * (1.0 - lo) * e
        return hi * (1.0 - lo) * e * a / den - num * ((1.0 - lo) * e * a) / den**2


def _independent_columns(x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Indices of the columns of sqrt(d) X that R's ``qr()`` keeps (in column order): every
    category of every margin is a column, so margins sharing the total are dependent."""
    return qr_rank(x * np.sqrt(d)[:, None], R_QR_TOL).independent


def calibrate(
    data: pd.DataFrame,
    weight: WeightArg,
    margins: Margins,
    *,
    method: str = "linear",
    bounds: tuple[float, float] | None = None,
    within: str | Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    total_tol: float = 1e-6,
    name: str = "cal_wt",
) -> WeightingResult:
    """Calibrate weights to population totals: GREG (``"linear"``), ``"raking"`` or ``"logit"``.

    ``margins`` maps a variable (or tuple of variables) to ``{category: total}``
    for categorical auxiliaries, or to a single number for a continuous
    auxiliary (its population total); ``"(Intercept)"`` gives the population
    size when no categorical margin carries it. ``bounds=(L, U)`` bound the
    ratios final/input weight (required for ``"logit"``). Solves the
    calibration equations by Newton-Raphson with a generalised inverse, as R's
    ``calibrate()``; like R, when every population/sample ratio exceeds 20 the
    input weights are first rescaled by their mean and the bounds apply to the
    rescaled weights. ``within`` works as in :func:`rake`.
    """
    where = f"calibrate(method={method!r})"
    if method not in ("linear", "raking", "logit"):
        raise WeightingError(f"unknown calibration method {method!r}", where=where,
                             fix="use 'linear', 'raking' or 'logit'")
    lo, hi = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    strict_inside = lo < 1.0 < hi
    if bounds is not None and not (strict_inside or (method != "logit" and lo <= 1.0 <= hi)):
        raise WeightingError(
            f"bounds {bounds!r} must satisfy lower < 1 < upper",
            where=where, fix="give bounds as ratios to the input weights, e.g. (0.5, 2)",
        )
    if method == "logit" and not (np.isfinite(lo) and np.isfinite(hi)):
        raise WeightingError("logit calibration needs finite bounds", where=where,
                             fix="pass bounds=(L, U) with L < 1 < U")
    w = check_base_weights(data, weight, where)
    margins = apply_within(margins, within, where)
    n = len(w)
    problems: list[str] = []
    cat: list[Margin] = []
    cont: list[tuple[str, float]] = []
    intercept: float | None = None
    for variables, targets in normalise_margins(margins, where):
        vname = " x ".join(variables)
        if isinstance(targets, Mapping):
            m = resolve_margin(data, variables, targets, where, problems)
            if m is not None:
                cat.append(m)
            continue
        try:
            total = float(targets)
        except (TypeError, ValueError):
            problems.append(f"margin {vname}: target {targets!r} is neither a number nor a mapping")
            continue
        if vname == INTERCEPT:
            intercept = total
            continue
        if len(variables) != 1 or variables[0] not in data.columns:
            problems.append(f"continuous auxiliary {vname!r} is not a column of the data")
            continue
        col = pd.to_numeric(data[variables[0]], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(col)
        if bad.any():
            problems.append(f"continuous auxiliary {vname}: {int(bad.sum())} missing value(s) "
                            f"(rows {row_labels(data.index, bad)})")
            continue
        cont.append((vname, total))
    if not problems:
        check_consistency(cat, total_tol, problems)
        if intercept is not None and cat:
            s = float(cat[0].targets.sum())
            if abs(s - intercept) > total_tol * max(abs(s), 1.0):
                problems.append(f"target totals disagree: {INTERCEPT} {format_number(intercept)} vs "
                                f"margin {cat[0].name} {format_number(s)}")
    raise_problems("calibration targets do not fit the data", problems, where,
                    "correct the targets or recode the data")
    # units: cells of the categorical cross when there is no continuous auxiliary
    columns: list[str] = []
    if cont:
        unit = np.arange(n)
        unit_parts = []
        if intercept is not None and not cat:
            unit_parts.append(np.ones((n, 1)))
            columns.append(INTERCEPT)
        for m in cat:
            unit_parts.append(np.eye(len(m.keys))[m.code])
            columns += [f"{m.name}={m.label(k)}" for k in range(len(m.keys))]
        for vname, _ in cont:
            unit_parts.append(pd.to_numeric(data[vname]).to_numpy(dtype=float)[:, None])
            columns.append(vname)
        unit_x = np.hstack(unit_parts)
        d = w.copy()
    else:
        if not cat:
            raise WeightingError("calibration needs at least one margin besides the intercept",
                                 where=where, fix="add categorical or continuous margins")
        unit, cell_codes = cross_cells(cat)
        parts = []
        for j, m in enumerate(cat):
            parts.append(np.eye(len(m.keys))[cell_codes[j]])
            columns += [f"{m.name}={m.label(k)}" for k in range(len(m.keys))]
        unit_x = np.hstack(parts)
        d = np.bincount(unit, weights=w)
    targets = np.concatenate(
        ([intercept] if (cont and intercept is not None and not cat) else [])
        + [m.targets for m in cat]
        + [[t for _, t in cont]]
    ).astype(float)
    keep = _independent_columns(unit_x, d)
    x = unit_x[:, keep]
    t = targets[keep]
    cont_sample = [float(unit_x[:, columns.index(v)] @ w) for v, _ in cont]  # cont: a unit per row
    scale = _r_rescale(cat, w, intercept, [total for _, total in cont], cont_sample)
    if cat:
        _check_bounds(cat, w if scale is None else w * scale, lo, hi, where)
    g_unit, iterations = _newton(x, d, t, method, lo, hi, tol, max_iter, scale)
    out = w * g_unit[unit]
    gaps = margin_gaps(cat, out) + tuple(
        MarginGap(vname, "", float(total), float(ach), float((ach - total) / (abs(total) or 1.0)))
        for (vname, total), ach in zip(
            cont, [float(np.dot(pd.to_numeric(data[v]).to_numpy(dtype=float), out)) for v, _ in cont],
            strict=True)
    )
    worst = max(gaps, key=lambda g: abs(g.rel_gap)) if gaps else None
    if g_unit is None or not np.all(np.isfinite(out)) or (worst is not None and not abs(worst.rel_gap) <= max(tol, 1e-12)):
        detail = (f"worst margin {worst.margin}, category {worst.category or '-'}: achieved "
                  f"{worst.achieved:.6g} vs target {worst.target:.6g} (relative gap {worst.rel_gap:.3g})"
                  if worst is not None and np.isfinite(worst.achieved) else "no finite solution")
        raise WeightingError(
            f"{method} calibration did not converge in {iterations} iterations",
            where=where,
            got=detail,
            fix="widen the bounds, raise max_iter, or collapse sparse categories",
        )
    g = out / w
    whalf = np.sqrt(w)
    info = GregCalibration(aux=x[unit] * whalf[:, None], w=g * whalf)
    params = {"method": method, "bounds": None if bounds is None else [lo, hi], "tol": tol,
              "max_iter": max_iter, "columns": [columns[k] for k in keep], "units": int(len(d)),
              "rescaled_by": scale}
    notes: tuple[str, ...] = ()
    if scale is not None:
        notes = (f"input weights rescaled by {scale:.6g} before calibration (as R does when "
                 "every population/sample ratio exceeds 20); bounds apply after rescaling",)
    return make_result(out, data.index, f"calibrate-{method}", w, name=name, iterations=iterations,
                   gaps=gaps, params=params, calibration=(info,), notes=notes,
                       tol=max(tol, 1e-12))


def _check_bounds(cat: list[Margin], w: np.ndarray, lo: float, hi: float, where: str) -> None:
    """A category total can only reach its target if L <= target / sample total <= U."""
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return
    problems = []
    for m in cat:
        sample = np.bincount(m.code, weights=w, minlength=len(m.keys))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = m.targets / sample
        for k in np.flatnonzero((ratio < lo * (1 - 1e-12)) | (ratio > hi * (1 + 1e-12))):
            problems.append(
                f"margin {m.name}, category {m.label(int(k))}: target {format_number(m.targets[k])} is "
                f"{ratio[k]:.4g} times the weighted sample total {sample[k]:.6g}, outside the "
                f"bounds ({format_number(lo)}, {format_number(hi)})"
            )
    raise_problems("bounds are infeasible", problems, where,
                    "widen the bounds or collapse the category with a neighbour")


def _r_rescale(cat: list[Margin], w: np.ndarray, intercept: float | None,
               cont_targets: list[float], cont_sample: list[float]) -> float | None:
    """R's grake rescaling factor: ``mean(population / sample.total)`` when every ratio
    exceeds 20, else None.

    The ratios are those of R's model matrix for ``~ m1 + m2 + ... + x``: the
    intercept (when a categorical margin or ``(Intercept)`` carries it), every
    category of each margin but its first level (R's treatment contrasts) and
    each continuous auxiliary. The factor changes the solution only through
    the bounds, which R applies to the rescaled weights.
    """
    pop: list[float] = []
    sample: list[float] = []
    if cat or intercept is not None:
        pop.append(float(cat[0].targets.sum()) if cat else float(intercept or 0.0))
        sample.append(float(w.sum()))
    for m in cat:
        totals = np.bincount(m.code, weights=w, minlength=len(m.keys))
        order = sorted(range(len(m.keys)), key=lambda k: _level_order(m.keys[k]))
        pop += [float(m.targets[k]) for k in order[1:]]
        sample += [float(totals[k]) for k in order[1:]]
    pop += cont_targets
    sample += cont_sample
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = np.asarray(pop, dtype=float) / np.asarray(sample, dtype=float)
    if scales.size and np.all(np.isfinite(scales)) and scales.min() > 20:
        return float(scales.mean())
    return None


def _level_order(key: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Sort key of a category as R orders factor levels: numbers before text, then by
    value; in a crossed margin the first variable varies fastest (R's ``interaction``)."""
    return tuple((0, k) if isinstance(k, int | float) else (1, str(k))
                 for k in reversed([norm_key(v) for v in key]))


def _newton(
    x: np.ndarray, d: np.ndarray, t: np.ndarray, method: str, lo: float, hi: float,
    tol: float, max_iter: int, scale: float | None = None,
) -> tuple[np.ndarray, int]:
    """R's grake: Newton-Raphson with a generalised inverse and step halving, on the
    input weights times ``scale`` (R's rescaling, see :func:`_r_rescale`)."""
    sample = x.T @ d
    if scale is not None:
        d = d * scale
        sample = sample * scale
    denom = np.where(t != 0, np.abs(t), 1.0)
    eta = np.zeros(x.shape[1])
    u = x @ eta
    fm1 = _fm1(method, u, lo, hi)
    deriv = _dfm1(method, u, lo, hi)
    iterations = 0
    while True:
        iterations += 1
        tmat = (x * (d * deriv)[:, None]).T @ x
        misfit = t - sample - x.T @ (d * fm1)
        deta = np.linalg.pinv(tmat, rcond=_EPS_GINV) @ misfit
        eta = eta + deta
        u = x @ eta
        fm1 = _fm1(method, u, lo, hi)
        deriv = _dfm1(method, u, lo, hi)
        while iterations < max_iter and not (np.all(np.isfinite(fm1)) and np.all(np.isfinite(deriv))):
            iterations += 1
            deta = deta / 2
            eta = eta - deta
            u = x @ eta
            fm1 = _fm1(method, u, lo, hi)
            deriv = _dfm1(method, u, lo, hi)
        misfit = t - sample - x.T @ (d * fm1)
        if np.all(np.abs(misfit) / denom <= tol):
            break
        if iterations >= max_iter or not np.all(np.isfinite(misfit)):
            break
    g = 1.0 + fm1
    if scale is not None:
        g = g * scale
    return g, iterations

