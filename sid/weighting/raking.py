"""Raking (iterative proportional fitting) to any number of categorical margins, on the
cells of the cross of the margins; R's ``rake()`` run to convergence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sid.design import Raking
from sid.errors import WeightingError
from sid.weighting.checks import WeightArg, check_base_weights
from sid.weighting.margins import (
    Margin,
    Margins,
    apply_within,
    cross_cells,
    margin_gaps,
    resolve_margins,
)
from sid.weighting.records import MarginGap, WeightingResult, check_gaps, make_result

__all__ = ["cell_gaps", "rake"]


def rake(
    data: pd.DataFrame,
    weight: WeightArg,
    margins: Margins,
    *,
    within: str | Sequence[str] | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
    total_tol: float = 1e-6,
    name: str = "rake_wt",
) -> WeightingResult:
    """Iterative proportional fitting to any number of categorical margins.

    ``margins`` maps a variable name, or a tuple of names for a crossed margin
    (e.g. ``("herkomst", "geslacht")``), to ``{category: population total}``
    (tuples of categories for crossed margins); a list of R-style population
    tables also works. With ``within="herkomst"``, ``margins`` maps each group
    to its own margins and the groups are raked separately (identical to raking
    on the margins crossed with the group, which is what is done).

    Converges when the largest relative gap |achieved - target| / target over
    all margin categories is at most ``tol``; otherwise raises
    :class:`~sid.errors.WeightingError` naming the worst margin. Same solution
    as R's ``rake()`` run to convergence.
    """
    where = "rake" + (f"(within={within!r})" if within is not None else "")
    w = check_base_weights(data, weight, where)
    ms = resolve_margins(data, apply_within(margins, within, where), where, total_tol)
    cell, cell_codes = cross_cells(ms)
    cw = np.bincount(cell, weights=w)
    f = np.ones_like(cw)
    iterations = 0
    gap = np.inf
    while iterations < max_iter:
        iterations += 1
        for j, m in enumerate(ms):
            tot = np.bincount(cell_codes[j], weights=cw * f, minlength=len(m.keys))
            with np.errstate(divide="ignore", invalid="ignore"):
                adj = np.where(tot > 0, m.targets / tot, 0.0)
            f *= adj[cell_codes[j]]
        gap = _max_cell_gap(ms, cell_codes, cw * f)
        if gap <= tol:
            break
    out = w * f[cell]
    gaps = cell_gaps(ms, cell_codes, cw * f)
    worst = max(gaps, key=lambda g: abs(g.rel_gap))
    if not abs(worst.rel_gap) <= tol:
        raise WeightingError(
            f"raking did not converge in {iterations} iterations",
            where=where,
            got=f"worst margin {worst.margin}, category {worst.category}: achieved "
            f"{worst.achieved:.6g} vs target {worst.target:.6g} (relative gap {worst.rel_gap:.3g})",
            fix="raise max_iter, collapse sparse categories, or check that the margins are "
            "compatible with the sample (structural zeros)",
        )
    info = Raking(tuple((m.code, out) for m in ms))
    params = {"margins": [m.name for m in ms], "tol": tol, "max_iter": max_iter,
              "within": within, "cells": int(len(cw))}
    check_gaps(out, margin_gaps(ms, out), tol + 1e-12, where)  # recomputed on the rows
    return make_result(out, data.index, "rake", w, name=name, iterations=iterations, gaps=gaps,
                   params=params, calibration=(info,), tol=tol)


def cell_gaps(ms: list[Margin], cell_codes: np.ndarray, cw: np.ndarray) -> tuple[MarginGap, ...]:
    """Achieved versus target per margin category, summed over cells (same totals as rows)."""
    out = []
    for j, m in enumerate(ms):
        ach = np.bincount(cell_codes[j], weights=cw, minlength=len(m.keys))
        for k in range(len(m.keys)):
            t = float(m.targets[k])
            out.append(MarginGap(m.name, m.label(k), t, float(ach[k]),
                                 float((ach[k] - t) / (abs(t) if t != 0 else 1.0))))
    return tuple(out)


def _max_cell_gap(ms: list[Margin], cell_codes: np.ndarray, cw: np.ndarray) -> float:
    gap = 0.0
    for j, m in enumerate(ms):
        tot = np.bincount(cell_codes[j], weights=cw, minlength=len(m.keys))
        denom = np.where(m.targets != 0, np.abs(m.targets), 1.0)
        gap = max(gap, float(np.max(np.abs(tot - m.targets) / denom)))
    return gap

