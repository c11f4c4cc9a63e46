"""Design-based crosstabs with Rao-Scott tests of independence.

:func:`crosstab`: weighted counts and row/column/cell percentages of two
categorical variables with standard errors and confidence intervals, unweighted n
per cell, and the Rao-Scott tests of independence as R's
``svychisq(statistic="F")`` (second order) and ``statistic="Chisq"`` (first
order). Covariances come from the one variance engine (:mod:`sid.variance`).

Domains (``where``) are made by zero-weighting, never by deleting rows: the
design keeps its PSU structure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import EstimationError, show_values
from sid.formatting import format_number
from sid.tables.suppression import complementary_suppression

if TYPE_CHECKING:
    from sid.io import Wave
    from sid.variance import LinearForm

PERCENT_BASES = ("row", "col", "cell")
CROSSTAB_CI = ("logit", "wald", "t")

CROSSTAB_COLUMNS = (
    "row", "col", "row_label", "col_label", "n", "count", "count_se",
    "percent_base", "estimate", "se", "ci_low", "ci_high", "ci_method", "conf_level", "df",
)
"""Columns of :attr:`Crosstab.cells`, in this order. ``estimate``, ``se``,
``ci_low`` and ``ci_high`` are proportions (0-1) of the chosen ``percent_base``;
``count`` is the weighted count (estimated population total) and ``n`` the
unweighted number of respondents in the cell."""

TEST_COLUMNS = ("test", "statistic", "df_num", "df_den", "p_value", "method")


@dataclass(frozen=True)
class Crosstab:
    """A two-way table: tidy cells (:data:`CROSSTAB_COLUMNS`) and tests (:data:`TEST_COLUMNS`).

    ``design_effects`` are the eigenvalues of R's ``Delta`` matrix (generalised
    design effects), ``n_total`` is R's ``N`` (rows in the ``where`` domain).
    """

    row: str
    col: str
    where: str | None
    cells: pd.DataFrame
    tests: pd.DataFrame
    design_effects: tuple[float, ...]
    n_total: int

    def with_suppression(self, below: int) -> Crosstab:
        """The same crosstab with :meth:`suppressed` cells (``below`` <= 0: unchanged)."""
        if below <= 0:
            return self
        return replace(self, cells=self.suppressed(below))

    def suppressed(self, below: int = 30) -> pd.DataFrame:
        """``cells`` with a ``suppressed`` column: cells with unweighted n below ``below``
        plus complementary cells (:func:`complementary_suppression`), so no hidden cell
        follows from row or column totals; their numbers are blanked (NaN)."""
        rows = np.unique(self.cells["row"])
        cols = np.unique(self.cells["col"])
        n = self.cells.pivot(index="row", columns="col", values="n").reindex(
            index=rows, columns=cols).fillna(0).to_numpy()
        mask = complementary_suppression(n, (n > 0) & (n < below))
        flat = pd.DataFrame(mask, index=rows, columns=cols).stack()
        hide = flat.reindex(pd.MultiIndex.from_frame(self.cells[["row", "col"]])).to_numpy()
        out = self.cells.copy()
        for c in ("n", "count", "count_se", "estimate", "se", "ci_low", "ci_high"):
            out[c] = out[c].astype(float).where(~hide)
        out["suppressed"] = hide
        return out


def _domain_mask(design: Design, where: str | None) -> np.ndarray:
    """The ``where`` domain as :func:`sid.estimation.estimate` reads it (missing: outside)."""
    from sid.estimation import where_mask

    return where_mask(design, where if where is not None and str(where).strip() else None)


def _numeric(design: Design, name: str, role: str) -> np.ndarray:
    if name not in design.data.columns:
        raise EstimationError(f"{role} variable {name!r} is not in the data",
                              where=f"crosstab {role}",
                              fix="name a column of the data (harmonised name)")
    try:
        return pd.to_numeric(design.data[name], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise EstimationError(f"{role} variable {name!r} is not numeric",
                              where=f"crosstab {role}",
                              fix="cross numeric codes (value labels give the text)") from None


def _pearson_x2(table: np.ndarray) -> float:
    """Pearson's X^2 of a table of (scaled) counts, as R's ``chisq.test(correct=FALSE)``."""
    total = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / total
    return float(np.sum((table - expected) ** 2 / expected))


def _interaction_contrasts(nr: int, nc: int) -> np.ndarray:
    """R's ``Cmat``: interaction columns residualised on the main effects (rows fastest)."""
    rows = np.tile(np.arange(nr), nc)
    cols = np.repeat(np.arange(nc), nr)
    x1 = np.column_stack([np.ones(nr * nc)]
                         + [(rows == i).astype(float) for i in range(1, nr)]
                         + [(cols == j).astype(float) for j in range(1, nc)])
    inter = np.column_stack([((rows == i) & (cols == j)).astype(float)
                             for j in range(1, nc) for i in range(1, nr)])
    q, _ = np.linalg.qr(x1)
    return inter - q @ (q.T @ inter)


def rao_scott(p: np.ndarray, vcov_p: np.ndarray, nr: int, nc: int, n_total: int,
              nu: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Rao-Scott tests of independence from cell proportions and their covariance.

    ``p`` are the nr*nc cell proportions (rows vary fastest, as R's
    ``interaction(row, col)``), ``vcov_p`` their design covariance, ``n_total``
    R's ``N`` and ``nu`` the design degrees of freedom. Follows
    ``survey:::svychisq.survey.design``: ``Delta = (C'D^-1C/N)^-1 C'D^-1 V D^-1 C``;
    F = X^2 / tr(Delta) on (d0, d0*nu) df with d0 = tr(Delta)^2 / tr(Delta^2);
    first order: X^2 / mean(diag(Delta)) on (nr-1)(nc-1) df.
    Returns the tests frame and the eigenvalues of Delta (generalised design effects).
    """
    from scipy.special import chdtrc, fdtrc  # upper tails of F and chi-square (not scipy.stats)

    cmat = _interaction_contrasts(nr, nc)
    with np.errstate(divide="ignore"):
        inv = np.where(p == 0, 0.0, 1.0 / p)
    cd = cmat * inv[:, None]  # D^-1 C
    denom = cmat.T @ cd / n_total
    numr = cd.T @ vcov_p @ cd
    delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(delta))
    d0 = tr ** 2 / float(np.trace(delta @ delta))
    x2 = _pearson_x2(p.reshape(nc, nr).T * n_total)
    f_stat = x2 / tr
    dfc = delta.shape[1]
    chisq_scaled = x2 / (tr / dfc)
    tests = pd.DataFrame({
        "test": ["F", "Chisq"],
        "statistic": [f_stat, x2],
        "df_num": [d0, float(dfc)],
        "df_den": [d0 * nu, math.inf],
        "p_value": [float(fdtrc(d0, d0 * nu, f_stat)), float(chdtrc(dfc, chisq_scaled))],
        "method": ["Rao-Scott second-order F (R svychisq statistic='F')",
                   "Rao-Scott first-order chi-square (R svychisq statistic='Chisq')"],
    }, columns=list(TEST_COLUMNS))
    eig = np.sort(np.linalg.eigvals(delta).real)[::-1]
    return tests, eig


def _prop_ci(design: Design, form: LinearForm, domain_of: np.ndarray, p: np.ndarray, se: np.ndarray,
             df: np.ndarray, method: str, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """CI of the proportions of ``form``: ``logit`` is R's ``svyciprop(method="logit")``
    (:func:`sid.estimation.svyglm_logit`, the one implementation: glm's IRLS with its early
    stop, Wald on the logit scale with t on the domain df); ``t`` (p +/- t * se) or
    ``wald`` (p +/- z * se)."""
    from scipy.special import ndtri, stdtrit  # normal and t quantiles (not scipy.stats)

    if method == "logit":
        from sid.estimation import svyglm_logit
        from sid.variance import domain_presence

        fit = svyglm_logit(design, form, present=domain_presence(design, form),
                           domain_of=domain_of)
        return fit.interval(df, conf_level)
    alpha = 1.0 - conf_level
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (ndtri(1 - alpha / 2) if method == "wald"
             else stdtrit(np.asarray(df, dtype=float), 1 - alpha / 2))
        return p - q * se, p + q * se


def crosstab(
    design: Design,
    row: str,
    col: str,
    *,
    where: str | None = None,
    percent: str = "row",
    ci: str = "logit",
    conf_level: float = 0.95,
    labels: Mapping[str, Mapping[float, str]] | None = None,
) -> Crosstab:
    """Weighted crosstab of ``row`` by ``col`` with percentages, CIs and Rao-Scott tests.

    The table is estimated on the domain ``where`` (an :mod:`sid.expr`
    expression) and ``row``/``col`` not missing, by zero-weighting. ``percent``
    is the base of the percentages: ``row`` (each row sums to 100), ``col`` or
    ``cell`` (all cells sum to 100). ``ci``: ``logit`` (default, as R's
    ``svyciprop``), ``t`` or ``wald``; the df is that of the design restricted to
    the percentage's base (R's ``degf(subset(...))``). ``labels`` maps a
    variable to {code: label}. Tests match R's ``svychisq`` on
    ``subset(design, where)``.
    """
    from sid.variance import LinearForm, domain_presence, vcov

    if percent not in PERCENT_BASES:
        raise EstimationError(f"unknown percent base {percent!r}", where="crosstab percent",
                              fix=f"use one of {', '.join(PERCENT_BASES)}")
    if ci not in CROSSTAB_CI:
        raise EstimationError(f"unknown CI method {ci!r} for a crosstab", where="crosstab ci",
                              fix=f"use one of {', '.join(CROSSTAB_CI)}")
    if isinstance(conf_level, bool) or not isinstance(conf_level, (int, float)) \
            or not 0 < conf_level < 1:
        raise EstimationError("conf_level must be between 0 and 1", where="crosstab conf_level",
                              got=str(conf_level), fix="e.g. 0.95")
    if row == col:
        raise EstimationError("row and column are the same variable", where="crosstab",
                              got=repr(row), fix="cross two different variables")
    xr = _numeric(design, row, "row")
    xc = _numeric(design, col, "column")
    dom = _domain_mask(design, where)
    member = dom & ~np.isnan(xr) & ~np.isnan(xc)
    # categories are those of respondents with weight > 0: a code seen only on rows of
    # weight 0 would be an all-zero row or column (NaN percentages, a singular test)
    positive = member & (design.w > 0)
    rlev = np.unique(xr[positive])
    clev = np.unique(xc[positive])
    member &= np.isin(xr, rlev) & np.isin(xc, clev)
    idx = np.flatnonzero(member)
    nr, nc = len(rlev), len(clev)
    if nr < 2 or nc < 2:
        raise EstimationError(
            "a crosstab needs at least two categories in each variable among the respondents "
            "(weight > 0) of the domain",
            where=f"crosstab {row} x {col}" + (f" where {where}" if where else ""),
            got=f"{row}: {show_values(rlev.tolist()) or 'none'}; "
                f"{col}: {show_values(clev.tolist()) or 'none'}",
            fix="choose variables (or a base) with at least two observed categories each")
    ri = np.searchsorted(rlev, xr[idx])
    ci_ = np.searchsorted(clev, xc[idx])
    cell = ri + nr * ci_  # rows vary fastest (R's interaction order)
    k = nr * nc
    m = len(idx)
    w = design.w

    # cell proportions of the whole table (needed for the test)
    rows_all = np.repeat(idx, k)
    cols_all = np.tile(np.arange(k), m)
    num_all = (np.repeat(cell, k) == cols_all).astype(float)
    form_cell = LinearForm(rows=rows_all, cols=cols_all, num=num_all,
                           den=np.ones(m * k), k=k)
    p_cell = form_cell.estimate(w)
    # every column's domain is the table's domain (all member rows), also for the counts
    table_domain = domain_presence(design, form_cell)
    v_cell = vcov(design, form_cell, p_cell, present=table_domain)

    n_total = int(dom.sum())
    if design.is_replicate:
        nu = design.degf(dom)
    else:
        nu = float(len(np.unique(design.cluster[dom])) - len(np.unique(design.stratum[dom])))
    tests, eig = rao_scott(p_cell, v_cell, nr, nc, n_total, nu)

    # weighted counts
    form_tot = LinearForm(rows=idx, cols=cell, num=np.ones(m), den=None, k=k)
    tot = form_tot.estimate(w)
    # a cell's count is a total over the table's domain (R: svytotal(~cell, domain)), not
    # a domain of its own: with the lonely-PSU rule "average" the strata averaged over are
    # those with members in the table, as for the percentages
    tot_se = np.sqrt(np.diag(vcov(design, form_tot, tot, present=table_domain)))

    # percentages on the chosen base
    if percent == "cell":
        est, se = p_cell, np.sqrt(np.diag(v_cell))
        df = np.full(k, design.degf(member))
        form, group_of_cell = form_cell, np.zeros(k, dtype=np.int64)
    else:
        own, other, n_own = (ri, ci_, nc) if percent == "row" else (ci_, ri, nr)
        # each member row enters every cell of its own row (col) group
        rep_rows = np.repeat(idx, n_own)
        j_other = np.tile(np.arange(n_own), m)
        own_rep = np.repeat(own, n_own)
        cols = own_rep + nr * j_other if percent == "row" else j_other + nr * own_rep
        num = (np.repeat(other, n_own) == j_other).astype(float)
        form = LinearForm(rows=rep_rows, cols=cols, num=num, den=np.ones(len(cols)), k=k)
        est = form.estimate(w)
        se = np.sqrt(np.diag(vcov(design, form, est, present=domain_presence(design, form))))
        group_of_cell = (np.arange(k) % nr) if percent == "row" else (np.arange(k) // nr)
        group_of_row = ri if percent == "row" else ci_
        df_group = np.array([design.degf(_mask_rows(design.n, idx[group_of_row == g]))
                             for g in range(nr if percent == "row" else nc)])
        df = df_group[group_of_cell]
    lo, hi = _prop_ci(design, form, group_of_cell, est, se, df, ci, conf_level)

    n_unw = np.bincount(cell, minlength=k)
    lab_r = dict((labels or {}).get(row, {}))
    lab_c = dict((labels or {}).get(col, {}))
    rcode = np.tile(rlev, nc)
    ccode = np.repeat(clev, nr)
    cells = pd.DataFrame({
        "row": rcode, "col": ccode,
        "row_label": [lab_r.get(v, format_number(v)) for v in rcode],
        "col_label": [lab_c.get(v, format_number(v)) for v in ccode],
        "n": n_unw.astype(np.int64), "count": tot, "count_se": tot_se,
        "percent_base": percent, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
        "ci_method": ci, "conf_level": conf_level, "df": df.astype(float),
    }, columns=list(CROSSTAB_COLUMNS))
    cells = cells.sort_values(["row", "col"], kind="stable").reset_index(drop=True)
    return Crosstab(row=row, col=col, where=where, cells=cells, tests=tests,
                    design_effects=tuple(float(e) for e in eig), n_total=n_total)


def _mask_rows(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask



def wave_value_labels(wave: Wave, names: Sequence[str]) -> dict[str, dict[float, str]]:
    """{variable: {code: label}} from a wave's metadata (:class:`sid.io.Wave`), for
    :func:`crosstab`'s ``labels``; a variable without labels (or metadata) gets {}."""
    labels: dict[str, dict[float, str]] = {}
    for name in names:
        try:
            labels[name] = dict(wave.meta.variable(name).value_labels)
        except (KeyError, AttributeError):
            labels[name] = {}
    return labels
