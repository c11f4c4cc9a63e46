"""Shares of a coded item by one coded domain variable, coded and summed in one pass.

The commonest analysis (the shares of an item coded 1..5 in each origin group,
over the whole sample, every weight positive) needs no coding pass of its own:
both variables are small whole numbers, so their codes are ``value - min``.
One chunked pass over the rows checks that the values are whole numbers,
counts rows per (domain, category) and adds the weights per (PSU, domain,
category) cell; values of the range that never occur are dropped from the
tables afterwards. The estimates, variances and logit fit then come from the
cell sums exactly as on the general cell path (:func:`sid.estimation.cells.cells_finish`).

Why a path of its own: coding the domain and the item first (``int_coder``:
min, max, a count per value) took two passes over the rows, together as long
as the whole textbook ``np.bincount`` computation (issue 14, ``docs/scale.md``).
Here the row work is a few integer operations and two ``np.add.at``, which
accumulate into one table without allocating one per chunk (measured 35% faster
than ``np.bincount`` on tables that stay in cache).

Anything else (several ``by`` variables, ``where``, a weight of 0, a missing
value in either variable, text or fractional values, wide ranges, thin cells,
two-stage, replicate or calibrated designs) returns None and takes the general
path, which codes first; both give the same numbers (``tests/test_onepass.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sid.design import Design
from sid.estimation.cells import CellTables, _row_sum, _Sums, cells_finish
from sid.estimation.codes import IntCoder, chunks
from sid.estimation.domains import _Domains, label
from sid.estimation.forms import _Core
from sid.estimation.logit import LogitRows

MAX_CATEGORIES = 64  # values in the item's range (codes 1..5, 0..10, ...)


@dataclass(frozen=True)
class _Span:
    """A numeric column of whole numbers in ``lo .. lo + span - 1``, no missing value."""

    x: np.ndarray
    lo: int
    span: int

    def whole(self, rows: slice, times: int = 1) -> np.ndarray | None:
        """``value * times`` of ``rows`` as a new intp array; None if a value is not a
        whole number."""
        v = self.x[rows]
        if v.dtype.kind != "f":
            return np.multiply(v, times, dtype=np.intp)
        c = v.astype(np.intp)
        if (c != v).any():
            return None
        if times != 1:
            c *= times
        return c

    def read(self, rows: slice) -> np.ndarray | None:
        """The values of ``rows`` as integers, read only (an integer column's own slice);
        None if a value is not a whole number."""
        v = self.x[rows]
        return v if v.dtype.kind != "f" else self.whole(rows)

    def values(self, present: np.ndarray) -> np.ndarray:
        """The values of the codes ``present`` marks, in the column's dtype."""
        return (np.flatnonzero(present) + self.lo).astype(self.x.dtype)


def _span(column: pd.Series, limit: int) -> _Span | None:
    """The column as a :class:`_Span` of at most ``limit`` values, or None."""
    if not isinstance(column.dtype, np.dtype) or column.dtype.kind not in "iuf":
        return None  # text, bool, categorical, nullable (pd.NA) dtypes: the general path
    x = column.to_numpy()
    if not len(x):
        return None
    lo, hi = x.min(), x.max()  # NaN when a value is missing
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo != np.floor(lo):
        return None
    if hi - lo >= limit or abs(float(lo)) > 2**52 or abs(float(hi)) > 2**52:
        return None
    return _Span(x, int(lo), int(hi) - int(lo) + 1)


def onepass_core(design: Design, var: str, by: Sequence[str], *, full_cov: bool,
                 ci: str | None) -> _Core | None:
    """:func:`sid.estimation.core._core` for ``stat="proportion"`` without ``where``, or None
    where this path does not apply (see the module docstring)."""
    data = design.data
    if (design.is_replicate or design.calibration or design.stage2 is not None
            or len(by) > 1 or var not in data.columns or any(b not in data.columns for b in by)):
        return None
    n = design.n
    w = design.w
    if not n or not w.min() > 0:
        return None
    item = _span(data[var], MAX_CATEGORIES)
    if item is None:
        return None
    n_units = int(design.n_psu.sum())
    group = None
    if by:
        group = _span(data[by[0]], max(n // 8, 4096) // n_units + 1)
        if group is None:
            return None
    groups = 1 if group is None else group.span
    if n_units * groups > max(n // 8, 4096):
        return None  # thin cells: the sparse cell path
    bins = item.span
    # the table is (PSU, domain, category): a row's key is its (domain, category) key
    # plus its PSU's offset, two operations; it is turned to (domain, PSU, category) after
    units = design.cluster
    offset = item.lo + (group.lo * bins if group is not None else 0)
    # a small positive offset (items coded from 1) shifts the tables instead of every key
    shift = offset if 0 <= offset <= 4096 else 0
    flat_counts = np.zeros(groups * bins + shift)
    # glm's first step reads the (domain, category) keys again: kept in 1 or 2 bytes a row
    keys = (np.empty(n, dtype=np.min_scalar_type(-groups * bins - shift)) if ci == "logit"
            else None)
    table = np.zeros(n_units * groups * bins + shift)
    for rows in chunks(n):
        if group is not None:
            jk = group.whole(rows, bins)
            cy = item.read(rows)
            if jk is None or cy is None:
                return None
            jk += cy
        else:
            jk = item.whole(rows)
            if jk is None:
                return None
        if offset != shift:
            jk -= offset
        np.add.at(flat_counts, jk, 1.0)
        key = units[rows] * (groups * bins)
        key += jk
        np.add.at(table, key, w[rows])
        if keys is not None:
            keys[rows] = jk  # shifted by ``shift``: glm's first step shifts its tables
    flat_counts, table = flat_counts[shift:], table[shift:]
    counts = flat_counts.reshape(groups, bins)
    dom_ok = counts.sum(axis=1) > 0
    cat_ok = counts.sum(axis=0) > 0
    d, m = int(dom_ok.sum()), int(cat_ok.sum())
    cells = table.reshape(n_units, groups, bins).transpose(1, 0, 2)
    if not dom_ok.all():
        cells = cells[dom_ok]
        counts = counts[dom_ok]
    if not cat_ok.all():
        cells = cells[:, :, cat_ok]
        counts = counts[:, cat_ok]
    num = np.ascontiguousarray(cells).reshape(d * n_units, m)
    den = _row_sum(num)
    has_rows = (den > 0).astype(float)
    sums = _Sums(num, den, den, has_rows, has_rows, np.zeros(len(den)))
    cdom = np.repeat(np.arange(d), n_units)
    starts = np.arange(0, d * n_units, n_units)  # each domain's block of cells
    tn = np.add.reduceat(num, starts, axis=0)
    td = np.add.reduceat(den, starts)
    sizes = counts.sum(axis=1).astype(np.int64)
    domains = _domains(group, by, dom_ok, sizes)
    categories = tuple(label(v) for v in item.values(cat_ok))
    logit_rows = None
    if keys is not None:
        stored = keys

        def logit_keys(rows: slice) -> np.ndarray:
            return stored[rows].astype(np.intp)  # numpy's take and add.at want intp

        logit_rows = LogitRows(logit_keys, groups, bins,
                               np.where(dom_ok, np.cumsum(dom_ok) - 1, -1),
                               np.where(cat_ok, np.cumsum(cat_ok) - 1, -1), offset=shift)
    tables = CellTables(categories, sums, cdom, np.tile(np.arange(n_units), d), tn, td, sizes,
                        logit_rows, yes=counts.ravel(), units=n_units)
    return cells_finish(design, "proportion", var, domains, tables, full_cov=full_cov, ci=ci)


def _domains(group: _Span | None, by: Sequence[str], present: np.ndarray,
             sizes: np.ndarray) -> _Domains:
    """The domains of the values ``present``; their row codes are made only when asked for."""
    if group is None:
        return _Domains(lambda: np.zeros(int(sizes[0]), dtype=np.int64),
                        pd.DataFrame(index=[0]), (), sizes)
    levels = group.values(present)
    lut = None if present.all() else np.cumsum(present) - 1
    coder = IntCoder(group.x, group.lo, lut, levels, False)
    return _Domains(coder.all_codes, pd.DataFrame({by[0]: levels}), tuple(by), sizes)
