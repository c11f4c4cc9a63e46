"""Margins: population targets matched to the data, as integer cell codes.

A margin maps a variable (or a cross of variables) to ``{category: total}``. It
is resolved against the data once: every row gets the index of its target
category, and every problem (unknown variables, categories without target,
targets without respondents, missing values, totals that disagree between
margins) is collected and raised at once. ``within=`` (margins per group) is
turned into margins crossed with the group. Categorical work happens on the
cells of the cross of the margin variables (``bincount``), not on rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from sid.codes import combine_codes, dense_codes, split_codes
from sid.errors import WeightingError, format_number, show_values
from sid.weighting.checks import norm_key, raise_problems, row_labels, show_key
from sid.weighting.population import check_population_table
from sid.weighting.records import MarginGap

__all__ = [
    "Margin",
    "Margins",
    "apply_within",
    "check_consistency",
    "column_codes",
    "cross_cells",
    "margin_gaps",
    "margins_from_long",
    "normalise_margins",
    "resolve_margin",
    "resolve_margins",
    "targets_from_frame",
    "within_names",
]


# combine_codes gives mixed-radix (decodable) keys below this many combinations, else ranks
_DECODABLE = 2.0**62

# {variable or (variables): {category: total} or a total}, an R-style population table,
# or a list of them; with within=, {group: such margins}
Margins: TypeAlias = Mapping[Any, Any] | pd.DataFrame | Sequence[pd.DataFrame]


def within_names(within: str | Sequence[str] | None) -> tuple[str, ...]:
    """``within=`` as a tuple of variable names: ``"g"`` -> ``("g",)``, None -> ``()``."""
    if within is None:
        return ()
    return (within,) if isinstance(within, str) else tuple(within)


@dataclass(frozen=True)
class Margin:
    """A categorical margin resolved against the data: row codes and aligned targets."""

    name: str
    variables: tuple[str, ...]
    keys: tuple[tuple[Any, ...], ...]  # target categories (as given)
    targets: np.ndarray
    code: np.ndarray  # row -> index into keys

    def label(self, k: int) -> str:
        return show_key(self.keys[k])


def targets_from_frame(frame: pd.DataFrame) -> tuple[tuple[str, ...], dict[tuple, float]]:
    """R-style population table: the stratifying columns plus one count column (last)."""
    count = "Freq" if "Freq" in frame.columns else frame.columns[-1]
    variables = tuple(c for c in frame.columns if c != count)
    keys = list(zip(*(frame[v].tolist() for v in variables), strict=True))
    return variables, dict(zip(keys, frame[count].astype(float).tolist(), strict=True))


def normalise_margins(margins: Margins, where: str) -> list[tuple[tuple[str, ...], Any]]:
    """Margins as a list of (variables, targets) with targets a mapping or a number."""
    out: list[tuple[tuple[str, ...], Any]] = []
    if isinstance(margins, pd.DataFrame):
        margins = [margins]
    if isinstance(margins, Mapping):
        for key, targets in margins.items():
            variables = (key,) if isinstance(key, str) else tuple(key)
            if isinstance(targets, pd.DataFrame):
                variables, targets = targets_from_frame(targets)
            elif isinstance(targets, pd.Series):
                targets = targets.to_dict()
            out.append((variables, targets))
    elif isinstance(margins, Sequence) and not isinstance(margins, str):
        for frame in margins:
            if not isinstance(frame, pd.DataFrame):
                raise WeightingError(
                    "margins must be a mapping or a list of population tables",
                    where=where,
                    got=type(frame).__name__,
                    fix="pass {variable: {category: total}} or R-style data frames",
                )
            out.append(targets_from_frame(frame))
    else:
        raise WeightingError(
            "margins must be a mapping {variable or (variables): {category: total}}",
            where=where,
            got=type(margins).__name__,
            fix="pass a dict of margins",
        )
    if not out:
        raise WeightingError("no margins given", where=where, fix="give at least one margin")
    return out


def resolve_margin(
    data: pd.DataFrame,
    variables: tuple[str, ...],
    targets: Mapping[Any, Any],
    where: str,
    problems: list[str],
    live: np.ndarray | None = None,
) -> Margin | None:
    """Match one margin's targets to the data, collecting every problem found."""
    name = " x ".join(variables)
    absent = [v for v in variables if v not in data.columns]
    if absent:
        problems.append(f"margin {name}: variable(s) {show_values(absent)} not in the data")
        return None
    keys: list[tuple[Any, ...]] = []
    values: list[float] = []
    lookup: dict[tuple[Any, ...], int] = {}
    for raw_key, raw_total in targets.items():
        key = raw_key if isinstance(raw_key, tuple) else (raw_key,)
        if len(key) != len(variables):
            problems.append(
                f"margin {name}: category {raw_key!r} does not have {len(variables)} part(s)"
            )
            continue
        try:
            total = float(raw_total)
        except (TypeError, ValueError):
            problems.append(f"margin {name}, category {show_key(key)}: total {raw_total!r} is not a number")
            continue
        if not np.isfinite(total) or total < 0:
            problems.append(f"margin {name}, category {show_key(key)}: total {raw_total!r} is negative or missing")
            continue
        nkey = tuple(norm_key(k) for k in key)
        if nkey in lookup:
            problems.append(f"margin {name}: category {show_key(key)} is given twice")
            continue
        lookup[nkey] = len(keys)
        keys.append(key)
        values.append(total)
    # row codes of the cross of the margin variables
    n = len(data)
    per_var_codes = []
    per_var_uniques = []
    missing = np.zeros(n, dtype=bool)
    for v in variables:
        codes, uniques = column_codes(data[v])
        if codes.size and codes.min() < 0:
            missing |= codes < 0
        per_var_codes.append(codes)
        per_var_uniques.append(uniques)
    if missing.any():
        problems.append(
            f"margin {name}: {int(missing.sum())} row(s) with a missing value in "
            f"{show_values(list(variables))} (rows {row_labels(data.index, missing)}); "
            "a margin variable must be complete: impute, or recode missing into a category "
            "with its own target"
        )
        return None
    sizes = [len(u) for u in per_var_uniques]
    combined = per_var_codes[0] if len(per_var_codes) == 1 else combine_codes(per_var_codes, sizes)
    cells, inverse = dense_codes(combined)
    cell_to_target = np.full(len(cells), -1, dtype=np.int64)
    unmatched = []
    per_cell = _cell_codes(per_var_codes, sizes, cells, inverse)
    for j in range(len(cells)):
        key = tuple(norm_key(u[c[j]]) for u, c in zip(per_var_uniques, per_cell, strict=True))
        k = lookup.get(key, -1)
        if k < 0:
            unmatched.append((key, int((inverse == j).sum())))
        cell_to_target[j] = k
    if unmatched:
        shown = ", ".join(f"{show_key(k)} ({c} rows)" for k, c in unmatched[:8])
        more = f" (+{len(unmatched) - 8} more)" if len(unmatched) > 8 else ""
        problems.append(
            f"margin {name}: sample categories without a target: {shown}{more}; "
            "add their population totals or recode them"
        )
        return None
    code = cell_to_target[inverse.reshape(-1)]
    tarr = np.asarray(values, dtype=float)
    counts = np.bincount(code if live is None else code[live], minlength=len(keys))
    empty = [k for k in range(len(keys)) if counts[k] == 0 and tarr[k] > 0]
    if empty:
        problems.append(
            f"margin {name}: target categories with no respondents: "
            + ", ".join(f"{show_key(keys[k])} (target {format_number(tarr[k])})" for k in empty[:8])
            + "; collapse them with a neighbouring category"
        )
    zero_with_rows = [k for k in range(len(keys)) if counts[k] > 0 and tarr[k] == 0]
    if zero_with_rows:
        problems.append(
            f"margin {name}: target 0 for categories that have respondents: "
            + ", ".join(f"{show_key(keys[k])} ({counts[k]} rows)" for k in zero_with_rows[:8])
            + "; drop those respondents or correct the target"
        )
    return Margin(name, tuple(variables), tuple(keys), tarr, code)


def column_codes(values: pd.Series) -> tuple[np.ndarray, Any]:
    """Integer codes of a column and the value of each code (-1: missing).

    Fast path: a numeric column of small non-negative whole numbers (the usual
    SPSS category codes) is its own code, with ``uniques = 0..max``; anything
    else goes through ``pd.factorize``.
    """
    if values.dtype.kind in "iuf" and len(values):
        v = values.to_numpy()
        if v.dtype.kind in "iu":
            lo, hi = int(v.min()), int(v.max())
            if lo >= 0 and hi <= 4 * len(v) + 1024:
                return v.astype(np.int64), np.arange(hi + 1, dtype=float)
        else:
            with np.errstate(invalid="ignore"):
                flo, fhi = float(np.min(v)), float(np.max(v))  # NaN propagates: slow path
            if flo >= 0 and fhi <= 4 * len(v) + 1024:
                iv = v.astype(np.int64)
                if np.array_equal(iv, v):
                    return iv, np.arange(int(fhi) + 1, dtype=float)
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64, copy=False), uniques


def _cell_codes(codes: Sequence[np.ndarray], sizes: Sequence[int], cells: np.ndarray,
                inverse: np.ndarray) -> list[np.ndarray]:
    """Per variable, the code of each cell: the mixed-radix digits of the cell keys, or (when
    :func:`~sid.codes.combine_codes` had to rank the tuples) the codes of a row in each cell."""
    if float(np.prod(np.asarray(sizes, dtype=float))) < _DECODABLE:
        return split_codes(cells, sizes)
    first = np.full(len(cells), len(inverse), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(inverse)))
    return [np.asarray(c)[first] for c in codes]


def check_consistency(margins: list[Margin], rel_tol: float, problems: list[str]) -> None:
    """Margins must agree where they overlap: collapsed to their shared variables
    (or to the grand total when they share none), their totals must match."""
    for i in range(len(margins)):
        for j in range(i + 1, len(margins)):
            a, b = margins[i], margins[j]
            shared = [v for v in a.variables if v in b.variables]
            ta = _collapse(a, shared)
            tb = _collapse(b, shared)
            for key in sorted(set(ta) | set(tb), key=repr):
                x, y = ta.get(key, 0.0), tb.get(key, 0.0)
                if abs(x - y) > rel_tol * max(abs(x), abs(y), 1.0):
                    at = f" at {' x '.join(shared)} = {show_key(key)}" if shared else ""
                    problems.append(
                        f"target totals disagree between margins {a.name} ({format_number(x)}) "
                        f"and {b.name} ({format_number(y)}){at}; every margin must sum to the "
                        "same population"
                    )
                    break


def _collapse(m: Margin, shared: list[str]) -> dict[tuple, float]:
    pos = [m.variables.index(v) for v in shared]
    out: dict[tuple, float] = {}
    for key, t in zip(m.keys, m.targets, strict=True):
        k = tuple(norm_key(key[p]) for p in pos)
        out[k] = out.get(k, 0.0) + float(t)
    return out



def apply_within(margins: Margins, within: str | Sequence[str] | None, where: str) -> Margins:
    """``within=g``: margins per group {group: {var: {cat: total}}} -> crossed margins."""
    if within is None:
        return margins
    gvars = within_names(within)
    if not isinstance(margins, Mapping) or not margins:
        raise WeightingError(
            "with within=, margins must map each group to its own margins",
            where=where,
            fix="pass {group: {variable: {category: total}}}",
        )
    crossed: dict[tuple[str, ...], dict[tuple, float]] = {}
    keysets = {}
    for group, group_margins in margins.items():
        gkey = group if isinstance(group, tuple) else (group,)
        if len(gkey) != len(gvars):
            raise WeightingError(
                f"group {group!r} does not match within={show_values(list(gvars))}",
                where=where,
                fix="key the margins by one value per within variable",
            )
        norm = normalise_margins(group_margins, where)
        keysets[group] = {v for v, _ in norm}
        for variables, targets in norm:
            if not isinstance(targets, Mapping):
                raise WeightingError(
                    f"margin {' x '.join(variables)} of group {group!r} is not categorical",
                    where=where,
                    fix="raking needs {category: total} targets",
                )
            out = crossed.setdefault(gvars + variables, {})
            for cat, total in targets.items():
                ckey = cat if isinstance(cat, tuple) else (cat,)
                out[gkey + ckey] = total
    first = next(iter(keysets.values()))
    differ = [g for g, ks in keysets.items() if ks != first]
    if differ:
        raise WeightingError(
            "groups must be raked to the same margins",
            where=where,
            got=f"groups {show_values(differ)} differ from the first group",
            fix="give every group the same margin variables",
        )
    return crossed



def margin_gaps(margins: list[Margin], w: np.ndarray) -> tuple[MarginGap, ...]:
    out = []
    for m in margins:
        ach = np.bincount(m.code, weights=w, minlength=len(m.keys))
        for k in range(len(m.keys)):
            t = float(m.targets[k])
            out.append(MarginGap(m.name, m.label(k), t, float(ach[k]),
                                 float((ach[k] - t) / (abs(t) if t != 0 else 1.0))))
    return tuple(out)


def resolve_margins(
    data: pd.DataFrame, margins: Margins, where: str, total_tol: float
) -> list[Margin]:
    problems: list[str] = []
    out = []
    for variables, targets in normalise_margins(margins, where):
        if not isinstance(targets, Mapping):
            problems.append(f"margin {' x '.join(variables)}: targets must map category -> total")
            continue
        m = resolve_margin(data, variables, targets, where, problems)
        if m is not None:
            out.append(m)
    if not problems:
        check_consistency(out, total_tol, problems)
    raise_problems("margins do not fit the data", problems, where,
                    "correct the targets or recode the data so every sample category has a "
                    "target and the margins agree")
    return out



def cross_cells(margins: list[Margin]) -> tuple[np.ndarray, np.ndarray]:
    """Cells of the cross of all margins: row -> cell, and cell -> category per margin."""
    sizes = [len(m.keys) for m in margins]
    codes = [m.code for m in margins]
    cells, cell = dense_codes(codes[0] if len(codes) == 1 else combine_codes(codes, sizes))
    cell_codes = np.stack(_cell_codes(codes, sizes, cells, cell), axis=0)
    return cell, cell_codes



def margins_from_long(
    table: pd.DataFrame,
    margins: Sequence[str | Sequence[str]],
    *,
    count: str = "count",
    within: str | Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
) -> dict[Hashable, Any]:
    """Margins from a long population table (one row per cell, a count column).

    ``margins`` lists variables or crosses to sum the counts over, e.g.
    ``[("geslacht", "leeftijdsgroep"), "gewest"]``. ``filters`` keeps rows with
    given values (e.g. ``{"ref_date": "2022-01-01"}``). With ``within``, returns
    ``{group: {margin: {category: total}}}`` ready for ``rake(within=...)``.
    """
    where = "margins table"
    specs = [(m,) if isinstance(m, str) else tuple(m) for m in margins]
    gvars = within_names(within)
    # every row is checked, also those the filter drops (PopulationTableError, all at once)
    t = check_population_table(
        table, count=count, where=where,
        columns=[*(filters or {}), *gvars, *(v for s in specs for v in s)])
    for col, value in (filters or {}).items():
        t = t[t[col].astype(str) == str(value)]
    if t.empty:
        raise WeightingError("no rows left in the margins table after filtering", where=where,
                             got=str(dict(filters or {})), fix="check the filter values (e.g. ref_date)")

    def sums(frame: pd.DataFrame, spec: tuple[str, ...]) -> dict[Any, float]:
        s = frame.groupby(list(spec), sort=True)[count].sum()
        return {(k if len(spec) > 1 else (k[0] if isinstance(k, tuple) else k)): float(v)
                for k, v in s.items()}

    def key(spec: tuple[str, ...]) -> str | tuple[str, ...]:
        return spec[0] if len(spec) == 1 else spec

    if not gvars:
        return {key(s): sums(t, s) for s in specs}
    out: dict[Hashable, Any] = {}
    for gkey, frame in t.groupby(list(gvars), sort=True):
        g = gkey if len(gvars) > 1 else (gkey[0] if isinstance(gkey, tuple) else gkey)
        out[g] = {key(s): sums(frame, s) for s in specs}
    return out

