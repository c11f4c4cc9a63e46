"""Aggregates only: what no table or export may publish, whatever its spec says.

A table book is published, so it must never reveal a respondent. Three rules,
checked by pure functions that return every problem at once (one line each), and
:func:`refuse` that raises them as one :class:`DisclosureError`:

1. **No breakdown by an identifier** (:func:`spec_problems`): ``by`` may not name
   a respondent id variable of the codebook (``respid``...), whatever else the
   spec says.
2. **A floor under the suppression threshold** (:data:`FLOOR`): a spec may raise
   ``suppression.below`` but never set it under :data:`FLOOR`; a spec that does is
   refused, not silently corrected, so that its author sees it.
3. **No breakdown whose groups are (almost) all single respondents**
   (:func:`breakdown_problems`, on the data): a ``by`` variable, or combination,
   is identifying when at least :data:`SINGLETON_SHARE` of its groups within the
   table's base hold exactly one respondent, or when it has more groups than half
   the respondents in the base. Such a table would be microdata with extra steps.
4. **No published cell below the floor** (:func:`cell_problems`, on the result):
   a cell that would be shown with an unweighted base ``0 < n < FLOOR`` refuses
   the table (a cell with ``n = 0`` is an empty cell and publishes nothing).

Counts are of respondents with a weight > 0 in the table's base, unweighted.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from sid.errors import CodebookError

FLOOR = 10
"""The smallest unweighted base a published cell may have; ``suppression.below`` may not be
lower. A spec can raise it, never lower it."""

SINGLETON_SHARE = 0.5
"""A breakdown whose groups hold a single respondent this often (or more) is identifying."""


class DisclosureError(CodebookError):
    """A table would publish something that identifies respondents; nothing is written."""


def spec_problems(by: Sequence[str], below: int, id_vars: Collection[str], *,
                  where: str = "table") -> list[str]:
    """Problems of a table spec without data: a ``by`` that names an id variable, and a
    suppression threshold under :data:`FLOOR`. ``where`` prefixes each line
    (e.g. ``spec.yaml:12: tables.3``)."""
    problems = []
    ids = {str(v).lower() for v in id_vars}
    for name in by:
        if str(name).lower() in ids:
            problems.append(f"{where}: by {name!r} is the respondent id: a table broken down "
                            "by it publishes one row per respondent (microdata). Fix: break "
                            "down by a grouping variable, e.g. herkomst")
    if below < FLOOR:
        problems.append(f"{where}: suppression.below is {below}, under the floor of {FLOOR} "
                        f"that no spec can lower. Fix: set suppression.below to {FLOOR} or more "
                        "(or leave it out: 30)")
    return problems


def group_sizes(data: pd.DataFrame, by: Sequence[str], base: np.ndarray | None = None,
                weight: np.ndarray | None = None) -> pd.Series:
    """Respondents per ``by`` combination within ``base`` (rows with weight > 0, if given);
    rows with a missing ``by`` value are left out."""
    keep = np.ones(len(data), dtype=bool) if base is None else np.asarray(base, dtype=bool).copy()
    if weight is not None:
        keep &= np.asarray(weight, dtype=float) > 0
    frame = data.loc[keep, list(by)]
    if not len(by) or not len(frame):
        return pd.Series(dtype=float)
    return frame.value_counts(dropna=True)


def breakdown_problems(data: pd.DataFrame, by: Sequence[str], base: np.ndarray | None = None,
                       weight: np.ndarray | None = None, *, where: str = "table") -> list[str]:
    """Problems of a breakdown on the data: ``by`` (all its variables together, and each
    alone) is identifying when at least :data:`SINGLETON_SHARE` of its groups in the base
    are single respondents, or it has more groups than half the respondents."""
    problems = []
    missing = [b for b in by if b not in data.columns]
    if missing:
        return [f"{where}: by variable(s) not in the data: {', '.join(map(repr, missing))}"]
    candidates = [list(by)] + ([[b] for b in by] if len(by) > 1 else [])
    for names in candidates:
        sizes = group_sizes(data, names, base, weight)
        if len(sizes) < 2:
            continue
        singles = int((sizes == 1).sum())
        respondents = int(sizes.sum())
        if singles >= SINGLETON_SHARE * len(sizes) or len(sizes) > respondents / 2:
            label = " x ".join(names)
            problems.append(
                f"{where}: by {label!r} identifies respondents: {singles} of its {len(sizes)} "
                f"groups hold a single respondent ({respondents} respondents in the base). "
                "Fix: break down by a grouping variable with fewer, larger groups")
            break
    return problems


def cell_problems(n: np.ndarray, published: np.ndarray, labels: Sequence[str] | None = None,
                  *, where: str = "table", floor: int = FLOOR) -> list[str]:
    """One problem listing the cells that would be published with ``0 < n < floor``.

    ``n`` is the unweighted base of each cell, ``published`` whether it is shown (not
    suppressed); ``labels`` name the cells in the message."""
    n = np.asarray(n, dtype=float)
    shown = np.asarray(published, dtype=bool)
    bad = np.flatnonzero(shown & (n > 0) & (n < floor))
    if not len(bad):
        return []
    names = [labels[i] if labels is not None else f"cell {i + 1}" for i in bad[:8]]
    more = f" (+{len(bad) - 8} more)" if len(bad) > 8 else ""
    return [f"{where}: {len(bad)} cell(s) would be published on fewer than {floor} "
            f"respondents: {', '.join(f'{k} (n={int(n[i])})' for k, i in zip(names, bad, strict=False))}"
            f"{more}. Fix: raise suppression.below to at least {floor}, or merge small groups"]


def refuse(problems: Sequence[str], what: str = "table book") -> None:
    """Raise all ``problems`` as one :class:`DisclosureError` (nothing if there are none)."""
    if problems:
        raise DisclosureError(
            f"the {what} would publish data on single respondents ({len(problems)} problem(s))",
            problems=tuple(problems),
            fix="publish aggregates only: see the lines below")


def check_table(data: pd.DataFrame, by: Sequence[str], below: int, id_vars: Collection[str], *,
                base: np.ndarray | None = None, weight: np.ndarray | None = None,
                n: np.ndarray | None = None, published: np.ndarray | None = None,
                labels: Sequence[str] | None = None, where: str = "table") -> None:
    """Every rule at once for one table; raises :class:`DisclosureError` listing all problems.

    Give ``n``/``published`` (the result's cells) to check the floor on published cells too.
    """
    problems = spec_problems(by, below, id_vars, where=where)
    problems += breakdown_problems(data, by, base, weight, where=where)
    if n is not None:
        problems += cell_problems(n, np.ones(len(n), dtype=bool) if published is None
                                  else published, labels, where=where)
    refuse(problems)
