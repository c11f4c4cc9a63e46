"""The Excel table book (openpyxl).

:func:`write_table_book` takes already-computed :class:`sid.tables.TableResult`
objects and writes one workbook: a sheet per table (title, rows = groups,
columns %, 95%-BI ondergrens/bovengrens, n (ongewogen), significance marker and
remark; suppressed cells as ``x``; footnotes; a native bar chart with the CI as
error bars), a ``Toelichting`` sheet (method in plain language) and a
``Herkomst van de cijfers`` sheet (every input with its sha256, toolkit
version, date, the exact command). Dutch by default, English with
``lang="en"``. The workbook is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sid.errors import InputError
from sid.export.files import ordered_unique, sheet_names, write_atomically
from sid.export.provenance import Provenance
from sid.export.texts import FLAG, METHOD_TEXT, NO_CI, SIGNIFICANT, SUPPRESSED, TEXTS, localised
from sid.tables import TableResult

if TYPE_CHECKING:
    from openpyxl.styles import Alignment
    from openpyxl.worksheet.worksheet import Worksheet


def _level_text(t: TableResult) -> str:
    level = float(t.frame["conf_level"].dropna().iloc[0]) if t.frame["conf_level"].notna().any() \
        else 0.95
    return f"{level * 100:g}"


def _number_format(decimals: int) -> str:
    return "0" if decimals <= 0 else "0." + "0" * decimals


def _panel_columns(kind: str, unit: str, lang: str, level: str) -> list[str]:
    if kind == "difference":
        head = localised(lang, "difference_percent" if unit == "percent" else "difference_mean")
        fourth = localised(lang, "p")
    else:
        head = localised(lang, "percent" if unit == "percent" else "mean")
        fourth = localised(lang, "n")
    return [head, localised(lang, "ci_low", level=level), localised(lang, "ci_high", level=level), fourth,
            localised(lang, "marker"), localised(lang, "remark")]


def table_footnotes(t: TableResult, lang: str) -> list[str]:
    """The table's own footnotes followed by explanations of the symbols used in it."""
    notes = list(t.footnotes)
    f = t.frame
    est = f[f["kind"] == "estimate"]
    alpha = f"{t.alpha:g}".replace(".", ",") if lang == "nl" else f"{t.alpha:g}"
    if est["suppressed"].any():
        notes.append(localised(lang, "explain_x", below=t.suppression.below))
    if est["flagged"].any():
        notes.append(localised(lang, "explain_flag", below=t.suppression.below,
                        flag=t.suppression.flag_below - 1))
    shown = f[~f["suppressed"].astype(bool)]
    if (shown["ci_low"].isna() | shown["ci_high"].isna()).any():
        notes.append(localised(lang, "explain_no_ci"))
    if t.reference_label and est["significant"].fillna(False).astype(bool).any():
        notes.append(localised(lang, "explain_sig", ref=t.reference_label, alpha=alpha))
    diff = f[f["kind"] == "difference"]
    if len(diff) and diff["significant"].fillna(False).astype(bool).any():
        notes.append(localised(lang, "explain_sig_diff", alpha=alpha))
    return notes


# --------------------------------------------------------------------------- the workbook


def write_table_book(tables: Sequence[TableResult], path: str | os.PathLike[str], *,
                     provenance: Provenance, lang: str = "nl",
                     book_title: str | None = None, chart: bool = True) -> Path:
    """Write the Excel table book (atomically) and return its path.

    Sheets: a contents sheet, one sheet per table, ``Toelichting`` and
    ``Herkomst van de cijfers``. Values are written as numbers on the display
    scale of the table (percentages 0-100, or means) with the table's decimals
    as number format; suppressed estimates as ``x``.
    """
    from openpyxl import Workbook

    if lang not in TEXTS:
        raise InputError(f"unknown language {lang!r}", where="--lang", fix="use nl or en")
    if not tables:
        raise InputError("no tables to write", fix="the spec must define at least one table")
    names = sheet_names(tables)
    wb = Workbook()
    contents = wb.active
    contents.title = localised(lang, "contents")
    _write_contents(contents, tables, names, lang, book_title)
    from sid.export.excel_model import is_model_table, write_model_sheet

    for t, name in zip(tables, names, strict=True):
        ws = wb.create_sheet(name)
        if is_model_table(t):  # a model: table (sid.export.excel_model)
            write_model_sheet(ws, t, lang)  # type: ignore[arg-type]
            continue
        _write_table_sheet(ws, t, lang, chart=chart)
    _write_method_sheet(wb.create_sheet(localised(lang, "toelichting")), lang)
    _write_provenance_sheet(wb.create_sheet(localised(lang, "herkomst")), provenance, lang)
    for ws in wb.worksheets:  # print (and PDF) one sheet across one landscape page
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if ws.title in names else 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    return write_atomically(path, wb.save)


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="808080")
    return {
        "title": Font(bold=True, size=13),
        "bold": Font(bold=True),
        "italic": Font(italic=True, size=9),
        "small": Font(size=9),
        "head_fill": PatternFill("solid", fgColor="DDEBF7"),
        "wrap": Alignment(wrap_text=True, vertical="center", horizontal="center"),
        "right": Alignment(horizontal="right"),
        "center": Alignment(horizontal="center"),
        "bottom": Border(bottom=thin),
    }


def _write_contents(ws: Worksheet, tables: Sequence[TableResult], names: Sequence[str], lang: str,
                    book_title: str | None) -> None:
    st = _styles()
    ws["A1"] = book_title or "Samenleven in Diversiteit"
    ws["A1"].font = st["title"]
    ws["A3"] = localised(lang, "sheet")
    ws["B3"] = localised(lang, "table")
    for c in ("A3", "B3"):
        ws[c].font = st["bold"]
    for i, (t, name) in enumerate(zip(tables, names, strict=True), start=4):
        ws.cell(row=i, column=1, value=name)
        cell = ws.cell(row=i, column=2, value=t.title)
        cell.hyperlink = f"#'{name}'!A1"
        cell.style = "Hyperlink"
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90


def _write_table_sheet(ws: Worksheet, t: TableResult, lang: str, *, chart: bool) -> None:
    from openpyxl.utils import get_column_letter

    st = _styles()
    f = t.frame
    level = _level_text(t)
    fmt = _number_format(t.decimals)
    panels = ordered_unique(f["panel"])
    sections = ordered_unique(f["section"])
    groups = ordered_unique(f["group"])
    panel_label = dict(zip(f["panel"], f["panel_label"], strict=True))
    panel_kind = dict(zip(f["panel"], f["kind"], strict=True))
    section_label = dict(zip(f["section"], f["section_label"], strict=True))
    group_label = dict(zip(f["group"], f["group_label"], strict=True))
    ncol = 6

    ws["A1"] = t.title
    ws["A1"].font = st["title"]
    if t.subtitle:
        ws["A2"] = t.subtitle
        ws["A2"].font = st["italic"]
    head1, head2 = 4, 5
    ws.cell(row=head2, column=1, value=t.group_title).font = st["bold"]
    ws.cell(row=head2, column=1).border = st["bottom"]
    ws.cell(row=head1, column=1).fill = st["head_fill"]
    ws.cell(row=head2, column=1).fill = st["head_fill"]
    for pi, p in enumerate(panels):
        c0 = 2 + pi * ncol
        cell = ws.cell(row=head1, column=c0, value=panel_label[p])
        cell.font = st["bold"]
        cell.alignment = st["center"]
        ws.merge_cells(start_row=head1, start_column=c0, end_row=head1, end_column=c0 + ncol - 1)
        for j, text in enumerate(_panel_columns(panel_kind[p], t.unit, lang, level)):
            hc = ws.cell(row=head2, column=c0 + j, value=text)
            hc.font = st["bold"]
            hc.alignment = st["wrap"]
            hc.border = st["bottom"]
        for j in range(ncol):
            ws.cell(row=head1, column=c0 + j).fill = st["head_fill"]
            ws.cell(row=head2, column=c0 + j).fill = st["head_fill"]
    ws.row_dimensions[head2].height = 45

    keyed = f.set_index(["section", "panel", "group"])
    r = head2 + 1
    first_data = r
    layout: list[tuple[Any, Any, int]] = []  # (section, group, sheet row)
    multi_section = len(sections) > 1 or str(sections[0]) != ""
    for s in sections:
        if multi_section:
            ws.cell(row=r, column=1, value=section_label[s]).font = st["bold"]
            r += 1
        for g in groups:
            if not any((s, p, g) in keyed.index for p in panels):
                continue
            label_cell = ws.cell(row=r, column=1, value=group_label[g])
            if multi_section:
                label_cell.alignment = _indent()
            for pi, p in enumerate(panels):
                if (s, p, g) not in keyed.index:
                    continue
                rec = keyed.loc[(s, p, g)]
                _write_cells(ws, r, 2 + pi * ncol, rec, fmt, st, lang)
            if bool(f.loc[(f["section"] == s) & (f["group"] == g), "is_reference"].any()):
                label_cell.value = f"{group_label[g]} ({localised(lang, 'reference')})"
            layout.append((s, g, r))
            r += 1
    last_data = r - 1

    # footnotes
    r += 1
    ws.cell(row=r, column=1, value=localised(lang, "notes")).font = st["bold"]
    for note in table_footnotes(t, lang):
        r += 1
        ws.cell(row=r, column=1, value=note).font = st["small"]
    foot_end = r

    ws.column_dimensions["A"].width = max(16, min(48, max(len(str(c.value or ""))
                                                          for c in ws["A"][head2 - 1:last_data]) + 2))
    for pi in range(len(panels)):
        c0 = 2 + pi * ncol
        for j, width in enumerate((11, 12, 12, 13, 6, 6)):
            ws.column_dimensions[get_column_letter(c0 + j)].width = width
    ws.freeze_panes = ws.cell(row=head2 + 1, column=2)
    ws.sheet_view.showGridLines = False
    ws.print_title_rows = f"{head1}:{head2}"  # page setup: write_table_book, for every sheet

    if chart and first_data <= last_data:
        est_panels = [p for p in panels if panel_kind[p] == "estimate"]
        _add_chart(ws, t, layout, sections, est_panels, panel_label, section_label, keyed,
                   anchor_row=foot_end + 2, lang=lang, multi_section=multi_section)


def _indent() -> Alignment:
    from openpyxl.styles import Alignment

    return Alignment(indent=1)


def _write_cells(ws: Worksheet, r: int, c0: int, rec: pd.Series, fmt: str, st: Mapping[str, Any],
                 lang: str) -> None:
    diff = rec["kind"] == "difference"
    suppressed = bool(rec["suppressed"])
    values = [rec["estimate"], rec["ci_low"], rec["ci_high"]]
    for j, v in enumerate(values):
        cell = ws.cell(row=r, column=c0 + j)
        if suppressed or v is None or not np.isfinite(float(v)):
            cell.value = SUPPRESSED if suppressed else NO_CI
            cell.alignment = st["right"]
        else:
            cell.value = float(v)
            cell.number_format = fmt
    fourth = ws.cell(row=r, column=c0 + 3)
    if diff:
        p = rec["p_value"]
        if not suppressed and p is not None and np.isfinite(float(p)):
            fourth.value = float(p)
            fourth.number_format = "0.000"
        elif suppressed:
            fourth.value = SUPPRESSED
            fourth.alignment = st["right"]
    else:
        fourth.value = int(rec["n"])
        fourth.number_format = "0"
    sig = rec["significant"]
    if not suppressed and sig is not None and not pd.isna(sig) and bool(sig):
        ws.cell(row=r, column=c0 + 4, value=SIGNIFICANT).alignment = st["center"]
    if bool(rec["flagged"]) and not suppressed:
        ws.cell(row=r, column=c0 + 5, value=FLAG).alignment = st["center"]


def _add_chart(ws: Worksheet, t: TableResult, layout: Sequence[tuple[Any, Any, int]],
               sections: Sequence[Any], panels: Sequence[Any], panel_label: Mapping[Any, Any],
               section_label: Mapping[Any, Any], keyed: pd.DataFrame, *, anchor_row: int,
               lang: str, multi_section: bool) -> None:
    """A clustered bar chart: one category per group, one series per (section, panel),
    CI as custom error bars. Its data sit in a labelled block under the chart."""
    from openpyxl.chart import BarChart, Reference, Series
    from openpyxl.chart.data_source import NumDataSource, NumRef
    from openpyxl.chart.error_bar import ErrorBars

    groups = list(dict.fromkeys(g for _, g, _ in layout))
    group_label = dict(zip(t.frame["group"], t.frame["group_label"], strict=False))
    series_keys = [(s, p) for s in sections for p in panels]
    if not series_keys:
        return
    # the chart's data: a labelled block under the chart (aggregates only)
    c0 = 1
    top = anchor_row + 20
    ws.cell(row=top, column=c0, value=localised(lang, "chart_data")).font = _styles()["bold"]
    ws.cell(row=top + 1, column=c0, value=t.group_title)
    first = top + 2
    for i, g in enumerate(groups):
        ws.cell(row=first + i, column=c0, value=group_label[g])
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = t.title if len(t.title) <= 80 else t.title[:77] + "..."
    chart.y_axis.title = "%" if t.unit == "percent" else localised(lang, "mean")
    chart.y_axis.numFmt = "0"
    chart.y_axis.majorGridlines = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height = 9
    chart.width = max(16, 1.2 * len(groups) * max(1, len(series_keys)) + 4)
    last = first + len(groups) - 1
    cats = Reference(ws, min_col=c0, min_row=first, max_row=last)
    for k, (s, p) in enumerate(series_keys):
        col = c0 + 1 + 3 * k
        name_parts = []
        if multi_section:
            name_parts.append(str(section_label[s]))
        if len(panels) > 1 or not multi_section:
            name_parts.append(str(panel_label[p]))
        ws.cell(row=top + 1, column=col, value=" - ".join(name_parts))
        ws.cell(row=top + 1, column=col + 1, value=localised(lang, "plus"))
        ws.cell(row=top + 1, column=col + 2, value=localised(lang, "minus"))
        for i, g in enumerate(groups):
            if (s, p, g) not in keyed.index:
                continue
            rec = keyed.loc[(s, p, g)]
            if bool(rec["suppressed"]) or not np.isfinite(float(rec["estimate"])):
                continue
            ws.cell(row=first + i, column=col, value=float(rec["estimate"]))
            ws.cell(row=first + i, column=col + 1, value=float(rec["ci_high"] - rec["estimate"]))
            ws.cell(row=first + i, column=col + 2, value=float(rec["estimate"] - rec["ci_low"]))
            for j in range(3):
                ws.cell(row=first + i, column=col + j).number_format = _number_format(t.decimals)
        values = Reference(ws, min_col=col, min_row=top + 1, max_row=last)
        series = Series(values, title_from_data=True)
        plus = NumDataSource(numRef=NumRef(f=_ref(ws.title, col + 1, first, last)))
        minus = NumDataSource(numRef=NumRef(f=_ref(ws.title, col + 2, first, last)))
        series.errBars = ErrorBars(errDir="y", errBarType="both", errValType="cust",
                                   noEndCap=False, plus=plus, minus=minus)
        chart.series.append(series)
    chart.set_categories(cats)
    if len(series_keys) == 1:
        chart.legend = None
    ws.add_chart(chart, f"A{anchor_row}")


def _ref(sheet: str, col: int, r0: int, r1: int) -> str:
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(col)
    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!${letter}${r0}:${letter}${r1}"


def _write_method_sheet(ws: Worksheet, lang: str) -> None:
    from openpyxl.styles import Alignment

    st = _styles()
    paras = METHOD_TEXT.get(lang, METHOD_TEXT["nl"])
    ws["A1"] = paras[0]
    ws["A1"].font = st["title"]
    ws.column_dimensions["A"].width = 110
    for i, text in enumerate(paras[1:], start=3):
        cell = ws.cell(row=i, column=1, value=text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[i].height = 15 * (len(text) // 100 + 1)


def _write_provenance_sheet(ws: Worksheet, prov: Provenance, lang: str) -> None:
    st = _styles()
    ws["A1"] = localised(lang, "herkomst")
    ws["A1"].font = st["title"]
    rows = [
        (localised(lang, "prov_source"), prov.source),
        (localised(lang, "prov_weight"), prov.weight),
        (localised(lang, "prov_version"), prov.version),
        (localised(lang, "prov_date"), prov.created),
        (localised(lang, "prov_command"), prov.command),
        *prov.extra,
    ]
    r = 3
    for key, value in rows:
        ws.cell(row=r, column=1, value=key).font = st["bold"]
        ws.cell(row=r, column=2, value=value)
        r += 1
    r += 1
    for j, head in enumerate((localised(lang, "role"), localised(lang, "file"), localised(lang, "sha256")), start=1):
        c = ws.cell(row=r, column=j, value=head)
        c.font = st["bold"]
        c.fill = st["head_fill"]
    for role, path, digest in prov.inputs:
        r += 1
        role_key = f"role_{role}"
        ws.cell(row=r, column=1, value=localised(lang, role_key) if role_key in TEXTS[lang] else role)
        ws.cell(row=r, column=2, value=str(path))
        ws.cell(row=r, column=3, value=digest)
    r += 2
    ws.cell(row=r, column=1, value=localised(lang, "prov_note")).font = st["small"]
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 68


