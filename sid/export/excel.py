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
from sid.export.texts import (
    FLAG,
    KORN_GRAUBARD,
    METHOD_TEXT,
    NO_CI,
    NOT_ASKED,
    SIGNIFICANT,
    SUPPRESSED,
    TEXTS,
    localised,
)
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


PANEL_WIDTHS = (7, 5.5, 7.5, 7.5, 6)
"""Least column widths of a panel: value, marks, CI lower, CI upper, n (or p); a column
is widened so that the longest word of its header fits (headers wrap between words)."""


def panel_widths(headers: Sequence[str]) -> list[float]:
    """Widths of a panel's columns: :data:`PANEL_WIDTHS`, or wider for a long header word
    (a bold header word of k characters fits in k + 1.5 units)."""
    return [max(w, 1.0 * max(len(x) for x in h.split()) + 1.5)
            for w, h in zip(PANEL_WIDTHS, headers, strict=True)]


def _panel_columns(kind: str, unit: str, lang: str, level: str) -> list[str]:
    """Headers of a panel: the value, its marks right beside it, the CI, then n (or p)."""
    if kind == "difference":
        head = localised(lang, "difference_percent" if unit == "percent" else "difference_mean")
        last = localised(lang, "p")
    else:
        head = localised(lang, "percent" if unit == "percent" else "mean")
        last = localised(lang, "n")
    return [head, localised(lang, "marker"), localised(lang, "ci_low", level=level),
            localised(lang, "ci_high", level=level), last]


def difference_decimals(values: Sequence[float], decimals: int, most: int = 3) -> int:
    """Decimals for changes and differences: at least the table's, more (up to ``most``)
    until no non-zero estimate or bound would print as 0 (e.g. -0.0117 needs 2)."""
    vals = np.abs(np.asarray([v for v in values if v is not None and np.isfinite(v)], float))
    vals = vals[vals > 0]
    d = max(decimals, 0)
    while d < most and vals.size and (np.round(vals, d) == 0).any():
        d += 1
    return d


def signed_format(decimals: int) -> str:
    """Excel number format with an explicit sign: +1.2, -1.2 (a real minus), 0.0."""
    body = _number_format(decimals)
    return f'"+"{body};"−"{body};{body}'


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
    if t.reference_label and est["significant"].eq(True).any():
        notes.append(localised(lang, "explain_sig", ref=t.reference_label, alpha=alpha))
    diff = f[f["kind"] == "difference"]
    if len(diff) and diff["significant"].eq(True).any():
        notes.append(localised(lang, "explain_sig_diff", alpha=alpha))
    return notes


# --------------------------------------------------------------------------- the workbook


def write_table_book(tables: Sequence[TableResult], path: str | os.PathLike[str], *,
                     provenance: Provenance, lang: str = "nl",
                     book_title: str | None = None, chart: bool = True) -> Path:
    """Write the Excel table book (atomically) and return its path.

    Sheets: a contents sheet, one sheet per table, ``Toelichting`` and
    ``Herkomst van de cijfers`` (and a hidden sheet with the charts' data). Values are
    written as numbers on the display scale of the table (percentages 0-100, or means)
    with the table's decimals as number format; suppressed estimates as ``x``, groups
    not surveyed in a wave as ``–``. Every sheet prints readable: fit to the page width
    only, header rows repeated, page breaks between blocks, header and footer.
    """
    from openpyxl import Workbook

    if lang not in TEXTS:
        raise InputError(f"unknown language {lang!r}", where="--lang", fix="use nl or en")
    if not tables:
        raise InputError("no tables to write", fix="the spec must define at least one table")
    names = sheet_names(tables)
    title = book_title or "Samenleven in Diversiteit"
    wb = Workbook()
    contents = wb.active
    contents.title = localised(lang, "contents")
    _write_contents(contents, tables, names, lang, title)
    from sid.export.excel_model import is_model_table, write_model_sheet

    chart_data = None
    for t, name in zip(tables, names, strict=True):
        ws = wb.create_sheet(name)
        if is_model_table(t):  # a model: table (sid.export.excel_model)
            write_model_sheet(ws, t, lang)  # type: ignore[arg-type]
            continue
        if chart and chart_data is None:
            chart_data = wb.create_sheet(localised(lang, "chart_sheet"))
            chart_data.sheet_state = "hidden"
        _write_table_sheet(ws, t, lang, chart_data=chart_data if chart else None)
    _write_method_sheet(wb.create_sheet(localised(lang, "toelichting")), lang)
    _write_provenance_sheet(wb.create_sheet(localised(lang, "herkomst")), provenance, lang)
    if chart_data is not None:  # keep the hidden sheet last
        wb.move_sheet(chart_data, offset=len(wb.sheetnames) - 1 - wb.index(chart_data))
    for ws in wb.worksheets:
        if ws.sheet_state == "visible":
            page_setup(ws, title, ws_title(ws, tables, names), provenance.source, lang)
    return write_atomically(path, wb.save)


def ws_title(ws: Worksheet, tables: Sequence[TableResult], names: Sequence[str]) -> str:
    """The title a sheet's page header shows: the table's title, or the sheet name."""
    by_name = dict(zip(names, tables, strict=True))
    return by_name[ws.title].title if ws.title in by_name else ws.title


def page_setup(ws: Worksheet, book_title: str, sheet_title: str, source: str,
               lang: str) -> None:
    """Print setup: A4 landscape, fit to the page width only (as many pages down as
    needed, so nothing is shrunk below its size), header with the book and sheet title,
    footer with the source and "p. 1/3"."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.horizontalCentered = False
    short = sheet_title if len(sheet_title) <= 90 else sheet_title[:87] + "..."
    ws.oddHeader.left.text = _hf(book_title)
    ws.oddHeader.left.size = 10
    ws.oddHeader.right.text = _hf(short)
    ws.oddHeader.right.size = 10
    ws.oddFooter.left.text = _hf(f"{localised(lang, 'prov_source').capitalize()}: {source}")
    ws.oddFooter.left.size = 10
    ws.oddFooter.right.text = localised(lang, "page_of")
    ws.oddFooter.right.size = 10


def _hf(text: str) -> str:
    """Text for a page header or footer: ``&`` doubled (it starts a code there)."""
    return text.replace("&", "&&")


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="808080")
    return {
        "title": Font(bold=True, size=13),
        "bold": Font(bold=True),
        "italic": Font(italic=True, size=10),
        "small": Font(size=10),
        "head_fill": PatternFill("solid", fgColor="DDEBF7"),
        "wrap": Alignment(wrap_text=True, vertical="center", horizontal="center"),
        "note": Alignment(wrap_text=True, vertical="top"),
        "right": Alignment(horizontal="right"),
        "left": Alignment(horizontal="left"),
        "center": Alignment(horizontal="center"),
        "bottom": Border(bottom=thin),
    }


def _write_contents(ws: Worksheet, tables: Sequence[TableResult], names: Sequence[str], lang: str,
                    book_title: str) -> None:
    st = _styles()
    ws["A1"] = book_title
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
    ws.print_title_rows = "3:3"


NOTE_WIDTH = 115
"""Width (in column units) the footnotes wrap to at least, so a narrow table's notes stay
short enough to fit on its page (a landscape A4 page holds about 130 units at full size)."""

ROWS_PER_PAGE = 24
LINES_PER_PAGE = 28
"""Rows of text (table rows and note lines) on a landscape A4 page at full size."""
"""Table rows that fit on a landscape A4 page under the repeated header (at full size)."""


def _write_table_sheet(ws: Worksheet, t: TableResult, lang: str, *,
                       chart_data: Worksheet | None) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.pagebreak import Break

    st = _styles()
    f = t.frame
    level = _level_text(t)
    panels = ordered_unique(f["panel"])
    sections = ordered_unique(f["section"])
    groups = ordered_unique(f["group"])
    panel_label = dict(zip(f["panel"], f["panel_label"], strict=True))
    panel_kind = dict(zip(f["panel"], f["kind"], strict=True))
    section_label = dict(zip(f["section"], f["section_label"], strict=True))
    group_label = dict(zip(f["group"], f["group_label"], strict=True))
    ncol = len(PANEL_WIDTHS)
    formats = {p: (signed_format(difference_decimals(
        f.loc[f["panel"] == p, ["estimate", "ci_low", "ci_high"]].to_numpy().ravel(),
        t.decimals)) if panel_kind[p] == "difference" else _number_format(t.decimals))
        for p in panels}
    last_col = 1 + ncol * len(panels)

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

    keyed = _records(f)
    referenced = {(s, g) for (s, _p, g), rec in keyed.items() if _true(rec["is_reference"])}
    r = head2 + 1
    first_data = r
    layout: list[tuple[Any, Any, int]] = []  # (section, group, sheet row)
    multi_section = len(sections) > 1 or str(sections[0]) != ""
    on_page = 2  # the title rows share the first page
    for s in sections:
        rows_here = [g for g in groups if any((s, p, g) in keyed for p in panels)]
        block = len(rows_here) + (1 if multi_section else 0)
        if multi_section and on_page > 0 and on_page + block > ROWS_PER_PAGE:
            ws.row_breaks.append(Break(id=r - 1))  # a block is never split over two pages
            on_page = 0
        on_page += block
        if multi_section:
            ws.cell(row=r, column=1, value=section_label[s]).font = st["bold"]
            r += 1
        for g in rows_here:
            label_cell = ws.cell(row=r, column=1, value=group_label[g])
            if multi_section:
                label_cell.alignment = _indent()
            for pi, p in enumerate(panels):
                c0 = 2 + pi * ncol
                if (s, p, g) not in keyed:
                    _write_not_asked(ws, r, c0, st)
                    continue
                _write_cells(ws, r, c0, keyed[(s, p, g)], formats[p], st)
            if (s, g) in referenced:
                label_cell.value = f"{group_label[g]} ({localised(lang, 'reference')})"
            layout.append((s, g, r))
            r += 1
    last_data = r - 1

    # footnotes: wrapped over the table's width, so they never widen the printed page
    r += 1
    ws.cell(row=r, column=1, value=localised(lang, "notes")).font = st["bold"]
    widths = []
    for pi, p in enumerate(panels):
        c0 = 2 + pi * ncol
        pw = panel_widths(_panel_columns(panel_kind[p], t.unit, lang, level))
        widths += pw
        for j, width in enumerate(pw):
            ws.column_dimensions[get_column_letter(c0 + j)].width = width
    label_width = max(16, min(40, max(len(str(c.value or "")) for c in
                                      ws["A"][head2:last_data]) + 1))
    ws.cell(row=head2, column=1).alignment = _wrap_left()
    ws.column_dimensions["A"].width = label_width
    line = label_width + sum(widths)
    note_col = last_col
    if line < NOTE_WIDTH:  # a narrow table: notes run over an empty column to its right
        note_col = last_col + 1
        ws.column_dimensions[get_column_letter(note_col)].width = NOTE_WIDTH - line
        line = NOTE_WIDTH
    notes = table_footnotes(t, lang)
    note_lines = 2 + sum(len(n) // int(line * 1.2) + 1 for n in notes)
    if multi_section and on_page + note_lines > LINES_PER_PAGE:
        # the notes would spill a few lines onto a page of their own: start them there
        ws.row_breaks.append(Break(id=r - 1))
    for note in notes:
        r += 1
        cell = ws.cell(row=r, column=1, value=note)
        cell.font = st["small"]
        cell.alignment = st["note"]
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=note_col)
        ws.row_dimensions[r].height = 13.5 * (len(note) // int(line * 1.2) + 1)
    foot_end = r

    ws.freeze_panes = ws.cell(row=head2 + 1, column=2)
    ws.sheet_view.showGridLines = False
    ws.print_title_rows = f"{head1}:{head2}"
    # the printed page is the table and its notes; the chart is for the screen (the
    # forest plots of `sid tables --plots` are the printable figures)
    ws.print_area = f"A1:{get_column_letter(note_col)}{foot_end}"

    if chart_data is not None and first_data <= last_data:
        est_panels = [p for p in panels if panel_kind[p] == "estimate"]
        _add_chart(ws, chart_data, t, layout, sections, est_panels, panel_label,
                   section_label, keyed, anchor_row=foot_end + 2, lang=lang,
                   multi_section=multi_section, width_cm=min(25.0, 0.2 * line))


def _records(f: pd.DataFrame) -> dict[tuple[Any, Any, Any], dict[str, Any]]:
    """The rows of a table frame by (section, panel, group), as dicts: one dict lookup per
    cell instead of a pandas ``.loc`` (the book's rows are unique by these three)."""
    return {(rec["section"], rec["panel"], rec["group"]): rec for rec in f.to_dict("records")}


def _true(value: Any) -> bool:
    """A flag of a table frame as pandas' ``any()`` reads it: missing is not true."""
    return not pd.isna(value) and bool(value)


def _wrap_left() -> Alignment:
    from openpyxl.styles import Alignment

    return Alignment(wrap_text=True, vertical="bottom", horizontal="left")


def _indent() -> Alignment:
    from openpyxl.styles import Alignment

    return Alignment(indent=1)


def _write_not_asked(ws: Worksheet, r: int, c0: int, st: Mapping[str, Any]) -> None:
    """A group that was not in a wave's sample: a dash (explained in a footnote)."""
    for j in (0, 2, 3, 4):
        cell = ws.cell(row=r, column=c0 + j, value=NOT_ASKED)
        cell.alignment = st["right"]


def cell_marks(rec: Mapping[str, Any]) -> str:
    """The marks beside a value: ``*`` significant, ``(!)`` small base, ``b`` Korn-Graubard."""
    if bool(rec["suppressed"]):
        return ""
    marks = []
    sig = rec["significant"]
    if sig is not None and not pd.isna(sig) and bool(sig):
        marks.append(SIGNIFICANT)
    if bool(rec["flagged"]):
        marks.append(FLAG)
    if rec["kind"] == "estimate" and rec["ci_method"] == "beta":
        marks.append(KORN_GRAUBARD)
    return " ".join(marks)


def _write_cells(ws: Worksheet, r: int, c0: int, rec: Mapping[str, Any], fmt: str,
                 st: Mapping[str, Any]) -> None:
    diff = rec["kind"] == "difference"
    suppressed = bool(rec["suppressed"])
    for j, v in zip((0, 2, 3), (rec["estimate"], rec["ci_low"], rec["ci_high"]), strict=True):
        cell = ws.cell(row=r, column=c0 + j)
        if suppressed or v is None or not np.isfinite(float(v)):
            cell.value = SUPPRESSED if suppressed else NO_CI
            cell.alignment = st["right"]
        else:
            cell.value = float(v)
            cell.number_format = fmt
    marks = cell_marks(rec)
    if marks:
        ws.cell(row=r, column=c0 + 1, value=marks).alignment = st["left"]
    last = ws.cell(row=r, column=c0 + 4)
    if diff:
        p = rec["p_value"]
        if not suppressed and p is not None and np.isfinite(float(p)):
            last.value = float(p)
            last.number_format = "0.000"
        elif suppressed:
            last.value = SUPPRESSED
            last.alignment = st["right"]
    else:
        last.value = int(rec["n"])
        last.number_format = "#,##0"


def _add_chart(ws: Worksheet, data_ws: Worksheet, t: TableResult,
               layout: Sequence[tuple[Any, Any, int]], sections: Sequence[Any],
               panels: Sequence[Any], panel_label: Mapping[Any, Any],
               section_label: Mapping[Any, Any],
               keyed: Mapping[tuple[Any, Any, Any], Mapping[str, Any]], *, anchor_row: int,
               lang: str, multi_section: bool, width_cm: float) -> None:
    """A clustered bar chart: one category per group, one series per (section, panel),
    CI as custom error bars, the reference group named in the category. Its data sit on
    the hidden chart-data sheet (aggregates only)."""
    from openpyxl.chart import BarChart, Reference, Series
    from openpyxl.chart.data_source import NumDataSource, NumRef
    from openpyxl.chart.error_bar import ErrorBars

    groups = list(dict.fromkeys(g for _, g, _ in layout))
    frame = t.frame
    group_label = dict(zip(frame["group"], frame["group_label"], strict=False))
    refs = set(frame.loc[frame["is_reference"].astype(bool), "group"])
    series_keys = [(s, p) for s in sections for p in panels]
    if not series_keys:
        return
    top = data_ws.max_row + 2 if data_ws.max_row > 1 else 1
    data_ws.cell(row=top, column=1, value=f"{ws.title}: {t.title}")
    data_ws.cell(row=top + 1, column=1, value=t.group_title)
    first = top + 2
    for i, g in enumerate(groups):
        name = group_label[g] + (f" ({localised(lang, 'reference')})" if g in refs else "")
        data_ws.cell(row=first + i, column=1, value=name)
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
    chart.width = width_cm
    chart.visible_cells_only = False
    last = first + len(groups) - 1
    cats = Reference(data_ws, min_col=1, min_row=first, max_row=last)
    for k, (s, p) in enumerate(series_keys):
        col = 2 + 3 * k
        name_parts = []
        if multi_section:
            name_parts.append(str(section_label[s]))
        if len(panels) > 1 or not multi_section:
            name_parts.append(str(panel_label[p]))
        data_ws.cell(row=top + 1, column=col, value=" - ".join(name_parts))
        data_ws.cell(row=top + 1, column=col + 1, value=localised(lang, "plus"))
        data_ws.cell(row=top + 1, column=col + 2, value=localised(lang, "minus"))
        for i, g in enumerate(groups):
            rec = keyed.get((s, p, g))
            if rec is None:
                continue
            if bool(rec["suppressed"]) or not np.isfinite(float(rec["estimate"])):
                continue
            data_ws.cell(row=first + i, column=col, value=float(rec["estimate"]))
            data_ws.cell(row=first + i, column=col + 1,
                         value=float(rec["ci_high"] - rec["estimate"]))
            data_ws.cell(row=first + i, column=col + 2,
                         value=float(rec["estimate"] - rec["ci_low"]))
        values = Reference(data_ws, min_col=col, min_row=top + 1, max_row=last)
        series = Series(values, title_from_data=True)
        plus = NumDataSource(numRef=NumRef(f=_ref(data_ws.title, col + 1, first, last)))
        minus = NumDataSource(numRef=NumRef(f=_ref(data_ws.title, col + 2, first, last)))
        series.errBars = ErrorBars(errDir="y", errBarType="both", errValType="cust",
                                   noEndCap=False, plus=plus, minus=minus)
        chart.series.append(series)
    chart.set_categories(cats)
    if len(series_keys) == 1:
        chart.legend = None
    ws.add_chart(chart, f"A{anchor_row}")
    # the caption under the chart (on screen; the printed page holds the table and notes)
    from sid.export.plots import plot_caption

    caption = ws.cell(row=anchor_row + 19, column=1,
                      value=plot_caption(t, lang, _source_note(t)))
    caption.font = _styles()["italic"]


def _source_note(t: TableResult) -> str | None:
    """The source as the table's footnote names it (without the leading word)."""
    note = next((n for n in t.footnotes if n.startswith(("Bron:", "Source:"))), None)
    return note.split(":", 1)[1].strip().rstrip(".") if note else None


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
    """Every input with its role, path (relative), file sha256 and, for data files, the
    content sha256; the weight in words and as variable; version, date and command."""
    st = _styles()
    ws["A1"] = localised(lang, "herkomst")
    ws["A1"].font = st["title"]
    rows = [
        (localised(lang, "prov_source"), prov.source),
        (localised(lang, "prov_weight_text"), prov.weight_text or prov.weight),
        (localised(lang, "prov_weight"), prov.weight),
        (localised(lang, "prov_version"), prov.version),
        (localised(lang, "prov_date"), prov.created),
        (localised(lang, "prov_command"), prov.command),
        *prov.extra,
    ]
    r = 3
    for key, value in rows:
        label = ws.cell(row=r, column=1, value=key)
        label.font = st["bold"]
        label.alignment = st["note"]
        cell = ws.cell(row=r, column=2, value=value)
        cell.alignment = st["note"]
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=3)
        ws.row_dimensions[r].height = 15 * (len(str(value)) // 95 + 1)
        r += 1
    r += 1
    head_row = r
    heads = (localised(lang, "role"), localised(lang, "file"), localised(lang, "sha256"))
    for j, head in enumerate(heads, start=1):
        c = ws.cell(row=r, column=j, value=head)
        c.font = st["bold"]
        c.fill = st["head_fill"]
    content = dict(prov.content)
    small = _styles()["small"]
    for role, path, digest in prov.inputs:
        r += 1
        role_key = f"role_{role}"
        ws.cell(row=r, column=1, value=localised(lang, role_key) if role_key in TEXTS[lang] else role)
        ws.cell(row=r, column=2, value=str(path)).alignment = st["note"]
        ws.cell(row=r, column=3, value=digest).font = small
        if path in content:  # the data's content hash on the line below
            r += 1
            ws.cell(row=r, column=2, value=localised(lang, "content_sha256")).font = small
            ws.cell(row=r, column=3, value=content[path]).font = small
    r += 2
    for key in ("prov_note", "prov_content_note"):
        cell = ws.cell(row=r, column=1, value=localised(lang, key))
        cell.font = st["small"]
        cell.alignment = st["note"]
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
        ws.row_dimensions[r].height = 28
        r += 1
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 46
    ws.column_dimensions["C"].width = 62
    ws.print_title_rows = f"{head_row}:{head_row}"
