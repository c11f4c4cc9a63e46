"""Crosstabs with Rao-Scott tests, table specs, and the tables of a table book.

* :func:`crosstab`: weighted counts and row/column/cell percentages of two
  categorical variables with standard errors and confidence intervals,
  unweighted n per cell, and the Rao-Scott tests of independence as R's
  ``svychisq(statistic="F")`` (second order) and ``statistic="Chisq"`` (first
  order). Covariances come from the one variance engine (:mod:`sid.variance`).
* Table specs (YAML, see ``docs/tables.md``), validated with pydantic; every
  problem is reported at once with its file and YAML path.
* :func:`build_tables`: computes every table of a spec with
  :func:`sid.estimate.estimate` / :func:`sid.estimate.compare` and applies the
  suppression rule; the result is a tuple of immutable :class:`TableResult`.

Domains (the table base, ``where``) are made by zero-weighting, never by
deleting rows: the design keeps its PSU structure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import EstimationError, show_values

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

TABLE_COLUMNS = (
    "section", "section_label", "panel", "panel_label", "kind", "group", "group_label",
    "is_reference", "estimate", "se", "ci_low", "ci_high", "ci_method", "conf_level", "df",
    "n", "n_weighted", "p_value", "significant", "suppressed", "flagged",
)
"""Columns of :attr:`TableResult.frame`, in this order.

One row per (section, panel, group). ``section`` is a row block (an item of a
multiple-response set, a category), ``panel`` a column block (a wave, or
``diff`` for the change between waves), ``kind`` is ``estimate`` or
``difference``. ``estimate``/``ci_*`` are on the display scale (percentages
0-100 for proportions, the variable's scale for means). ``n`` is the unweighted
base; ``p_value``/``significant`` compare with the reference group (estimates)
or test the change (differences). ``suppressed`` (n below the rule) and
``flagged`` (n in the flag band) follow :class:`Suppression`."""


@dataclass(frozen=True)
class Suppression:
    """Suppress estimates on an unweighted base below ``below``; flag those below ``flag_below``."""

    below: int = 30
    flag_below: int = 50

    def apply(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (suppressed, flagged) for unweighted bases ``n``."""
        n = np.asarray(n, dtype=float)
        suppressed = ~(n >= self.below)
        flagged = ~suppressed & (n < self.flag_below)
        return suppressed, flagged


@dataclass(frozen=True)
class TableResult:
    """One computed table of a table book, ready for export (aggregates only).

    Texts are in the language the table was built in. ``unit`` is ``percent``
    or ``mean``; ``decimals`` the number of decimals to show; ``frame`` has
    :data:`TABLE_COLUMNS`; ``footnotes`` are shown under the table in order.
    ``group_title`` heads the group column (e.g. "Herkomst"),
    ``reference_label`` names the reference group of the significance markers.
    """

    id: str
    title: str
    frame: pd.DataFrame
    unit: str = "percent"
    decimals: int = 1
    group_title: str = "Herkomst"
    reference_label: str | None = None
    subtitle: str = ""
    footnotes: tuple[str, ...] = ()
    suppression: Suppression = Suppression()
    alpha: float = 0.05

    def __post_init__(self) -> None:
        missing = [c for c in TABLE_COLUMNS if c not in self.frame.columns]
        if missing:
            raise EstimationError(f"table {self.id!r} frame lacks columns",
                                  got=show_values(missing), fix="build it with build_tables")


def complementary_suppression(counts: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Cells to hide in a count table so no suppressed cell follows from the margins.

    ``counts`` is a 2-D table of unweighted counts with row and column totals
    published; ``primary`` marks the cells suppressed by the rule. Repeatedly,
    every row or column with exactly one hidden cell gets its smallest other
    (non-zero, visible) cell hidden too, until every row and column has zero
    or at least two hidden cells. Returns the full mask (primary included).
    """
    counts = np.asarray(counts, dtype=float)
    mask = np.asarray(primary, dtype=bool).copy()
    for _ in range(counts.size):
        changed = False
        for axis in (1, 0):
            hidden = mask.sum(axis=axis)
            lines = np.flatnonzero(hidden == 1)
            for i in lines:  # loops over table lines (a handful), not over rows of data
                line_mask = mask[i] if axis == 1 else mask[:, i]
                line_vals = counts[i] if axis == 1 else counts[:, i]
                cand = np.where(line_mask, np.inf, line_vals)
                if not np.isfinite(cand).any():
                    continue
                j = int(np.argmin(cand))
                if axis == 1:
                    mask[i, j] = True
                else:
                    mask[j, i] = True
                changed = True
        if not changed:
            break
    return mask


# --------------------------------------------------------------------------- crosstab


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
    """The ``where`` domain as :func:`sid.estimate.estimate` reads it (missing: outside)."""
    from sid.estimate import where_mask

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
    from scipy import stats

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
        "p_value": [float(stats.f.sf(f_stat, d0, d0 * nu)), float(stats.chi2.sf(chisq_scaled, dfc))],
        "method": ["Rao-Scott second-order F (R svychisq statistic='F')",
                   "Rao-Scott first-order chi-square (R svychisq statistic='Chisq')"],
    }, columns=list(TEST_COLUMNS))
    eig = np.sort(np.linalg.eigvals(delta).real)[::-1]
    return tests, eig


def _prop_ci(design: Design, form: Any, domain_of: np.ndarray, p: np.ndarray, se: np.ndarray,
             df: np.ndarray, method: str, conf_level: float) -> tuple[np.ndarray, np.ndarray]:
    """CI of the proportions of ``form``: ``logit`` is R's ``svyciprop(method="logit")``
    (:func:`sid.estimate.svyglm_logit`, the one implementation: glm's IRLS with its early
    stop, Wald on the logit scale with t on the domain df); ``t`` (p +/- t * se) or
    ``wald`` (p +/- z * se)."""
    from scipy import stats

    if method == "logit":
        from sid.estimate import svyglm_logit
        from sid.variance import domain_presence

        fit = svyglm_logit(design, form, present=domain_presence(design, form),
                           domain_of=domain_of)
        return fit.interval(df, conf_level)
    alpha = 1.0 - conf_level
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (stats.norm.ppf(1 - alpha / 2) if method == "wald"
             else stats.t.ppf(1 - alpha / 2, df))
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
    if not 0 < conf_level < 1:
        raise EstimationError("conf_level must be between 0 and 1", where="crosstab conf_level",
                              got=str(conf_level), fix="e.g. 0.95")
    if row == col:
        raise EstimationError("row and column are the same variable", where="crosstab",
                              got=repr(row), fix="cross two different variables")
    xr = _numeric(design, row, "row")
    xc = _numeric(design, col, "column")
    dom = _domain_mask(design, where)
    member = dom & ~np.isnan(xr) & ~np.isnan(xc)
    idx = np.flatnonzero(member)
    rlev = np.unique(xr[idx])
    clev = np.unique(xc[idx])
    nr, nc = len(rlev), len(clev)
    if nr < 2 or nc < 2:
        raise EstimationError(
            "a crosstab needs at least two categories in each variable within the domain",
            where=f"crosstab {row} x {col}" + (f" where {where}" if where else ""),
            got=f"{row}: {show_values(rlev.tolist())}; {col}: {show_values(clev.tolist())}",
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
    v_cell = vcov(design, form_cell, p_cell, present=domain_presence(design, form_cell))

    n_total = int(dom.sum())
    if design.is_replicate:
        nu = design.degf(dom)
    else:
        nu = float(len(np.unique(design.cluster[dom])) - len(np.unique(design.stratum[dom])))
    tests, eig = rao_scott(p_cell, v_cell, nr, nc, n_total, nu)

    # weighted counts
    form_tot = LinearForm(rows=idx, cols=cell, num=np.ones(m), den=None, k=k)
    tot = form_tot.estimate(w)
    tot_se = np.sqrt(np.diag(vcov(design, form_tot, tot,
                                  present=domain_presence(design, form_tot))))

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
        "row_label": [lab_r.get(v, _code_text(v)) for v in rcode],
        "col_label": [lab_c.get(v, _code_text(v)) for v in ccode],
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


def _code_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --------------------------------------------------------------------------- table specs


def _spec_models():
    """The pydantic models of a table spec (built lazily: pydantic is slow to import)."""
    global _MODELS
    if _MODELS is not None:
        return _MODELS
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, model_validator

    from sid.codebook import Text

    class _M(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

    class Indicator(_M):
        """What is counted: a variable with the codes that count, a mean, or an MR set."""

        variable: str | None = None
        mr_set: str | None = None
        stat: Literal["proportion", "mean"] = "proportion"
        codes: list[float] | None = None
        label: Text | None = None

        @model_validator(mode="after")
        def _one_source(self):
            if (self.variable is None) == (self.mr_set is None):
                raise ValueError("give exactly one of 'variable' or 'mr_set'")
            if self.stat == "mean" and (self.codes is not None or self.mr_set is not None):
                raise ValueError("a mean takes a 'variable' and no 'codes'")
            return self

    class Base(_M):
        """Who is in the denominator: a filter and which missing kinds stay in."""

        where: str | None = None
        label: Text | None = None
        keep_missing: list[Literal["WN", "GA", "WZ"]] = Field(default_factory=list)

    class CI(_M):
        method: Literal["logit", "xlogit", "asin", "beta", "t", "wald"] = "logit"
        level: float = Field(default=0.95, gt=0, lt=1)

    class Rule(_M):
        below: int = Field(default=30, ge=0)
        flag_below: int = Field(default=50, ge=0)

        @model_validator(mode="after")
        def _order(self):
            if self.flag_below < self.below:
                raise ValueError("flag_below must be >= below")
            return self

    class TableSpec(_M):
        id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
        title: Text
        indicator: Indicator
        base: Base = Field(default_factory=Base)
        by: list[str] = Field(default_factory=lambda: ["herkomst"], min_length=1)
        waves: list[str] = Field(min_length=1)
        compare_waves: bool = False
        ci: CI = Field(default_factory=CI)
        reference: float | None = 1
        alpha: float = Field(default=0.05, gt=0, lt=1)
        decimals: int = Field(default=1, ge=0, le=4)
        suppression: Rule = Field(default_factory=Rule)
        question: Text | None = None
        notes: list[Text] = Field(default_factory=list)

        @model_validator(mode="after")
        def _waves(self):
            if self.compare_waves and len(self.waves) != 2:
                raise ValueError("compare_waves needs exactly two waves")
            if len(set(self.waves)) != len(self.waves):
                raise ValueError("a wave is listed twice")
            return self

    class BookSpec(_M):
        title: Text
        source: Text | None = None
        defaults: dict[str, Any] = Field(default_factory=dict)
        tables: list[TableSpec] = Field(min_length=1)

    _MODELS = {"TableSpec": TableSpec, "BookSpec": BookSpec, "Indicator": Indicator}
    return _MODELS


_MODELS: dict[str, Any] | None = None
_DEFAULT_KEYS = ("by", "waves", "compare_waves", "ci", "reference", "alpha", "decimals",
                 "suppression", "base")


@dataclass(frozen=True)
class BookSpecFile:
    """A validated table-book spec and the file it came from."""

    spec: Any  # BookSpec (pydantic)
    path: str | None

    @property
    def tables(self) -> tuple[Any, ...]:
        return tuple(self.spec.tables)


def parse_spec(text: str, source: str | None = None) -> BookSpecFile:
    """Parse and validate a table-book spec (YAML text); every problem at once.

    ``defaults`` (any of by, waves, compare_waves, ci, reference, alpha,
    decimals, suppression, base) are merged into each table; a table's own keys win.
    """
    import yaml
    from pydantic import ValidationError

    from sid.errors import CodebookError

    where = source or "table spec"
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CodebookError(f"not valid YAML: {exc}".replace("\n", " "), where=where,
                            fix="check indentation and quotes") from None
    if not isinstance(raw, dict):
        raise CodebookError("a table spec must be a mapping with 'title' and 'tables'",
                            where=where, fix="see docs/tables.md")
    problems: list[str] = []
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append("defaults: must be a mapping")
        defaults = {}
    unknown = sorted(set(defaults) - set(_DEFAULT_KEYS))
    if unknown:
        problems.append(f"defaults: unknown key(s) {show_values(unknown)} "
                        f"(allowed: {', '.join(_DEFAULT_KEYS)})")
    tables = raw.get("tables")
    if isinstance(tables, list):
        merged = []
        for t in tables:
            merged.append({**{k: v for k, v in defaults.items() if k in _DEFAULT_KEYS},
                           **t} if isinstance(t, dict) else t)
        for t in merged:
            if isinstance(t, dict) and "waves" in t:
                t["waves"] = [str(w) for w in t["waves"]] if isinstance(t["waves"], list) \
                    else t["waves"]
        raw = {**raw, "tables": merged}
    models = _spec_models()
    spec = None
    try:
        spec = models["BookSpec"].model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
            loc = loc.replace(".[", "[")
            if isinstance(raw.get("tables"), list) and err["loc"][:1] == ("tables",) \
                    and len(err["loc"]) > 1 and isinstance(err["loc"][1], int):
                tid = raw["tables"][err["loc"][1]]
                if isinstance(tid, dict) and "id" in tid:
                    loc += f" (table {tid['id']!r})"
            got = err.get("input")
            got_text = "" if isinstance(got, (dict, list)) else f" (got {got!r})"
            problems.append(f"{loc}: {err['msg']}{got_text}")
    if spec is not None:
        seen: set[str] = set()
        for i, t in enumerate(spec.tables):
            if t.id in seen:
                problems.append(f"tables[{i}].id: duplicate table id {t.id!r}")
            seen.add(t.id)
    if problems:
        raise CodebookError(f"{len(problems)} problem(s) in the table spec", where=where,
                            problems=tuple(problems), fix="see docs/tables.md")
    return BookSpecFile(spec=spec, path=source)


def read_spec(path: Any) -> BookSpecFile:
    """Read and validate a table-book spec file (see :func:`parse_spec`)."""
    from pathlib import Path

    from sid.errors import InputError

    p = Path(path)
    if not p.is_file():
        raise InputError("table spec not found", where=str(p), fix="give the path of a YAML spec")
    return parse_spec(p.read_text(encoding="utf-8"), source=str(p))


def check_spec(book: BookSpecFile, codebook: Any, waves: Any = None) -> list[str]:
    """Cross-check a spec against a codebook (and the loaded waves): all problems."""
    from sid.expr import parse, variables

    problems: list[str] = []
    names = set(codebook.names)
    mr = dict(codebook.mr_sets)
    known_waves = set(str(w) for w in codebook.waves)
    loaded = None if waves is None else {str(w) for w in waves}
    for i, t in enumerate(book.tables):
        at = f"tables[{i}] ({t.id})"
        ind = t.indicator
        if ind.variable is not None and ind.variable not in names:
            problems.append(f"{at}.indicator.variable: {ind.variable!r} is not in the codebook")
        if ind.mr_set is not None and ind.mr_set not in mr:
            problems.append(f"{at}.indicator.mr_set: {ind.mr_set!r} is not a multiple-response "
                            f"set of the codebook (sets: {show_values(sorted(mr))})")
        if ind.variable in names and ind.codes is not None:
            labels = codebook.value_labels(ind.variable)
            bad = [c for c in ind.codes if labels and c not in labels]
            if bad:
                problems.append(f"{at}.indicator.codes: {show_values(bad)} are not codes of "
                                f"{ind.variable!r} (codes: {show_values(sorted(labels))})")
        for b in t.by:
            if b not in names:
                problems.append(f"{at}.by: {b!r} is not in the codebook")
        if t.base.where:
            try:
                unknown = sorted(variables(parse(t.base.where)) - names)
                if unknown:
                    problems.append(f"{at}.base.where: unknown variable(s) {show_values(unknown)}")
            except Exception as exc:  # a CodebookError with the parse problem
                problems.append(f"{at}.base.where: {exc}")
        for w in t.waves:
            if w not in known_waves:
                problems.append(f"{at}.waves: {w!r} is not a wave of the codebook "
                                f"({show_values(sorted(known_waves))})")
            elif loaded is not None and w not in loaded:
                problems.append(f"{at}.waves: wave {w} was not loaded (give its file with --data)")
        if t.reference is not None and t.by and t.by[0] in names:
            labels = codebook.value_labels(t.by[0])
            if labels and t.reference not in labels:
                problems.append(f"{at}.reference: {t.reference:g} is not a code of {t.by[0]!r}")
    return problems


# --------------------------------------------------------------------------- building tables

_UI = {
    "nl": {"question": "Vraag", "base": "Basis", "weight": "Gewicht", "wave": "Golf",
           "waves": "Golven", "ci": "{level}%-betrouwbaarheidsinterval: {method}; "
           "standaardfouten met Taylor-linearisatie (strata en clusters van de steekproef)",
           "source": "Bron", "all": "alle respondenten", "kept": "{kinds} tellen mee in de basis",
           "not_kept": "weet niet en geen antwoord tellen niet mee in de basis",
           "diff": "verschil {b} - {a}", "counted": "Telt als ja: {codes}",
           "mean_of": "gemiddelde van {var}", "n_note": "n: ongewogen aantal respondenten in de basis",
           "percent_of": "gewogen percentage", "ref": "Referentiegroep voor de significantie: "
           "{ref} (t-toets op het verschil, p < {alpha})",
           "change": "Verschil tussen de golven in {unit}; * = significante verandering "
           "(t-toets, onafhankelijke steekproeven)", "pp": "procentpunten", "units": "eenheden"},
    "en": {"question": "Question", "base": "Base", "weight": "Weight", "wave": "Wave",
           "waves": "Waves", "ci": "{level}% confidence interval: {method}; standard errors by "
           "Taylor linearisation (sample strata and clusters)",
           "source": "Source", "all": "all respondents", "kept": "{kinds} are kept in the base",
           "not_kept": "don't know and no answer are left out of the base",
           "diff": "difference {b} - {a}", "counted": "Counted as yes: {codes}",
           "mean_of": "mean of {var}", "n_note": "n: unweighted number of respondents in the base",
           "percent_of": "weighted percentage", "ref": "Reference group for significance: "
           "{ref} (t-test on the difference, p < {alpha})",
           "change": "Difference between waves in {unit}; * = significant change "
           "(t-test, independent samples)", "pp": "percentage points", "units": "units"},
}
_CI_NAMES = {
    "nl": {"logit": "logit-methode", "xlogit": "logit-methode (xlogit)", "asin": "arcsinus-methode",
           "beta": "beta-methode (Korn-Graubard)", "t": "t-verdeling", "wald": "normale benadering"},
    "en": {"logit": "logit method", "xlogit": "logit method (xlogit)", "asin": "arcsine method",
           "beta": "beta method (Korn-Graubard)", "t": "t distribution", "wald": "normal approximation"},
}


def _group_order(codebook: Any, var: str, values: pd.Series) -> list[Any]:
    """Codes of ``var`` in the codebook's order, then any others sorted."""
    order = list(codebook.value_labels(var)) if var != "wave" else list(codebook.waves)
    present = [v for v in pd.unique(values.dropna())]
    known = [c for c in order if c in set(present)]
    return known + sorted(v for v in present if v not in set(order))


def _indicator_columns(frame: pd.DataFrame, kinds: pd.DataFrame, t: Any,
                       codebook: Any) -> list[tuple[str, str, pd.Series]]:
    """The analysis columns of a table: (section key, section label placeholder, values).

    Proportions of ``codes`` become 0/1 (NaN outside the valid answers; kept missing
    kinds count as 0). A multiple-response set gives one 0/1 column per item.
    """
    ind = t.indicator
    keep = list(t.base.keep_missing)

    def prop(values: pd.Series, kind: pd.Series | None, codes: list[float]) -> pd.Series:
        out = values.isin(codes).astype(float).where(values.notna())
        if keep and kind is not None:
            out = out.mask(kind.isin(keep), 0.0)
        return out

    if ind.mr_set is not None:
        mr = codebook.mr_sets[ind.mr_set]
        counted = [float(mr.counted)] if not isinstance(mr.counted, list) else mr.counted
        return [(item, item, prop(frame[item], kinds.get(item), counted)) for item in mr.items]
    var = ind.variable
    if ind.stat == "mean":
        return [("", "", frame[var].astype(float))]
    if ind.codes is not None:
        return [("", "", prop(frame[var], kinds.get(var), ind.codes))]
    codes = list(codebook.value_labels(var)) or sorted(frame[var].dropna().unique())
    return [(f"{var}={c:g}", str(c), prop(frame[var], kinds.get(var), [c])) for c in codes]


def stacked_design(data: Any, weight: str | None = None) -> Design:
    """One design over all loaded waves: strata made unique per wave (independent samples)."""
    frame = data.data
    cb = data.codebook
    waves = [str(w) for w in frame["wave"].cat.categories] if hasattr(frame["wave"], "cat") \
        else sorted(frame["wave"].astype(str).unique())
    roles = cb.design_variables(waves[0])
    wcol = weight or roles.get("weight")
    strata = roles.get("strata")
    psu = roles.get("psu")
    extra = {}
    wave = frame["wave"].astype(str)
    if strata:
        # (wave, stratum) pairs: any stratum codes or text, never colliding across waves;
        # a missing stratum stays missing, so Design names those rows
        codes, _ = pd.factorize(pd.MultiIndex.from_arrays([wave, frame[strata]]))
        stratum = codes.astype(float)
        stratum[frame[strata].isna().to_numpy()] = np.nan
        extra["_stratum"] = stratum
    else:
        extra["_stratum"] = wave.map({w: i for i, w in enumerate(waves)}).astype(float)
    frame = frame.assign(**extra)
    return Design(frame, weight=wcol, strata="_stratum", psu=psu)


def build_tables(book: BookSpecFile, data: Any, *, lang: str = "nl", weight: str | None = None,
                 design: Design | None = None,
                 weight_label: str | None = None) -> tuple[TableResult, ...]:
    """Compute every table of ``book`` on harmonised ``data`` (:class:`sid.harmonise.HarmonisedData`).

    All waves share one design (:func:`stacked_design`: strata unique per wave),
    so a wave is a domain like any other; the table base is a ``where`` domain
    (zero-weighting). Each estimate comes from :func:`sid.estimate.estimate`,
    significance against the reference group and the change between waves
    from :func:`sid.estimate.compare`. ``weight_label`` names the weight in the
    footnotes (default: the weight column).
    """
    from sid.errors import CodebookError

    cb = data.codebook
    loaded = [str(w) for w in pd.unique(data.data["wave"].astype(str))]
    problems = check_spec(book, cb, loaded)
    if problems:
        raise CodebookError(f"{len(problems)} problem(s) in the table spec against the codebook",
                            where=book.path or "table spec", problems=tuple(problems),
                            fix="use the codebook's harmonised names, codes and waves")
    frame = data.data
    kinds = data.missing_kind
    columns: dict[str, pd.Series] = {}
    sections: dict[str, list[tuple[str, str]]] = {}
    for t in book.tables:
        sect = []
        for key, _label, values in _indicator_columns(frame, kinds, t, cb):
            col = f"_t_{t.id}_{len(sect)}"
            columns[col] = values
            sect.append((key, col))
        sections[t.id] = sect
    base = stacked_design(data, weight=weight) if design is None else design
    full = base.data.assign(**columns)
    design = _with_data(base, full)
    weight_name = weight_label or weight or cb.design_variables(loaded[0]).get("weight") or "-"
    results = []
    for t in book.tables:
        results.append(_build_one(t, design, cb, sections[t.id], lang, weight_name,
                                  book))
    return tuple(results)


def _with_data(design: Design, data: pd.DataFrame) -> Design:
    """The same design over a frame with extra (analysis) columns."""
    from dataclasses import fields

    kwargs = {f.name: getattr(design, f.name) for f in fields(design) if f.init}
    kwargs["data"] = data
    return Design(**kwargs)


def _section_label(t: Any, key: str, cb: Any, lang: str) -> str:
    if key == "":
        return ""
    if t.indicator.mr_set is not None:
        label = cb.label(key, lang)
        return label.split(":", 1)[1].strip() if ":" in label else label
    var, code = key.split("=")
    return cb.value_labels(var, lang).get(float(code), code)


def _build_one(t: Any, design: Design, cb: Any, sects: list[tuple[str, str]], lang: str,
               weight_name: str, book: BookSpecFile) -> TableResult:
    from sid.estimate import compare, estimate

    ui = _UI[lang]
    stat = "mean" if t.indicator.stat == "mean" else "proportion"
    scale = 1.0 if stat == "mean" else 100.0
    by = list(t.by)
    wave_where = f"wave in {list(t.waves)!r}"
    where = wave_where if not t.base.where else f"({t.base.where}) and {wave_where}"
    rule = Suppression(t.suppression.below, t.suppression.flag_below)
    parts = []
    for key, col in sects:
        est = estimate(design, stat, col, by=["wave", *by], where=where, ci=t.ci.method,
                       conf_level=t.ci.level)
        if stat == "proportion":
            est = est[est["category"] == "1"]
        est = est.copy()
        est["wave"] = est["wave"].astype(str)
        est = est[est["wave"].isin(t.waves)]
        est["p_value"] = np.nan
        if t.reference is not None:
            # per wave, so a group's p-value is the same as in a one-wave table
            cmps = []
            for w in t.waves:
                where_w = f"wave == {w!r}" if not t.base.where \
                    else f"({t.base.where}) and wave == {w!r}"
                cmps.append(compare(design, stat, col, by=by[0], reference=t.reference,
                                    within=["wave", *by[1:]], where=where_w,
                                    conf_level=t.ci.level))
            cmp = pd.concat(cmps, ignore_index=True)
            if stat == "proportion":
                cmp = cmp[cmp["category"] == "1"]
            cmp = cmp.assign(wave=cmp["wave"].astype(str))
            cmp = cmp[cmp["wave"].isin(t.waves)]
            est = est.merge(cmp[["wave", *by, "p_value"]].rename(columns={"p_value": "_p"}),
                            on=["wave", *by], how="left")
            est["p_value"] = est["_p"]
            est = est.drop(columns="_p")
        est["kind"] = "estimate"
        est["panel"] = est["wave"]
        est["panel_label"] = est["wave"]
        est["section"] = key
        est["section_label"] = _section_label(t, key, cb, lang)
        parts.append(est)
        if t.compare_waves:
            a, b = t.waves
            diff = compare(design, stat, col, by="wave", reference=a, within=by, where=where,
                           conf_level=t.ci.level)
            if stat == "proportion":
                diff = diff[diff["category"] == "1"]
            diff = diff[diff["wave"].astype(str) == b].copy()
            n_a = est[est["wave"] == a].set_index(by)["n"]
            n_b = est[est["wave"] == b].set_index(by)["n"]
            keyidx = pd.MultiIndex.from_frame(diff[by]) if len(by) > 1 else diff[by[0]]
            diff["n"] = np.minimum(n_a.reindex(keyidx).to_numpy(), n_b.reindex(keyidx).to_numpy())
            diff["n_weighted"] = np.nan
            diff["kind"] = "difference"
            diff["panel"] = "diff"
            diff["panel_label"] = ui["diff"].format(a=a, b=b)
            diff["section"] = key
            diff["section_label"] = _section_label(t, key, cb, lang)
            parts.append(diff)
    f = pd.concat(parts, ignore_index=True)
    f = f[f["n"].fillna(0) > 0] if "n" in f else f

    # group keys and labels in codebook order
    for b in by:
        f[b] = f[b].astype(float)
    labels = {b: cb.value_labels(b, lang) for b in by}
    orders = {b: _group_order(cb, b, f[b]) for b in by}
    rank = np.zeros(len(f))
    for b in by:
        pos = {v: i for i, v in enumerate(orders[b])}
        rank = rank * 100 + f[b].map(pos).to_numpy(dtype=float)
    f["_rank"] = rank
    f["group"] = f[by].apply(lambda r: "|".join(f"{v:g}" for v in r), axis=1) if len(by) > 1 \
        else f[by[0]].map(lambda v: f"{v:g}")
    f["group_label"] = f[by].apply(
        lambda r: ", ".join(labels[b].get(r[b], f"{r[b]:g}") for b in by), axis=1)
    f["is_reference"] = (f[by[0]] == t.reference) if t.reference is not None else False
    panel_rank = {w: i for i, w in enumerate(t.waves)} | {"diff": len(t.waves)}
    sect_rank = {k: i for i, (k, _) in enumerate(sects)}
    f["_srank"] = f["section"].map(sect_rank)
    f["_prank"] = f["panel"].map(panel_rank)
    f = f.sort_values(["_srank", "_rank", "_prank"], kind="stable").reset_index(drop=True)

    for c in ("estimate", "se", "ci_low", "ci_high"):
        f[c] = f[c].astype(float) * scale
    sup, flag = rule.apply(f["n"].to_numpy(dtype=float))
    if t.compare_waves:
        # a change is suppressed when either wave's estimate is
        est_sup = pd.Series(sup, index=f.index)[f["kind"] == "estimate"]
        key_sup = est_sup.groupby([f.loc[est_sup.index, "section"],
                                   f.loc[est_sup.index, "group"]]).any()
        is_diff = (f["kind"] == "difference").to_numpy()
        pairs = list(zip(f["section"], f["group"], strict=True))
        any_sup = np.array([bool(key_sup.get(p, True)) for p in pairs])
        sup = np.where(is_diff, any_sup, sup)
        flag = np.where(is_diff, False, flag)
    f["suppressed"] = sup
    f["flagged"] = flag
    f["significant"] = (f["p_value"] < t.alpha).where(f["p_value"].notna())
    f["n"] = f["n"].astype(np.int64)
    f["df"] = f["df"].astype(float)
    out = f[list(TABLE_COLUMNS)].copy()

    # texts
    ref_label = (cb.value_labels(by[0], lang).get(t.reference, f"{t.reference:g}")
                 if t.reference is not None else None)
    base_label = t.base.label.get(lang) if t.base.label else ui["all"]
    kept = ui["kept"].format(kinds=", ".join(t.base.keep_missing)) if t.base.keep_missing \
        else ui["not_kept"]
    waves_text = ", ".join(t.waves)
    notes = []
    if t.question is not None:
        notes.append(f"{ui['question']}: {t.question.get(lang)}")
    elif t.indicator.variable and getattr(cb.definition(t.indicator.variable), "question", None):
        notes.append(f"{ui['question']}: {cb.definition(t.indicator.variable).question.get(lang)}")
    if t.indicator.codes is not None:
        vl = cb.value_labels(t.indicator.variable, lang)
        notes.append(ui["counted"].format(codes=", ".join(vl.get(c, f"{c:g}")
                                                         for c in t.indicator.codes)))
    notes.append(f"{ui['base']}: {base_label} ({kept}). {ui['n_note']}.")
    notes.append(f"{ui['weight']}: {weight_name}. "
                 f"{ui['waves'] if len(t.waves) > 1 else ui['wave']}: {waves_text}.")
    notes.append(ui["ci"].format(level=f"{t.ci.level * 100:g}",
                                 method=_CI_NAMES[lang][t.ci.method]) + ".")
    if ref_label is not None:
        alpha = f"{t.alpha:g}".replace(".", ",") if lang == "nl" else f"{t.alpha:g}"
        notes.append(ui["ref"].format(ref=ref_label, alpha=alpha) + ".")
    if t.compare_waves:
        notes.append(ui["change"].format(unit=ui["pp"] if stat == "proportion" else ui["units"])
                     + ".")
    notes.extend(n.get(lang) for n in t.notes)
    src = book.spec.source.get(lang) if book.spec.source else "Samenleven in Diversiteit"
    notes.append(f"{ui['source']}: {src} {waves_text}.")
    unit_text = ui["percent_of"] if stat == "proportion" else \
        ui["mean_of"].format(var=cb.label(t.indicator.variable, lang))
    subtitle = f"{unit_text}; {ui['base'].lower()}: {base_label}; " \
               f"{(ui['waves'] if len(t.waves) > 1 else ui['wave']).lower()} {waves_text}"
    group_title = " x ".join(cb.label(b, lang) for b in by)
    return TableResult(id=t.id, title=t.title.get(lang), frame=out,
                       unit="percent" if stat == "proportion" else "mean",
                       decimals=t.decimals, group_title=group_title,
                       reference_label=ref_label, subtitle=subtitle, footnotes=tuple(notes),
                       suppression=rule, alpha=t.alpha)


def select_tables(book: BookSpecFile, waves: Any) -> tuple[BookSpecFile, tuple[str, ...]]:
    """The book restricted to tables whose waves are all in ``waves``, and the skipped ids."""
    loaded = {str(w) for w in waves}
    keep = [t for t in book.tables if set(t.waves) <= loaded]
    skipped = tuple(t.id for t in book.tables if not set(t.waves) <= loaded)
    if not keep:
        from sid.errors import CodebookError

        raise CodebookError("no table of the spec can be made from the loaded waves",
                            where=book.path or "table spec", got=show_values(sorted(loaded)),
                            fix="give the wave files the tables need with --data")
    spec = book.spec.model_copy(update={"tables": keep})
    return BookSpecFile(spec=spec, path=book.path), skipped
