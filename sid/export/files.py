"""CSV and JSON files for analysts, and the naming and atomic writing all exports share.

Exports hold aggregates only, never a respondent-level row. Every file is
written to a temporary file in the target folder and then renamed
(:func:`sid.io.atomic_output`), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from sid.errors import InputError
from sid.export.provenance import CONTENT_SCHEME, Provenance
from sid.export.texts import CROSSTAB_TEXT
from sid.tables import Crosstab, TableResult


def write_atomically(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it into place
    (:func:`sid.io.atomic_output`: the folder must exist; inside a command the rename
    waits until all its outputs are complete)."""
    from sid.io import atomic_output

    path = Path(path)
    with atomic_output(path) as tmp:
        write(str(tmp))
    return path



_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def sheet_names(tables: Sequence[TableResult]) -> list[str]:
    """Unique Excel sheet names (<= 31 characters) from the table ids."""
    names: list[str] = []
    for t in tables:
        base = _BAD_SHEET.sub("_", t.id)[:31] or "tabel"
        name, i = base, 2
        while name.lower() in {n.lower() for n in names}:
            suffix = f"_{i}"
            name = base[: 31 - len(suffix)] + suffix
            i += 1
        names.append(name)
    return names



def ordered_unique(values: pd.Series) -> list[Any]:
    """Unique values in order of first appearance."""
    return list(dict.fromkeys(values.tolist()))



ANALYST_COLUMNS = ("table", "section", "section_label", "panel", "panel_label", "kind", "group",
                   "group_label", "is_reference", "estimate", "se", "ci_low", "ci_high",
                   "ci_method", "conf_level", "df", "n", "n_weighted", "p_value", "significant",
                   "suppressed", "flagged")


def analyst_frame(t: TableResult) -> pd.DataFrame:
    """The table as a tidy frame for analysts; suppressed estimates are blanked out."""
    out = t.frame.copy()
    out.insert(0, "table", t.id)
    hide = out["suppressed"].astype(bool)
    for c in ("estimate", "se", "ci_low", "ci_high", "n_weighted", "p_value"):
        out[c] = out[c].astype(float).where(~hide)
    out["significant"] = out["significant"].astype("boolean").where(~hide)
    return out[list(ANALYST_COLUMNS)]


def _write_csv(frame: pd.DataFrame, path: str) -> None:
    frame.to_csv(path, index=False)


def _write_text(text: str, path: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def write_table_files(tables: Sequence[TableResult], out_dir: str | os.PathLike[str], *,
                      fmt: str = "csv", provenance: Provenance | None = None) -> list[Path]:
    """One CSV or JSON file per table in ``out_dir`` (atomically); returns the paths."""
    if fmt not in ("csv", "json"):
        raise InputError(f"unknown format {fmt!r}", where="--format", fix="use csv or json")
    from sid.io.files import output_folder

    out_dir = output_folder(out_dir)  # created when absent (its parent must exist)
    paths = []
    for t, name in zip(tables, sheet_names(tables), strict=True):
        frame = analyst_frame(t)
        target = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            paths.append(write_atomically(target, partial(_write_csv, frame)))
        else:
            payload = {
                "id": t.id, "title": t.title, "subtitle": t.subtitle, "unit": t.unit,
                "decimals": t.decimals, "group_title": t.group_title,
                "reference": t.reference_label, "footnotes": list(t.footnotes),
                "suppression": {"below": t.suppression.below,
                                "flag_below": t.suppression.flag_below},
                "rows": json.loads(frame.to_json(orient="records")),
            }
            if provenance is not None:
                payload["provenance"] = {
                    "inputs": [{"role": r, "path": p, "sha256": h,
                                **({"content_sha256": dict(provenance.content)[p],
                                    "content_scheme": CONTENT_SCHEME}
                                   if p in dict(provenance.content) else {})}
                               for r, p, h in provenance.inputs],
                    "source": provenance.source, "weight": provenance.weight,
                    "weight_text": provenance.weight_text, "version": provenance.version,
                    "created": provenance.created, "command": provenance.command,
                }
            text = json.dumps(payload, ensure_ascii=False, indent=2)
            paths.append(write_atomically(target, partial(_write_text, text)))
    return paths



CROSSTAB_FORMATS = ("table", "csv", "json")


def _count(value: float) -> str:
    """A weighted count as a count: whole, with thousands separators (1.832.050)."""
    if value != value:
        return "-"
    return f"{value:,.0f}".replace(",", ".")


def format_crosstab(res: Crosstab, fmt: str = "table") -> str:
    """A crosstab as text: ``table`` (aligned, Dutch, for the terminal), ``csv`` (the cells,
    a blank line, the tests) or ``json`` (cells, tests, N and design effects)."""
    if fmt == "csv":
        return (res.cells.to_csv(index=False, lineterminator="\n") + "\n"
                + res.tests.to_csv(index=False, lineterminator="\n"))
    if fmt == "json":
        return json.dumps({"row": res.row, "col": res.col, "where": res.where,
                           "n_total": res.n_total, "design_effects": list(res.design_effects),
                           "cells": json.loads(res.cells.to_json(orient="records")),
                           "tests": json.loads(res.tests.to_json(orient="records"))},
                          ensure_ascii=False, indent=2) + "\n"
    if fmt != "table":
        raise InputError(f"unknown format {fmt!r}", where="--format",
                         fix=f"use one of {', '.join(CROSSTAB_FORMATS)}")
    tx = CROSSTAB_TEXT
    cells = res.cells
    first = cells.iloc[0]
    per = tx[f"per_{first['percent_base']}"].format(row=res.row, col=res.col)
    lines = [tx["title"].format(row=res.row, col=res.col,
                                base=f" ({tx['base']}: {res.where})" if res.where else "",
                                per=per, level=f"{float(first['conf_level']) * 100:g}",
                                ci=first["ci_method"])]
    head = [tx["row"], tx["col"], tx["percent"], tx["ci"], tx["count"], tx["n"]]
    rows = [[str(r.row_label), str(r.col_label), f"{100 * r.estimate:.1f}",
             f"[{100 * r.ci_low:.1f}, {100 * r.ci_high:.1f}]" if r.n > 0 else tx["no_ci"],
             _count(r.count), f"{r.n:.0f}"]
            if r.n == r.n else [str(r.row_label), str(r.col_label), "x", "x", "x", "x"]
            for r in cells.itertuples()]
    widths = [max(len(h), *(len(x[i]) for x in rows)) for i, h in enumerate(head)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    lines += ["  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)) for x in rows]
    if (cells["n"] == 0).any():
        lines.append(tx["explain_no_ci"])
    for t in res.tests.itertuples():
        dfs = f"df = {t.df_num:.4g}" + (f", {t.df_den:.4g}" if t.test == "F" else "")
        lines.append(f"{t.method}: {t.test} = {t.statistic:.6g}, {dfs}, p = {t.p_value:.4g}")
    return "\n".join(lines) + "\n"
