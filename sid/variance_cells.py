"""The variance engine's fast path: Taylor variances from sums per (PSU, domain, category).

For Taylor designs without calibration, an estimator's linearised scores summed per
PSU only depend on weighted sums per (PSU, domain, category) cell, so
:mod:`sid.estimation.cells` hands these sums (dense :class:`Cells`, or
:class:`SparseCells` holding only the cells present) to this module instead of n-row
scores. The stratum-centred sums, fpc, second stage and lonely-PSU rules are those of
:mod:`sid.variance` (``stage_scale``, ``stratified_crossprod``, ``taylor_totals``), so
both paths give the same numbers (``tests/test_cells.py``). Split from
:mod:`sid.variance` to keep each module to one job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import numpy as np

from sid.design import Design
from sid.errors import EstimationError
from sid.variance import stage_scale, taylor_totals

# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cells:
    """Score totals already summed over rows: one cell per (unit, domain) present.

    Columns are (domain, j) pairs, ``k = d * m``, column ``dom * m + j``. ``scores[p, j]``
    is column ``(dom[p], j)``'s score total over unit ``unit[p]`` (a PSU, or an SSU in the
    second stage); a unit without a cell has total 0. ``present`` (per cell; None: all)
    marks cells with a member of the domain (R's lonely-PSU ``average`` rule counts them).
    """

    unit: np.ndarray
    dom: np.ndarray
    scores: np.ndarray
    d: int
    present: np.ndarray | None = None
    regular: bool = False  # every (domain, unit) in that order: unit = p % units, dom = p // units

    @property
    def m(self) -> int:
        return self.scores.shape[1]

    @property
    def k(self) -> int:
        return self.d * self.m

    def dense(self, n_units: int) -> np.ndarray:
        """The n_units x k matrix of unit totals (zero where a unit has no cell)."""
        m = self.scores.shape[1]
        out = np.zeros((n_units, self.k))
        out[self.unit[:, None], self.dom[:, None] * m + np.arange(m)] = self.scores
        return out


def _presence(cells: Cells | SparseCells, group_of_unit: np.ndarray, n_groups: int
              ) -> np.ndarray:
    """Boolean n_groups x k: does column j have a member row in group g."""
    keep = np.ones(len(cells.unit), bool) if cells.present is None else cells.present
    key = group_of_unit[cells.unit[keep]] * cells.d + cells.dom[keep]
    pres = np.bincount(key, minlength=n_groups * cells.d).reshape(n_groups, cells.d) > 0
    return np.repeat(pres, cells.m, axis=1)


def psu_strata(design: Design) -> np.ndarray:
    """The stratum of each PSU code, without a pass over the rows: the Design numbers
    PSUs in (stratum, psu) order (``sid.design._pair_codes``), ``n_psu`` per stratum."""
    return np.repeat(np.arange(len(design.n_psu)), design.n_psu.astype(np.int64))


def group_starts(n_units: np.ndarray) -> np.ndarray:
    """The first unit of each group, units numbered in group order (``n_units`` per group,
    every group with one): the offsets ``np.add.reduceat`` takes."""
    return np.concatenate([[0], np.cumsum(n_units.astype(np.int64))[:-1]])


def ssu_psus(design: Design) -> np.ndarray:
    """The PSU of each SSU code (numbered in (PSU, ssu) order, as :func:`psu_strata`)."""
    st = design.stage2
    return np.repeat(np.arange(len(st.n_units)), st.n_units.astype(np.int64))


def group_sum(values: np.ndarray, key: np.ndarray, n_keys: int) -> np.ndarray:
    """Sum the rows of ``values`` (P or P x m) per ``key`` (0..n_keys-1): one
    ``np.add.reduceat`` when the keys come sorted (cells in (domain, unit) order), else
    a ``np.bincount``."""
    two = values.ndim == 2
    m = values.shape[1] if two else 1
    if len(key) and (len(key) == 1 or bool(np.all(key[1:] >= key[:-1]))):
        starts = np.flatnonzero(key[1:] != key[:-1]) + 1  # bool: nonzero's fast path
        starts = np.concatenate([[0], starts])
        out = np.zeros((n_keys, m) if two else n_keys)
        out[key[starts]] = np.add.reduceat(values, starts, axis=0)
        return out
    if not two:
        return np.bincount(key, weights=values, minlength=n_keys)
    flat = (key[:, None] * m + np.arange(m)).ravel()
    return np.bincount(flat, weights=values.ravel(), minlength=n_keys * m).reshape(n_keys, m)


def _cells_stage_var(cells: Cells, group_of_unit: np.ndarray, n_units: np.ndarray,
                     f: np.ndarray, mult: np.ndarray, singleton: str
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The diagonal of :func:`stratified_crossprod` from cells, in O(cells x m).

    Units of a group without a cell for a domain have total 0: they add
    ``scale * mean^2`` each, so no units x k matrix is built. Sums are per
    (domain, group) key, contiguous when the cells come in (domain, unit) order.
    """
    d = cells.d
    m = cells.scores.shape[1]
    n_groups = len(n_units)
    scale, lonely = stage_scale(n_units, f, mult, singleton)
    if cells.regular and n_units.all():
        return _regular_stage_var(cells, n_units, scale, lonely, singleton), lonely
    g = group_of_unit[cells.unit]
    dk = cells.dom * n_groups + g
    n_keys = d * n_groups
    ssum = group_sum(cells.scores, dk, n_keys)
    n_key = np.tile(n_units, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = ssum / n_key[:, None]
    if singleton == "adjust":
        means[np.tile(lonely, d)] = 0.0  # R: a lonely stratum's total is not centred
    means = np.where(n_key[:, None] > 0, means, 0.0)
    centred = cells.scores - means[dk]
    centred *= centred
    centred *= scale[g][:, None]
    v = group_sum(centred, cells.dom, d).ravel()
    absent = n_key - group_sum(np.ones(len(dk)), dk, n_keys)
    if absent.any():
        extra = (np.tile(scale, d) * absent)[:, None] * means**2
        v = v + extra.reshape(d, n_groups, m).sum(axis=1).ravel()
    return v, lonely


def _regular_stage_var(cells: Cells, n_units: np.ndarray, scale: np.ndarray,
                       lonely: np.ndarray, singleton: str) -> np.ndarray:
    """:func:`_cells_stage_var` when the cells are every (domain, unit) in order and the
    units come grouped (units numbered in group order, every group with a unit): the
    scores are a d x units x m block, so group sums are one ``np.add.reduceat`` and no
    per-cell index is gathered."""
    d, m = cells.d, cells.scores.shape[1]
    per_group = n_units.astype(np.int64)
    scores = cells.scores.reshape(d, int(per_group.sum()), m)
    means = np.add.reduceat(scores, group_starts(per_group), axis=1)
    means /= n_units[None, :, None]
    if singleton == "adjust":
        means[:, lonely] = 0.0  # R: a lonely stratum's total is not centred
    centred = scores - np.repeat(means, per_group, axis=1)
    centred *= centred
    # sum over units with the stratum's scale: einsum's loop, not a strided sum (3x
    # slower here) nor BLAS (whose threads wait for cores on a busy machine)
    return np.einsum("dum,u->dm", centred, np.repeat(scale, per_group)).ravel()


# dense or sparse cells: a stage variance takes the same kind as the cells it is given
_C = TypeVar("_C", "Cells", "SparseCells")
_StageVar: TypeAlias = Callable[[_C, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray],
                                tuple[list[np.ndarray], np.ndarray]]


def _cell_stages(design: Design, cells: _C, cells2: _C | None,
                 stage_var: _StageVar[_C], where: str) -> list[np.ndarray]:
    """svyrecvar's stages and lonely-PSU rules around a per-stage variance of cells
    ``stage_var(cells, group_of_unit, n_groups, n_units, f, mult)``."""
    if design.calibration:
        raise EstimationError("calibrated designs need row-level scores (taylor_vcov)",
                              where=where, fix="call vcov with a LinearForm")
    cl_stratum = psu_strata(design)
    n_cl = len(cl_stratum)
    vs, lonely = stage_var(cells, cl_stratum, design.n_strata, design.n_psu, design.f1,
                           np.ones(len(design.n_psu)))
    if design.singleton == "average" and lonely.any():
        pres = _presence(cells, cl_stratum, design.n_strata)
        nstrat = pres.sum(axis=0).astype(float)
        nok = (pres & ~lonely[:, None]).sum(axis=0).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            vs = [v * (nstrat / nok) for v in vs]
    st = design.stage2
    if st is not None:
        if cells2 is None:
            raise EstimationError("a two-stage design needs the SSU cells", where=where,
                                  fix="pass cells2")
        v2s, lonely2 = stage_var(cells2, ssu_psus(design), len(st.n_units), st.n_units, st.f,
                                 st.mult)
        vs = [v + v2 for v, v2 in zip(vs, v2s, strict=True)]
        if design.singleton == "average" and lonely2.any():
            bad = (_presence(cells, np.arange(n_cl), n_cl) & lonely2[:, None]).any(axis=0)
            vs = [np.where(bad, np.nan, v) for v in vs]
    return vs


def taylor_cell_var(design: Design, cells: Cells, cells2: Cells | None = None) -> np.ndarray:
    """Taylor variances (the diagonal of :func:`taylor_vcov`) of k columns from cells.

    ``cells`` hold PSU totals; ``cells2`` the SSU totals when the design has a
    second stage. For the SEs alone nothing of size units x k or k x k is built.
    Calibrated designs need row-level scores: use :func:`taylor_vcov`.
    """
    def stage(c: Cells, group: np.ndarray, n_groups: int, n_units: np.ndarray, f: np.ndarray,
              mult: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        v, lonely = _cells_stage_var(c, group, n_units, f, mult, design.singleton)
        return [v], lonely

    return _cell_stages(design, cells, cells2, stage, "taylor_cell_var")[0]


@dataclass(frozen=True)
class SparseCells:
    """Cells of proportions keeping only the categories present: the score total of column
    ``(dom[p], j)`` over unit ``unit[p]`` is ``scale[dom, j] (num[p, j] - centre[dom, j]
    den[p])`` with ``num`` kept per entry (``cell``, ``j``, ``num``), zero elsewhere; centre
    and scale are given to :func:`taylor_sparse_var`. ``present`` as :class:`Cells`."""

    unit: np.ndarray  # per cell
    dom: np.ndarray  # per cell
    den: np.ndarray  # per cell
    cell: np.ndarray  # per entry
    j: np.ndarray  # per entry
    num: np.ndarray  # per entry
    d: int
    m: int
    present: np.ndarray | None = None


@dataclass(frozen=True)
class SparseStage:
    """Sums of sparse cells per (domain, group, j) for one stage (groups: strata, or the PSUs
    of SSUs), shared by every (centre, scale) and by the estimates."""

    key: np.ndarray  # per entry: (domain * groups + group) * m + j
    den_e: np.ndarray  # per entry: its cell's den
    d_all: np.ndarray  # d x G x 1: sum den over the cells
    n_sum: np.ndarray  # d x G x m: sum num
    a1: np.ndarray  # d x G x m: sum den over the cells without column j
    a2: np.ndarray  # d x G x m: sum den^2 over the cells without column j
    n_col: np.ndarray  # d x G x m: cells with column j


def sparse_stage(cells: SparseCells, group_of_unit: np.ndarray, n_groups: int) -> SparseStage:
    """:class:`SparseStage` of ``cells`` with units grouped by ``group_of_unit``."""
    d, m = cells.d, cells.m
    dk = cells.dom * n_groups
    dk += group_of_unit[cells.unit]  # per cell: (domain, group)
    nk = d * n_groups
    den = cells.den
    shape = (d, n_groups, 1)
    d_all = np.bincount(dk, weights=den, minlength=nk).reshape(shape)
    dd_all = np.bincount(dk, weights=den * den, minlength=nk).reshape(shape)
    den_e = den[cells.cell]
    key = dk[cells.cell]
    key *= m
    key += cells.j
    shape3 = (d, n_groups, m)

    def per_key(v: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(key, weights=v, minlength=nk * m).reshape(shape3)

    return SparseStage(key, den_e, d_all, per_key(cells.num), d_all - per_key(den_e),
                       dd_all - per_key(den_e * den_e), per_key().astype(float))


def _sparse_stage_var(cells: SparseCells, st: SparseStage, n_units: np.ndarray,
                      f: np.ndarray, mult: np.ndarray, singleton: str,
                      weights: list[tuple[np.ndarray, np.ndarray]], flip: np.ndarray | None
                      ) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`_cells_stage_var` for sparse cells in O(entries + cells), per (centre, scale).

    Entries are centred and squared one by one; a cell without column j (score ``-scale
    centre den``) adds ``(scale centre)^2 den^2 + 2 scale centre mean den + mean^2``, summed
    in closed form, and a unit without a cell ``mean^2``. Columns in ``flip`` (share > 0.5)
    score from the other categories' side, ``scale ((1 - centre) den - (den - num))``, as
    :class:`Cells` do: at glm's centre ``1 - 1e-11`` ``num - centre den`` keeps ~5 digits.
    """
    scale_g, lonely = stage_scale(n_units, f, mult, singleton)
    shape3 = st.n_sum.shape
    n_u = n_units[None, :, None]
    n_out = n_u - st.n_col  # units (with a cell or not) without column j
    fl = None
    if flip is not None and flip.any():
        fl = np.flatnonzero(np.broadcast_to(flip[:, None, :], shape3).ravel()[st.key])
        fl_key, fl_den = st.key[fl], st.den_e[fl]
        fl_other = fl_den - cells.num[fl]
        flip3 = flip[:, None, :]
        d_out = st.d_all - st.n_sum  # sum den - num: the other categories
    out = []
    for centre, scale in weights:
        th, sc = centre[:, None, :], scale[:, None, :]
        total = st.n_sum - th * st.d_all
        if fl is not None:
            total = np.where(flip3, (1 - th) * st.d_all - d_out, total)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n_u > 0, sc * total / n_u, 0.0)
        if singleton == "adjust":
            mean[:, lonely, :] = 0.0  # R: a lonely stratum's total is not centred
        ts = th * sc
        # per entry: scale num - (scale centre den + mean), gathered per (domain, group, j)
        z = np.broadcast_to(ts, shape3).ravel()[st.key]
        z *= st.den_e
        z += mean.ravel()[st.key]
        np.subtract(np.broadcast_to(sc, shape3).ravel()[st.key] * cells.num, z, out=z)
        if fl is not None:
            z[fl] = (np.broadcast_to(sc, shape3).ravel()[fl_key]
                     * ((1 - np.broadcast_to(th, shape3).ravel()[fl_key]) * fl_den - fl_other)
                     - mean.ravel()[fl_key])
        z *= z
        q = np.bincount(st.key, weights=z, minlength=mean.size).reshape(shape3)
        tot = q + ts * ts * st.a2 + 2 * ts * mean * st.a1 + n_out * mean * mean
        out.append((tot * scale_g[None, :, None]).sum(axis=1).ravel())
    return out, lonely


def taylor_sparse_var(design: Design, cells: SparseCells, cells2: SparseCells | None,
                      weights: list[tuple[np.ndarray, np.ndarray]],
                      stage1: SparseStage | None = None, flip: np.ndarray | None = None
                      ) -> list[np.ndarray]:
    """Taylor variances (as :func:`taylor_cell_var`) from sparse cells, a ``d * m`` array per
    (centre, scale) of ``weights``; ``stage1``: the cells' :func:`sparse_stage` by stratum
    if the caller has it; ``flip``: columns scored from the other categories' side."""
    def stage(c: SparseCells, group: np.ndarray, n_groups: int, n_units: np.ndarray,
              f: np.ndarray, mult: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        st = stage1 if c is cells and stage1 is not None else sparse_stage(c, group, n_groups)
        return _sparse_stage_var(c, st, n_units, f, mult, design.singleton, weights, flip)

    return _cell_stages(design, cells, cells2, stage, "taylor_sparse_var")


def taylor_cell_vcov(design: Design, cells: Cells, cells2: Cells | None = None) -> np.ndarray:
    """The full k x k Taylor covariance from cells (as :func:`taylor_vcov`)."""
    n_cl = len(psu_strata(design))
    totals2 = None
    if design.stage2 is not None:
        if cells2 is None:
            raise EstimationError("a two-stage design needs the SSU cells",
                                  where="taylor_cell_vcov", fix="pass cells2")
        totals2 = cells2.dense(len(ssu_psus(design)))
    pres = None
    if design.singleton == "average":
        cl_stratum = psu_strata(design)
        pres = (_presence(cells, cl_stratum, design.n_strata),
                _presence(cells, np.arange(n_cl), n_cl))
    return taylor_totals(design, cells.dense(n_cl), totals2, pres)


