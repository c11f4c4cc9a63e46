"""The fast path: estimates and Taylor SEs from sums per cell, in one pass over the rows.

A cell is the part of one PSU in one domain. For a Taylor design without
calibration every statistic here (mean, total, proportion, ratio) is a ratio of
weighted totals, and its linearised score summed over a PSU is
``(sum w num - theta sum w den) / sum_domain(w den)``: it needs only the cell's
weighted sums. So one ``np.bincount`` over an integer key (cell x category,
the missing values in a bin of their own) gives, per cell, everything the
estimate, n, n_missing, df and the SE need; the variance engine then works on
cells (:func:`sid.variance.taylor_cell_var`), never on n x k scores. No sort,
no sparse matrix, no per-domain loop; the extra memory is a few integer and
float arrays of n.

R's ``svyciprop(method="logit")`` needs glm's first IRLS step at row level
(its start ``mustart`` varies by row), which takes three sums per domain and
category of functions of ``a = w / mean(w)``; every later step works on
column sums (:func:`sid.estimation.logit._irls_columns`).

Designs this path does not cover (replicate weights, calibration, deff,
quantiles, a cell key space larger than ~8n) go through the row-level
:class:`sid.variance.LinearForm` path; both give the same numbers (the R
goldens run through both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sid.design import Design
from sid.estimation.codes import chunks, int_coder
from sid.estimation.domains import (
    _check_columns,
    _Domains,
    _numeric,
    factor_codes,
    label,
)
from sid.estimation.forms import _Core
from sid.estimation.logit import LogitFit, LogitRows, cells_logit_fit
from sid.variance_cells import (
    Cells,
    SparseCells,
    SparseStage,
    group_starts,
    group_sum,
    psu_strata,
    sparse_stage,
    ssu_psus,
    taylor_cell_var,
    taylor_cell_vcov,
    taylor_sparse_var,
)

FAST_STATS = ("mean", "total", "proportion", "ratio")
ADD_AT_MAX = 1 << 18  # table entries (2 MB) up to which np.add.at beats np.bincount


@dataclass(frozen=True)
class _Layout:
    """The cell (unit x domain) of each row, computed per chunk, and the unit and
    domain of each cell."""

    units: np.ndarray  # per row: the unit code
    n_units: int
    lut: np.ndarray | None  # compressed layouts: cell index of each domain * n_units + unit
    per_row: bool  # each row its own unit: cell = row
    unit: np.ndarray | None  # per cell (None: every domain x unit, not built)
    dom: np.ndarray | None  # per cell
    space: int  # number of cell indices

    def cell(self, rows: slice, dom: np.ndarray) -> np.ndarray:
        """Cells of ``rows`` (``dom``: their domains; garbage where a row has none)."""
        if self.per_row:
            return np.arange(rows.start, rows.stop)
        key = dom * self.n_units
        key += self.units[rows]
        if self.lut is None:
            return key
        key[dom < 0] = 0
        return self.lut[key]

    def unit_dom(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The unit and domain of cells ``ids``."""
        if self.unit is None:
            return _divmod(ids, self.n_units)[::-1]
        assert self.dom is not None  # unit and dom per cell are built together
        return self.unit[ids], self.dom[ids]


def _divmod(a: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a // b, a % b)``; numpy divides by a scalar fast, ``%`` and ``np.divmod`` are
    several times slower."""
    q = a // b
    return q, a - q * b


def _layout(units: np.ndarray, n_units: int, dom: np.ndarray, d: int,
            dense_max: int | None = None, build: bool = True) -> _Layout | None:
    """Cells in (domain, unit) order: dense (every domain x unit) when at most
    ``dense_max`` (default max(n/4, 4096)), else only the pairs present; without units
    (each row its own) a cell per row. ``build=False``: a dense layout's unit and
    domain per cell are left to :meth:`_Layout.unit_dom`.

    A cell holding no row of its domain has score 0, as an absent unit would, so
    rows outside every domain may sit in a cell of their own (it adds nothing).
    The (domain, unit) order makes every per-domain and per-(domain, stratum) sum
    a sum over contiguous cells (:func:`sid.variance.group_sum`).
    """
    n = len(dom)
    if n_units == n:  # each row its own unit (no PSUs): a cell per row
        return _Layout(units, n_units, None, True, units, np.maximum(dom, 0), n)
    space = n_units * d
    if space <= (max(n // 4, 4096) if dense_max is None else dense_max):
        if not build:
            return _Layout(units, n_units, None, False, None, None, space)
        cell_ids = np.arange(space)
        return _Layout(units, n_units, None, False, cell_ids % n_units, cell_ids // n_units,
                       space)
    if space > 8 * n + 65536:
        return None
    seen = np.zeros(space, dtype=bool)
    for rows in chunks(n):
        dm = dom[rows]
        key = dm * n_units
        key += units[rows]
        seen[key[dm >= 0]] = True
    lut = np.cumsum(seen) - 1
    keys = np.flatnonzero(seen)
    return _Layout(units, n_units, lut, False, keys % n_units, keys // n_units, len(keys))


def _by_dom(values: np.ndarray, dom: np.ndarray, d: int) -> np.ndarray:
    """Sum cell rows (P x m) per domain: d x m."""
    return group_sum(values, dom, d)


def _row_sum(x: np.ndarray) -> np.ndarray:
    """Per row of a cells x categories table, the sum of its columns, left to right
    (not a BLAS product: its threads wait for cores on a busy machine)."""
    out = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        out += x[:, j]
    return out


def _shares_scores(s: _Sums, cell_dom: np.ndarray, centre: np.ndarray, scale: np.ndarray,
                   flip: np.ndarray, units: int | None = None) -> np.ndarray:
    """Per cell and column ``(sum w y - centre sum w) * scale``; in a column whose
    centre is above 0.5 (at most one per domain) the same from the other categories'
    side, ``-(sum w (1 - y) - (1 - centre) sum w)``, so that nothing cancels and a
    category holding every row gives exactly 0. ``units``: the cells are every
    (domain, unit) in order, ``units`` per domain (a block per domain, no gather)."""
    assert s.num is not None  # dense cells (only sparse cells leave num None)
    if units is not None:
        return _block_scores(s.num, s.den, centre, scale, flip, units)
    out = s.num - centre[cell_dom] * s.den[:, None]
    dd, jj = np.nonzero(flip)
    if len(dd):
        fcol = np.full(len(flip), -1)
        fcol[dd] = jj
        fc = fcol[cell_dom]
        sel = np.flatnonzero(fc >= 0)
        j = fc[sel]
        nums = s.num[sel]
        nums[np.arange(len(sel)), j] = 0.0
        other = nums.sum(axis=1)
        out[sel, j] = -(other - (1 - centre[cell_dom[sel], j]) * s.den[sel])
    out *= scale[cell_dom]
    return out


def _block_scores(num: np.ndarray, den: np.ndarray, centre: np.ndarray, scale: np.ndarray,
                  flip: np.ndarray, units: int) -> np.ndarray:
    """:func:`_shares_scores` on a d x units x m block of cells."""
    d, m = centre.shape
    num3 = num.reshape(d, units, m)
    den2 = den.reshape(d, units)
    out = num3 - centre[:, None, :] * den2[:, :, None]
    dd, jj = np.nonzero(flip)
    if len(dd):
        nums = num3[dd]  # a copy: the flipped domains' cells
        nums[np.arange(len(dd)), :, jj] = 0.0
        other = _row_sum(nums.reshape(-1, m)).reshape(len(dd), units)
        out[dd, :, jj] = -(other - (1 - centre[dd, jj])[:, None] * den2[dd])
    out *= scale[:, None, :]
    return out.reshape(d * units, m)


@dataclass(frozen=True)
class _Sums:
    """Per cell: weighted sums per column and of the denominator, row counts."""

    num: np.ndarray | None  # P x m: sum w num (sparse cells: None)
    den: np.ndarray  # P: sum w den (ratio: sum w x; total: sum w)
    weight: np.ndarray  # P: sum w over valid rows
    rows: np.ndarray  # P: valid rows (any weight)
    positive: np.ndarray  # P: valid rows with w > 0
    missing: np.ndarray  # P: rows with a missing value and w > 0


def _row_keys(layout: _Layout, dom: np.ndarray, sub: Callable[[slice], np.ndarray], bins: int,
              size: int, rows: slice, outside: bool = True) -> np.ndarray:
    """Per row of a chunk: cell * bins + category (or the missing bin); rows in no
    domain go to the last bin (``size - 1``), which is dropped."""
    dm = dom[rows]
    key = layout.cell(rows, dm)
    key *= bins
    key += sub(rows)
    if outside:
        key[dm < 0] = size - 1
    return key


def _sums(design: Design, layout: _Layout, dom: np.ndarray, stat: str,
          sub: Callable[[slice], np.ndarray], bins: int, y: np.ndarray | None,
          x: np.ndarray | None, count_rows: bool = True) -> _Sums:
    """One pass over the rows, in chunks: bincounts over the (cell, category) key.

    ``count_rows=False`` (every row in a domain, no weight 0, no missing value: the
    counts per domain are known) skips the row counts; ``rows`` and ``positive`` then
    only say whether a cell has rows (1.0) or not (0.0).
    """
    w = design.w
    p_cells = layout.space
    size = p_cells * bins + 1
    ratio = stat == "ratio"
    share = stat == "proportion"
    has_zero = bool(w.min() == 0)
    wsum = np.zeros(size)
    count = np.zeros(size)
    ysum = None if share else np.zeros(size)
    xsum = np.zeros(size) if ratio else None
    pos = np.zeros(size) if has_zero else count
    outside = bool(dom.min() < 0)  # rows in no domain
    # a table that stays in cache takes np.add.at (no table allocated and added per
    # chunk); a larger one a bincount per chunk of at least 4 x its size (faster there)
    in_cache = size <= ADD_AT_MAX

    def add(total: np.ndarray, key: np.ndarray, values: np.ndarray | None) -> None:
        if in_cache:
            np.add.at(total, key, 1.0 if values is None else values)
        else:
            total += np.bincount(key, weights=values, minlength=size)

    with np.errstate(invalid="ignore"):
        for rows in chunks(len(w), 0 if in_cache else size):
            key = _row_keys(layout, dom, sub, bins, size, rows, outside)
            wr = w[rows]
            add(wsum, key, wr)
            if count_rows:
                add(count, key, None)
            if ysum is not None:  # not a share
                assert y is not None  # means, totals and ratios have an analysis variable
                add(ysum, key, wr * y[rows])  # NaN: missing bin
            if xsum is not None:  # a ratio
                assert x is not None  # a ratio has a denominator
                add(xsum, key, wr * x[rows])
            if has_zero:
                key[wr == 0] = size - 1
                add(pos, key, None)

    def cells(v: np.ndarray) -> np.ndarray:
        return v[:-1].reshape(p_cells, bins)

    if not count_rows:  # every weight > 0: a cell has rows where it has weight
        count = pos = (wsum > 0).astype(float)
    wsum, count, pos = cells(wsum), cells(count), cells(pos)
    if share:
        num = wsum[:, :-1]
        den = weight = _row_sum(num)
    else:
        assert ysum is not None  # built for every statistic but proportion
        weight = wsum[:, 0]
        num = cells(ysum)[:, :1]
        den = cells(xsum)[:, 0] if xsum is not None else weight
    return _Sums(num, den, weight, _row_sum(count[:, :-1]), _row_sum(pos[:, :-1]),
                 pos[:, -1].copy())


def _add(total: np.ndarray | None, part: np.ndarray) -> np.ndarray:
    """``total + part`` in place; the first part is taken as it is (a table as large as
    the data is not allocated, zeroed and added twice)."""
    if total is None:
        return part
    total += part
    return total


def _sparse_sums(design: Design, layout: _Layout, dom: np.ndarray,
                 sub: Callable[[slice], np.ndarray], c: int, bins: int, d: int,
                 count_rows: bool) -> tuple[SparseCells, _Sums]:
    """:func:`_sums` for proportions keeping only the (cell, category) entries present.

    One pass of ``np.bincount`` over the key (cell index, category or missing); the
    entries present (``np.flatnonzero``, in key order) then name the cells present,
    whose unit and domain come from the key; nothing of size cells x categories is
    built. The per-cell totals (:class:`_Sums` with ``num`` None) come from the entries.
    ``bins`` is c + 1 (a bin for missing values) or c when no value is missing.
    """
    w = design.w
    size = layout.space * bins + 1
    has_zero = bool(w.min() == 0)
    wsum: np.ndarray | None = None
    count: np.ndarray | None = None
    pos: np.ndarray | None = None
    outside = bool(dom.min() < 0)
    for rows in chunks(len(w), size):
        key = _row_keys(layout, dom, sub, bins, size, rows, outside)
        wr = w[rows]
        wsum = _add(wsum, np.bincount(key, weights=wr, minlength=size))
        if count_rows:
            count = _add(count, np.bincount(key, minlength=size))
            if has_zero:
                key[wr == 0] = size - 1
                pos = _add(pos, np.bincount(key, minlength=size))
    del key, wr  # the chunk's temporaries (one chunk: as large as the data)
    assert wsum is not None  # n > 0 (there is a domain): chunks() gives at least one
    if pos is None:
        pos = count
    ent = np.flatnonzero((count if count is not None else wsum)[:-1] != 0)  # bool: fast path
    # the entries' values, then the tables (as large as the data) are let go
    val = wsum[ent]
    cnt = count[ent] if count is not None else None
    psv = pos[ent] if pos is not None else None
    del wsum, count, pos
    ck = ent // bins
    cat = ent  # reused: the category of each entry
    cat -= ck * bins
    first = np.empty(len(ent), dtype=bool)
    first[:1] = True
    np.not_equal(ck[1:], ck[:-1], out=first[1:])
    cell = np.cumsum(first)
    cell -= 1
    unit, cdom = layout.unit_dom(ck[first])
    del ck, first
    p_cells = len(unit)
    miss = cat == c if bins > c else None
    if miss is not None and not miss.any():
        miss = None
    ok = None if miss is None else ~miss
    if ok is not None:
        e_cell, e_j, e_num = cell[ok], cat[ok], val[ok]
    else:
        e_cell, e_j, e_num = cell, cat, val
    den = np.bincount(e_cell, weights=e_num, minlength=p_cells)
    if count_rows:
        assert cnt is not None and psv is not None  # counted when count_rows
        rows_c = np.bincount(e_cell, weights=cnt[ok] if ok is not None else cnt,
                             minlength=p_cells)
        pos_c = np.bincount(e_cell, weights=psv[ok] if ok is not None else psv,
                            minlength=p_cells)
        missing = (np.bincount(cell[miss], weights=psv[miss], minlength=p_cells)
                   if miss is not None else np.zeros(p_cells))
    else:  # every weight > 0: a cell has rows where it has weight
        rows_c = pos_c = (den > 0).astype(float)
        missing = np.zeros(p_cells)
    cells = SparseCells(unit, cdom, den, e_cell, e_j, e_num, d, c, rows_c > 0)
    return cells, _Sums(None, den, den, rows_c, pos_c, missing)


@dataclass(frozen=True)
class CellTables:
    """What the pass over the rows leaves: per-cell sums of every (domain, category)
    column, and how glm's first step reads the rows again (``logit_rows``)."""

    categories: tuple[str, ...]
    sums: _Sums
    cdom: np.ndarray  # per cell: its domain
    cunit: np.ndarray  # per cell: its PSU
    tn: np.ndarray  # d x m: weighted numerator totals
    td: np.ndarray  # d: weighted denominator totals
    sizes: np.ndarray | None  # rows per domain when no row is left out of a cell total
    logit_rows: LogitRows | None = None
    sums2: _Sums | None = None  # second stage (dense)
    layout2: _Layout | None = None
    sparse: tuple[SparseCells, SparseCells | None, SparseStage] | None = None
    yes: np.ndarray | None = None  # per column: rows (weight > 0) in the category
    units: int | None = None  # the cells are every (domain, unit) in order, units per domain


def cells_core(design: Design, stat: str, var: str, domains: _Domains, *, full_cov: bool,
               ci: str | None, sparse: bool | None = None) -> _Core | None:
    """:func:`sid.estimation.core._core` on cells, or None where this path does not apply.

    Proportions over thin cells (more (PSU, domain) pairs than n/8; ``sparse=True``
    forces it, for the tests) keep only the categories present in each cell
    (:func:`_sparse_sums`, :func:`sid.variance.taylor_sparse_var`), unless the full
    covariance is asked for.
    """
    if (design.is_replicate or design.calibration or stat not in FAST_STATS
            or domains.count == 0):
        return None
    tables = _tables(design, stat, var, domains, full_cov, ci, sparse)
    if tables is None:
        return None
    return cells_finish(design, stat, var, domains, tables, full_cov=full_cov, ci=ci)


def _tables(design: Design, stat: str, var: str, domains: _Domains, full_cov: bool,
            ci: str | None, sparse: bool | None) -> CellTables | None:
    """Code the analysis variable, then one pass over the rows into cell sums."""
    d = domains.count
    dom = domains.code
    n = design.n
    y: np.ndarray | None = None
    x: np.ndarray | None = None
    coder = None
    coder_codes: Callable[[slice], np.ndarray]
    if stat == "proportion":
        _check_columns(design, [var], "analysis")
        coder = int_coder(design.data[var], keep=True)
        if coder is None:
            ycode, cats = factor_codes(design.data[var])
            coder_codes = ycode.__getitem__
        else:
            cats = coder.levels
            coder_codes = coder.codes
        c = len(cats)
        if c == 0:
            return None  # the row-level path raises the error

        def sub(rows: slice) -> np.ndarray:
            if coder is not None:
                return coder.codes(rows, missing=c)
            code = coder_codes(rows)
            return np.where(code < 0, c, code)

        categories = tuple(label(v) for v in cats)
        bins, m = c + 1, c
    else:
        if stat == "ratio":
            if "/" not in var:
                return None
            num_name, den_name = (s.strip() for s in var.split("/", 1))
            y = _numeric(design, num_name, "numerator")
            x = _numeric(design, den_name, "denominator")
        else:
            y = _numeric(design, var)

        assert y is not None  # set just above

        def sub(rows: slice) -> np.ndarray:
            assert y is not None  # set above, never reset
            miss = np.isnan(y[rows]) if x is None else np.isnan(y[rows]) | np.isnan(x[rows])
            return miss.astype(np.int64)

        categories = ("",)
        bins, m = 2, 1
    n_cl = int(design.n_psu.sum())
    if sparse is None:
        sparse = n_cl * d > max(n // 8, 4096)  # measured: never slower, faster from ~n/5
    sparse = sparse and stat == "proportion" and not full_cov
    if sparse and coder is not None and not coder.has_nan:
        bins = c  # no missing value: no bin for them
    dense_max = (4 * n + 65536) // bins if sparse else None
    layout = _layout(design.cluster, n_cl, dom, d, dense_max, build=not sparse)
    if layout is None:
        return None
    # the row counts per domain are the domain sizes when no row is left out of a cell
    # total (no missing value, no weight 0, every row in a domain)
    sizes = domains.sizes
    if sizes is not None and design.w.min() > 0:
        if stat == "proportion":
            complete = coder is not None and not coder.has_nan
        else:
            assert y is not None  # every statistic but proportion has one
            complete = not np.isnan(np.add.reduce(y) + (0.0 if x is None else np.add.reduce(x)))
        if not complete:
            sizes = None
    else:
        sizes = None
    st = design.stage2
    layout2 = None
    if st is not None:
        layout2 = _layout(st.unit, len(ssu_psus(design)), dom, d, dense_max, build=not sparse)
        if layout2 is None:
            return None
    logit_rows = None
    if stat == "proportion" and ci == "logit":
        size = d * bins + 1

        def logit_keys(rows: slice) -> np.ndarray:
            dm = dom[rows]
            key = dm * bins
            key += sub(rows)
            key[dm < 0] = size - 1  # rows in no domain: dropped
            return key

        logit_rows = LogitRows(logit_keys, d, bins, np.arange(d),
                               np.where(np.arange(bins) < m, np.arange(bins), -1))
    if sparse:
        scells, sums = _sparse_sums(design, layout, dom, sub, c, bins, d, sizes is None)
        scells2 = None if layout2 is None else _sparse_sums(design, layout2, dom, sub, c, bins,
                                                            d, True)[0]
        stage1 = sparse_stage(scells, psu_strata(design), design.n_strata)
        return CellTables(categories, sums, scells.dom, scells.unit,
                          stage1.n_sum.sum(axis=1), stage1.d_all[:, :, 0].sum(axis=1), sizes,
                          logit_rows, sparse=(scells, scells2, stage1))
    sums = _sums(design, layout, dom, stat, sub, bins, y, x, count_rows=sizes is None)
    sums2 = None if layout2 is None else _sums(design, layout2, dom, stat, sub, bins, y, x)
    assert layout.dom is not None and layout.unit is not None  # built (not sparse)
    assert sums.num is not None  # dense sums keep num
    return CellTables(categories, sums, layout.dom, layout.unit, _by_dom(sums.num, layout.dom, d),
                      _by_dom(sums.den[:, None], layout.dom, d)[:, 0], sizes, logit_rows,
                      sums2, layout2,
                      units=layout.n_units if layout.lut is None and not layout.per_row else None)


def cells_finish(design: Design, stat: str, var: str, domains: _Domains, tables: CellTables,
                 *, full_cov: bool, ci: str | None) -> _Core | None:
    """Estimates, variances, df and counts from the cell sums (None: the row-level path)."""
    d = domains.count
    sums, cdom, cunit, tn, td = tables.sums, tables.cdom, tables.cunit, tables.tn, tables.td
    m = tn.shape[1]
    sizes = tables.sizes
    sparse = tables.sparse is not None
    n_dom: np.ndarray
    nrow_dom: np.ndarray
    nmiss_dom: np.ndarray
    if sizes is None:
        n_dom = np.bincount(cdom, weights=sums.positive, minlength=d)
        nmiss_dom = np.bincount(cdom, weights=sums.missing, minlength=d)
        nrow_dom = np.bincount(cdom, weights=sums.rows, minlength=d)
    else:
        n_dom = nrow_dom = sizes.astype(float)
        nmiss_dom = np.zeros(d)
    nw_dom = (td.copy() if sums.weight is sums.den and tables.sparse is None  # same sums
              else np.bincount(cdom, weights=sums.weight, minlength=d))
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = tn if stat == "total" else tn / td[:, None]
    flip = (theta > 0.5) if stat == "proportion" else np.zeros_like(theta, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_td = np.broadcast_to(np.where(td > 0, 1 / td, 0.0)[:, None], (d, m))
    centre = np.nan_to_num(theta)
    fit = None
    if tables.logit_rows is not None:
        fit = cells_logit_fit(design.w, tables.logit_rows, tn, td, nrow_dom, flip)
        if fit is None:
            return None  # a column stopped after glm's first step: row-level path
    logit = None
    cov = None
    if tables.sparse is not None:
        scells, scells2, stage1 = tables.sparse
        pairs = [(centre, inv_td)] + ([] if fit is None else [fit[1:]])
        vs = taylor_sparse_var(design, scells, scells2, pairs, stage1, flip)
        var_ = vs[0]
        if fit is not None:
            logit = LogitFit(fit[0].coef, vs[1], fit[0].iterations, fit[0].converged)
    else:
        sums2, layout2 = tables.sums2, tables.layout2

        def scores(s: _Sums, cell_dom: np.ndarray, centre: np.ndarray, scale: np.ndarray,
                   units: int | None = None) -> np.ndarray:
            if stat == "total":
                assert s.num is not None  # dense cells
                return s.num.copy()
            return _shares_scores(s, cell_dom, centre, scale, flip, units)

        def cells_for(centre: np.ndarray, scale: np.ndarray) -> tuple[Cells, Cells | None]:
            c1 = Cells(cunit, cdom, scores(sums, cdom, centre, scale, tables.units), d,
                       sums.rows > 0, regular=tables.units is not None)
            if sums2 is None:
                return c1, None
            # a second stage's layout is built whenever its sums are (not sparse)
            assert layout2 is not None and layout2.unit is not None and layout2.dom is not None
            c2 = Cells(layout2.unit, layout2.dom, scores(sums2, layout2.dom, centre, scale), d)
            return c1, c2

        cells, cells2 = cells_for(centre, inv_td)
        if full_cov:
            cov = taylor_cell_vcov(design, cells, cells2)
            var_ = np.diag(cov).copy()
        else:
            var_ = taylor_cell_var(design, cells, cells2)
        if fit is not None:
            lv = taylor_cell_var(design, *cells_for(*fit[1:]))
            logit = LogitFit(fit[0].coef, lv, fit[0].iterations, fit[0].converged)
    # df: PSUs with a valid member of weight > 0, minus their strata
    df_dom = _cells_df(design, tables, d, count_all=sizes is not None and sparse)
    dom_of = np.repeat(np.arange(d), m)
    est = theta.ravel()
    empty = n_dom[dom_of] == 0
    est = np.where(empty, np.nan, est)
    return _Core(domains, var, stat, tables.categories, dom_of, est, cov, df_dom[dom_of],
                 nrow_dom[dom_of], n_dom[dom_of], nw_dom[dom_of], nmiss_dom[dom_of],
                 np.full(d * m, np.nan), logit=logit, var=var_, yes=tables.yes)


def _cells_df(design: Design, tables: CellTables, d: int, count_all: bool) -> np.ndarray:
    """Per domain R's df: PSUs with a valid member of weight > 0, minus their strata.
    ``count_all``: every cell has such a member (sparse cells with known sizes)."""
    sums, cdom = tables.sums, tables.cdom
    n_h = design.n_strata
    if tables.units is not None:  # a d x units block, units in stratum order
        pos = (sums.positive > 0).reshape(d, tables.units)
        strata = np.logical_or.reduceat(pos, group_starts(design.n_psu), axis=1).sum(axis=1)
        return (pos.sum(axis=1) - strata).astype(float)
    skey = psu_strata(design)[tables.cunit] * d
    skey += cdom
    if not count_all:
        pos_cell = sums.positive > 0
        skey = skey[pos_cell]
        psus = np.bincount(cdom[pos_cell], minlength=d)
    else:
        psus = np.bincount(cdom, minlength=d)
    strata = (np.bincount(skey, minlength=n_h * d) > 0).reshape(n_h, d).sum(axis=0)
    return (psus - strata).astype(float)
