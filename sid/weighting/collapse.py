"""Collapsing sparse margin cells: adjacent categories merge until every cell has respondents.

Why: a raking cell without respondents cannot reach its target (no Afghan women aged
65-85 responded in one synthetic sample), and a cell with one or two respondents makes
their weights carry a whole population cell. A survey statistician merges such a cell
with its neighbour on an ordered variable (age band 65-85 with 55-64) before raking.
The spec says along which variables (``margins.collapse.variables``, each of them with
ordered categories) and below how many respondents (``min_n``) a cell merges; this
module applies that rule to the margins and the wave and records every merge.

The rule, per margin that holds a collapse variable (the first of ``variables`` it
holds), separately within each ``within`` group and each combination of the margin's
other variables: while some class of adjacent categories has a positive target and
fewer than ``min_n`` respondents, the smallest such class (the first on a tie) merges
with its neighbour, the smaller one of the two neighbours (the lower on a tie). A
merged class is one margin category, labelled ``"5+6"``, with the summed target; the
rows in it get that label in the margin variable. A line whose categories are all
merged and still has no respondents is left for the margin checks to report.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import format_number
from sid.weighting.checks import norm_key
from sid.weighting.margins import within_names

__all__ = ["CollapsedCell", "Collapsed", "collapse_margins", "merge_adjacent"]


@dataclass(frozen=True)
class CollapsedCell:
    """One merge: adjacent ``categories`` of ``variable`` in margin ``margin``, at the
    values ``at`` of the within groups and the margin's other variables."""

    margin: str
    variable: str
    at: tuple[tuple[str, Any], ...]
    categories: tuple[Any, ...]
    label: str
    respondents: tuple[int, ...]
    targets: tuple[float, ...]

    def text(self) -> str:
        """One line for a report: where, which categories, with how many respondents."""
        at = ", ".join(f"{k} {format_number(v)}" for k, v in self.at)
        parts = ", ".join(f"{format_number(c)} (n={n})"
                          for c, n in zip(self.categories, self.respondents, strict=True))
        return (f"margin {self.margin}{' at ' + at if at else ''}: {self.variable} "
                f"{parts} merged into {self.label} (target {format_number(sum(self.targets))})")

    def as_dict(self) -> dict[str, Any]:
        return {"margin": self.margin, "variable": self.variable,
                "at": {k: v for k, v in self.at}, "categories": list(self.categories),
                "label": self.label, "respondents": list(self.respondents),
                "targets": list(self.targets)}


@dataclass(frozen=True)
class Collapsed:
    """The margin variables and margins after collapsing, and every merge made."""

    work: pd.DataFrame
    margins: Mapping[Any, Any]
    cells: tuple[CollapsedCell, ...]


def merge_adjacent(n: Sequence[int], targets: Sequence[float], min_n: int) -> list[list[int]]:
    """Classes of adjacent positions (0..k-1) after merging by the rule in the module doc."""
    classes = [[k] for k in range(len(n))]

    def size(c: list[int]) -> int:
        return sum(n[k] for k in c)

    def short(c: list[int]) -> bool:
        return size(c) < min_n and sum(targets[k] for k in c) > 0

    while len(classes) > 1:
        thin = [j for j, c in enumerate(classes) if short(c)]
        if not thin:
            break
        j = min(thin, key=lambda i: (size(classes[i]), i))
        if j == 0:
            other = 1
        elif j == len(classes) - 1:
            other = j - 1
        else:
            other = j - 1 if size(classes[j - 1]) <= size(classes[j + 1]) else j + 1
        a, b = sorted((j, other))
        classes[a:b + 1] = [classes[a] + classes[b]]
    return classes


def _order(value: Any) -> tuple[int, Any]:
    v = norm_key(value)
    return (0, v) if isinstance(v, int | float) else (1, str(v))


def collapse_margins(work: pd.DataFrame, margins: Mapping[Any, Any],
                     within: str | Sequence[str] | None, variables: Sequence[str],
                     min_n: int) -> Collapsed:
    """Merge sparse cells of ``margins`` (as :func:`margins_from_long` gives them, per
    ``within`` group or not) along ``variables`` on the respondents in ``work``."""
    gvars = within_names(within)
    grouped = bool(gvars)
    groups: list[tuple[Any, Mapping[Any, Any]]] = (list(margins.items()) if grouped
                                                   else [((), margins)])
    # normalised values of every margin variable, per row
    norm = pd.DataFrame({c: _normalised(work[c]) for c in work.columns}, index=work.index)
    mkeys = list(groups[0][1]) if groups else []
    uses: dict[str, int] = {}
    for mkey in mkeys:
        for v in _names(mkey):
            uses[v] = uses.get(v, 0) + 1
    plan: dict[Hashable, str] = {}  # margin key -> collapse variable
    for mkey in mkeys:
        names = _names(mkey)
        along = next((v for v in variables if v in names and v not in gvars), None)
        if along is not None:
            plan[mkey] = along
    cells: list[CollapsedCell] = []
    new_margins: dict[Any, Any] = {}
    recode: dict[Hashable, list[tuple[np.ndarray, str]]] = {}  # margin key -> (rows, label)
    for gkey, gmargins in groups:
        gtuple = gkey if isinstance(gkey, tuple) else (gkey,)
        in_group = np.ones(len(work), dtype=bool)
        for gv, gval in zip(gvars, gtuple, strict=True):
            in_group &= (norm[gv] == norm_key(gval)).to_numpy()
        out: dict[Any, Any] = {}
        for mkey, targets in gmargins.items():
            along = plan.get(mkey)
            if along is None or not isinstance(targets, Mapping):
                out[mkey] = targets
                continue
            names = _names(mkey)
            pos = names.index(along)
            sub = norm.loc[in_group, list(names)]
            counts = sub.groupby(list(names), sort=False).size() if len(sub) else pd.Series(dtype=int)
            n_of = {(k if isinstance(k, tuple) else (k,)): int(v) for k, v in counts.items()}
            lines: dict[tuple, list[tuple[Any, tuple, float]]] = {}
            for cat, total in targets.items():
                key = cat if isinstance(cat, tuple) else (cat,)
                nkey = tuple(norm_key(k) for k in key)
                rest = nkey[:pos] + nkey[pos + 1:]
                lines.setdefault(rest, []).append((key[pos], key, float(total)))
            new_targets: dict[Any, float] = {}
            for rest, entries in lines.items():
                entries.sort(key=lambda e: _order(e[0]))
                ns = [n_of.get(tuple(norm_key(k) for k in e[1]), 0) for e in entries]
                ts = [e[2] for e in entries]
                for cls in merge_adjacent(ns, ts, min_n):
                    first = entries[cls[0]][1]
                    if len(cls) == 1:
                        new_targets[first if len(first) > 1 else first[0]] = ts[cls[0]]
                        continue
                    cats = tuple(norm_key(entries[k][0]) for k in cls)
                    label = "+".join(format_number(c) for c in cats)
                    key = first[:pos] + (label,) + first[pos + 1:]
                    new_targets[key if len(key) > 1 else key[0]] = float(sum(ts[k] for k in cls))
                    rows = in_group.copy()
                    for v, value in zip([n for n in names if n != along], rest, strict=True):
                        rows &= (norm[v] == value).to_numpy()
                    rows &= norm[along].isin(cats).to_numpy()
                    recode.setdefault(mkey, []).append((rows, label))
                    at = tuple(zip(gvars, (norm_key(g) for g in gtuple), strict=True)) + tuple(
                        zip([n for n in names if n != along], rest, strict=True))
                    cells.append(CollapsedCell(
                        margin=" x ".join((*gvars, *names)), variable=along, at=at,
                        categories=cats, label=label,
                        respondents=tuple(ns[k] for k in cls), targets=tuple(ts[k] for k in cls)))
            out[mkey] = new_targets
        new_margins[gkey] = out
    if not cells:
        return Collapsed(work, margins, ())
    work = work.copy()
    renamed: dict[Hashable, Hashable] = {}
    for mkey, changes in recode.items():
        along = plan[mkey]
        names = _names(mkey)
        column = along if uses[along] == 1 else f"{along} ({' x '.join(names)})"
        values = work[along].astype(object).to_numpy(copy=True)
        for rows, label in changes:
            values[rows] = label
        work[column] = values
        if column != along:
            new_names = tuple(column if n == along else n for n in names)
            renamed[mkey] = new_names if len(new_names) > 1 else new_names[0]
    if renamed:
        new_margins = {g: {renamed.get(k, k): v for k, v in gm.items()}
                       for g, gm in new_margins.items()}
    final = new_margins if grouped else new_margins[()]
    return Collapsed(work, final, tuple(cells))


def _names(mkey: Hashable) -> tuple[str, ...]:
    return (mkey,) if isinstance(mkey, str) else tuple(mkey)  # type: ignore[arg-type]


def _normalised(values: pd.Series) -> pd.Series:
    """Each value as :func:`norm_key` gives it (1 = 1.0 = "1"), computed once per distinct value."""
    codes, uniques = pd.factorize(values, sort=False)
    mapped = np.array([norm_key(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index)
