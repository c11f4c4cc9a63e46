"""Planning indicators from the tables of a table spec (docs/tables.md).

Each table's indicator becomes an analysis column on the harmonised data, the
same way the table book counts it: ``codes`` -> 1 when the answer is one of the
codes, 0 for another valid answer, missing otherwise (kept missing kinds count
as 0); a table without codes gives one indicator per category; a
multiple-response set one per item; ``stat: mean`` the variable itself. The
base (``base.where``) is the domain. Tables that count the same thing on the
same base (one wave and a two-wave version) are planned once.

The table spec objects are read by attribute (``t.id``, ``t.indicator``,
``t.base``...), so this module needs nothing from the tables layer above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from sid.plan.precision import Indicator


def _prop(values: pd.Series, kind: pd.Series | None, codes: Sequence[float],
          keep: Sequence[str]) -> pd.Series:
    out = values.isin(list(codes)).astype(float).where(values.notna())
    if keep and kind is not None:
        out = out.mask(kind.isin(list(keep)), 0.0)
    return out


def indicators_from_spec(tables: Sequence[Any], data: Any,
                         lang: str = "nl") -> tuple[pd.DataFrame, tuple[Indicator, ...]]:
    """The harmonised frame with one analysis column per indicator, and the indicators.

    ``tables`` are the table specs of a book (``read_spec(path).tables``),
    ``data`` a :class:`sid.harmonise.HarmonisedData`. Columns are named
    ``_plan_0``, ``_plan_1``, ...
    """
    frame = data.data
    kinds = data.missing_kind
    cb = data.codebook
    columns: dict[str, pd.Series] = {}
    out: list[Indicator] = []
    seen: set[tuple] = set()

    def add(key: tuple, ident: str, label: str, values: pd.Series, stat: str,
            where: str | None) -> None:
        full = (*key, where, stat)
        if full in seen:
            return
        seen.add(full)
        col = f"_plan_{len(columns)}"
        columns[col] = values
        out.append(Indicator(id=ident, label=label, column=col, stat=stat, where=where))

    for t in tables:
        ind = t.indicator
        if ind is None:  # a model: table has no indicator of its own
            continue
        where = t.base.where or None
        keep = list(t.base.keep_missing)
        title = t.title.get(lang)
        if ind.mr_set is not None:
            mr = cb.mr_sets[ind.mr_set]
            counted = mr.counted if isinstance(mr.counted, list) else [float(mr.counted)]
            for item in mr.items:
                item_label = cb.label(item, lang)
                item_label = item_label.split(":", 1)[1].strip() if ":" in item_label else item_label
                add((item, tuple(counted), tuple(keep)), f"{t.id}:{item}", f"{title}: {item_label}",
                    _prop(frame[item], kinds.get(item), counted, keep), "proportion", where)
            continue
        var = ind.variable
        if ind.stat == "mean":
            add((var, "mean"), t.id, title, frame[var].astype(float), "mean", where)
        elif ind.codes is not None:
            add((var, tuple(ind.codes), tuple(keep)), t.id, title,
                _prop(frame[var], kinds.get(var), ind.codes, keep), "proportion", where)
        else:
            labels = cb.value_labels(var, lang)
            codes = list(labels) or sorted(frame[var].dropna().unique())
            for c in codes:
                add((var, (c,), tuple(keep)), f"{t.id}={c:g}",
                    f"{title}: {labels.get(c, f'{c:g}')}",
                    _prop(frame[var], kinds.get(var), [c], keep), "proportion", where)
    return frame.assign(**columns), tuple(out)
