"""Table books: Excel (openpyxl), CSV/JSON for analysts, PNG forest plots.

:func:`write_table_book` takes already-computed :class:`sid.tables.TableResult`
objects and writes one workbook: a sheet per table (title, rows = groups,
columns %, 95%-BI ondergrens/bovengrens, n (ongewogen), significance marker and
remark; suppressed cells as ``x``; footnotes; a native bar chart with the CI as
error bars), a ``Toelichting`` sheet (method in plain language) and a
``Herkomst van de cijfers`` sheet (every input with its sha256, toolkit
version, date, the exact command). Dutch by default, English with
``lang="en"``. Exports hold aggregates only, never a respondent-level row.
Every file is written to a temporary file in the target folder and then
renamed (``os.replace``), so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import InputError
from sid.io import file_sha256
from sid.tables import TableResult

SUPPRESSED = "x"
NO_CI = "-"
FLAG = "(!)"
SIGNIFICANT = "*"

TEXTS: Mapping[str, Mapping[str, str]] = {
    "nl": {
        "percent": "%",
        "mean": "gemiddelde",
        "difference_percent": "verschil (%-punten)",
        "difference_mean": "verschil",
        "ci_low": "{level}%-BI ondergrens",
        "ci_high": "{level}%-BI bovengrens",
        "n": "n (ongewogen)",
        "p": "p-waarde",
        "marker": "sign.",
        "remark": "opm.",
        "notes": "Noten",
        "explain_x": "x: niet getoond, want de ongewogen basis is kleiner dan {below}.",
        "explain_flag": "(!): voorzichtig interpreteren, de ongewogen basis is {below} tot {flag}.",
        "explain_no_ci": "-: geen betrouwbaarheidsinterval te berekenen (geschat percentage 0 of "
                         "100, of te weinig variatie).",
        "explain_sig": "*: significant verschillend van {ref} (p < {alpha}).",
        "explain_sig_diff": "* bij het verschil: significante verandering tussen de golven "
                            "(p < {alpha}).",
        "reference": "referentiegroep",
        "toelichting": "Toelichting",
        "herkomst": "Herkomst van de cijfers",
        "chart_data": "Gegevens voor de grafiek",
        "plus": "+ fout",
        "minus": "- fout",
        "contents": "Inhoud",
        "table": "Tabel",
        "sheet": "Blad",
        "item": "onderdeel",
        "value": "waarde",
        "file": "bestand",
        "role": "rol",
        "sha256": "sha256",
        "prov_weight": "weegvariabele",
        "prov_version": "versie sid",
        "prov_date": "datum",
        "prov_command": "commando",
        "prov_source": "bron",
        "prov_note": "Controleer een bestand met: sha256sum BESTAND (Linux) of "
                     "certutil -hashfile BESTAND SHA256 (Windows).",
        "role_data": "gegevens",
        "role_codebook": "codeboek",
        "role_spec": "tabellenspecificatie",
        "role_weights": "gewichten",
    },
    "en": {
        "percent": "%",
        "mean": "mean",
        "difference_percent": "difference (%-points)",
        "difference_mean": "difference",
        "ci_low": "{level}% CI lower",
        "ci_high": "{level}% CI upper",
        "n": "n (unweighted)",
        "p": "p-value",
        "marker": "sig.",
        "remark": "note",
        "notes": "Notes",
        "explain_x": "x: not shown, the unweighted base is below {below}.",
        "explain_flag": "(!): interpret with care, the unweighted base is {below} to {flag}.",
        "explain_no_ci": "-: no confidence interval can be computed (estimated percentage 0 or "
                         "100, or too little variation).",
        "explain_sig": "*: significantly different from {ref} (p < {alpha}).",
        "explain_sig_diff": "* on the difference: significant change between waves "
                            "(p < {alpha}).",
        "reference": "reference group",
        "toelichting": "Method",
        "herkomst": "Provenance",
        "chart_data": "Chart data",
        "plus": "+ error",
        "minus": "- error",
        "contents": "Contents",
        "table": "Table",
        "sheet": "Sheet",
        "item": "item",
        "value": "value",
        "file": "file",
        "role": "role",
        "sha256": "sha256",
        "prov_weight": "weight variable",
        "prov_version": "sid version",
        "prov_date": "date",
        "prov_command": "command",
        "prov_source": "source",
        "prov_note": "Check a file with: sha256sum FILE (Linux) or "
                     "certutil -hashfile FILE SHA256 (Windows).",
        "role_data": "data",
        "role_codebook": "codebook",
        "role_spec": "table specification",
        "role_weights": "weights",
    },
}

METHOD_TEXT: Mapping[str, tuple[str, ...]] = {
    "nl": (
        "Hoe deze cijfers gemaakt zijn",
        "De cijfers komen uit de survey Samenleven in Diversiteit (SID). De steekproef is per "
        "herkomstgroep getrokken uit het Rijksregister, met ongeveer even veel interviews per "
        "groep. Kleine groepen zijn dus sterk oververtegenwoordigd; daarom is elk antwoord "
        "gewogen. Het gewicht staat op het blad 'Herkomst van de cijfers'.",
        "Een percentage is het gewogen aandeel van de personen in de basis van de tabel "
        "(bijvoorbeeld: personen aan het werk) die het antwoord gaven. Wie 'weet niet' of 'geen "
        "antwoord' gaf, telt niet mee in de basis, tenzij de voetnoot van de tabel iets anders "
        "zegt. Een gemiddelde is het gewogen gemiddelde van de geldige antwoorden.",
        "Het betrouwbaarheidsinterval (BI) geeft de onzekerheid door de steekproef weer: bij een "
        "95%-BI ligt de waarde in de hele bevolking met 95% zekerheid tussen de ondergrens en de "
        "bovengrens. Bij de berekening is rekening gehouden met de strata en clusters van de "
        "steekproef (Taylor-linearisatie, zoals het R-pakket survey).",
        "Een * betekent dat het cijfer van de groep significant verschilt van de "
        "referentiegroep (meestal Belgische herkomst), met een t-toets op het verschil die "
        "rekening houdt met de steekproeftrekking. Bij een vergelijking van twee golven "
        "betekent * dat de verandering significant is.",
        "Cijfers op minder dan 30 respondenten (ongewogen) worden niet getoond (x). Cijfers op "
        "30 tot 49 respondenten zijn gemarkeerd met (!): lees ze voorzichtig.",
        "De kolom n geeft het aantal respondenten (ongewogen) in de basis van elke groep. Het "
        "bestand bevat alleen tabellen, geen gegevens over individuele respondenten.",
    ),
    "en": (
        "How these figures were made",
        "The figures come from the survey Samenleven in Diversiteit (SID, Living Together in "
        "Diversity). The sample was drawn per origin group from the National Register, with "
        "about as many interviews per group. Small groups are therefore heavily "
        "over-represented, so every answer is weighted. The weight is named on the "
        "'Provenance' sheet.",
        "A percentage is the weighted share, among the people in the table's base (for "
        "example: people in work), of those who gave the answer. 'Don't know' and 'no answer' "
        "are left out of the base unless the table's footnote says otherwise. A mean is the "
        "weighted mean of the valid answers.",
        "The confidence interval (CI) shows the uncertainty due to sampling: with a 95% CI the "
        "population value lies between the lower and upper bound with 95% confidence. The "
        "strata and clusters of the sample are taken into account (Taylor linearisation, as in "
        "the R package survey).",
        "A * means that the group's figure differs significantly from the reference group "
        "(usually Belgian origin), by a design-based t-test on the difference. When two waves "
        "are compared, * means that the change is significant.",
        "Figures based on fewer than 30 respondents (unweighted) are not shown (x). Figures "
        "based on 30 to 49 respondents are marked (!): read them with care.",
        "Column n gives the number of respondents (unweighted) in each group's base. The file "
        "holds tables only, no data about individual respondents.",
    ),
}


def _t(lang: str, key: str, **kw: Any) -> str:
    text = TEXTS.get(lang, TEXTS["nl"])[key]
    return text.format(**kw) if kw else text


# --------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Provenance:
    """Where the figures come from: inputs (role, path, sha256), weight, version, command."""

    inputs: tuple[tuple[str, str, str], ...]
    weight: str
    version: str
    created: str
    command: str
    source: str = "Samenleven in Diversiteit (Vlaamse overheid, Agentschap Binnenlands Bestuur)"
    extra: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_files(cls, files: Sequence[tuple[str, str | os.PathLike[str]]], *, weight: str,
                   command: str, version: str | None = None,
                   created: str | None = None) -> Provenance:
        """Hash every ``(role, path)`` (role: data, codebook, spec, weights)."""
        if version is None:
            from sid import __version__ as version
        missing = [str(p) for _, p in files if not Path(p).is_file()]
        if missing:
            raise InputError("input files not found", where="provenance of the table book",
                             got=", ".join(missing), fix="pass existing files")
        inputs = tuple((role, str(p), file_sha256(p)) for role, p in files)
        created = created or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return cls(inputs=inputs, weight=weight, version=str(version), created=created,
                   command=command)


# --------------------------------------------------------------------------- atomic writes


def _atomic(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it into place
    (:func:`sid.io.atomic_output`); the folder is created when missing."""
    from sid.io import atomic_output

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        write(str(tmp))
    return path


# --------------------------------------------------------------------------- layout helpers


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


def _level_text(t: TableResult) -> str:
    level = float(t.frame["conf_level"].dropna().iloc[0]) if t.frame["conf_level"].notna().any() \
        else 0.95
    return f"{level * 100:g}"


def _number_format(decimals: int) -> str:
    return "0" if decimals <= 0 else "0." + "0" * decimals


def _ordered(values: pd.Series) -> list[Any]:
    """Unique values in order of first appearance."""
    return list(dict.fromkeys(values.tolist()))


def _panel_columns(kind: str, unit: str, lang: str, level: str) -> list[str]:
    if kind == "difference":
        head = _t(lang, "difference_percent" if unit == "percent" else "difference_mean")
        fourth = _t(lang, "p")
    else:
        head = _t(lang, "percent" if unit == "percent" else "mean")
        fourth = _t(lang, "n")
    return [head, _t(lang, "ci_low", level=level), _t(lang, "ci_high", level=level), fourth,
            _t(lang, "marker"), _t(lang, "remark")]


def table_footnotes(t: TableResult, lang: str) -> list[str]:
    """The table's own footnotes followed by explanations of the symbols used in it."""
    notes = list(t.footnotes)
    f = t.frame
    est = f[f["kind"] == "estimate"]
    alpha = f"{t.alpha:g}".replace(".", ",") if lang == "nl" else f"{t.alpha:g}"
    if est["suppressed"].any():
        notes.append(_t(lang, "explain_x", below=t.suppression.below))
    if est["flagged"].any():
        notes.append(_t(lang, "explain_flag", below=t.suppression.below,
                        flag=t.suppression.flag_below - 1))
    shown = f[~f["suppressed"].astype(bool)]
    if (shown["ci_low"].isna() | shown["ci_high"].isna()).any():
        notes.append(_t(lang, "explain_no_ci"))
    if t.reference_label and est["significant"].fillna(False).astype(bool).any():
        notes.append(_t(lang, "explain_sig", ref=t.reference_label, alpha=alpha))
    diff = f[f["kind"] == "difference"]
    if len(diff) and diff["significant"].fillna(False).astype(bool).any():
        notes.append(_t(lang, "explain_sig_diff", alpha=alpha))
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
    contents.title = _t(lang, "contents")
    _write_contents(contents, tables, names, lang, book_title)
    for t, name in zip(tables, names, strict=True):
        ws = wb.create_sheet(name)
        _write_table_sheet(ws, t, lang, chart=chart)
    _write_method_sheet(wb.create_sheet(_t(lang, "toelichting")), lang)
    _write_provenance_sheet(wb.create_sheet(_t(lang, "herkomst")), provenance, lang)
    for ws in wb.worksheets:  # print (and PDF) one sheet across one landscape page
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if ws.title in names else 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    return _atomic(path, wb.save)


def _styles():
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


def _write_contents(ws, tables: Sequence[TableResult], names: Sequence[str], lang: str,
                    book_title: str | None) -> None:
    st = _styles()
    ws["A1"] = book_title or "Samenleven in Diversiteit"
    ws["A1"].font = st["title"]
    ws["A3"] = _t(lang, "sheet")
    ws["B3"] = _t(lang, "table")
    for c in ("A3", "B3"):
        ws[c].font = st["bold"]
    for i, (t, name) in enumerate(zip(tables, names, strict=True), start=4):
        ws.cell(row=i, column=1, value=name)
        cell = ws.cell(row=i, column=2, value=t.title)
        cell.hyperlink = f"#'{name}'!A1"
        cell.style = "Hyperlink"
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 90


def _write_table_sheet(ws, t: TableResult, lang: str, *, chart: bool) -> None:
    from openpyxl.utils import get_column_letter

    st = _styles()
    f = t.frame
    level = _level_text(t)
    fmt = _number_format(t.decimals)
    panels = _ordered(f["panel"])
    sections = _ordered(f["section"])
    groups = _ordered(f["group"])
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
                label_cell.value = f"{group_label[g]} ({_t(lang, 'reference')})"
            layout.append((s, g, r))
            r += 1
    last_data = r - 1

    # footnotes
    r += 1
    ws.cell(row=r, column=1, value=_t(lang, "notes")).font = st["bold"]
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


def _indent():
    from openpyxl.styles import Alignment

    return Alignment(indent=1)


def _write_cells(ws, r: int, c0: int, rec: pd.Series, fmt: str, st: Mapping[str, Any],
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


def _add_chart(ws, t: TableResult, layout, sections, panels, panel_label, section_label,
               keyed, *, anchor_row: int, lang: str, multi_section: bool) -> None:
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
    ws.cell(row=top, column=c0, value=_t(lang, "chart_data")).font = _styles()["bold"]
    ws.cell(row=top + 1, column=c0, value=t.group_title)
    first = top + 2
    for i, g in enumerate(groups):
        ws.cell(row=first + i, column=c0, value=group_label[g])
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = t.title if len(t.title) <= 80 else t.title[:77] + "..."
    chart.y_axis.title = "%" if t.unit == "percent" else _t(lang, "mean")
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
        ws.cell(row=top + 1, column=col + 1, value=_t(lang, "plus"))
        ws.cell(row=top + 1, column=col + 2, value=_t(lang, "minus"))
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


def _write_method_sheet(ws, lang: str) -> None:
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


def _write_provenance_sheet(ws, prov: Provenance, lang: str) -> None:
    st = _styles()
    ws["A1"] = _t(lang, "herkomst")
    ws["A1"].font = st["title"]
    rows = [
        (_t(lang, "prov_source"), prov.source),
        (_t(lang, "prov_weight"), prov.weight),
        (_t(lang, "prov_version"), prov.version),
        (_t(lang, "prov_date"), prov.created),
        (_t(lang, "prov_command"), prov.command),
        *prov.extra,
    ]
    r = 3
    for key, value in rows:
        ws.cell(row=r, column=1, value=key).font = st["bold"]
        ws.cell(row=r, column=2, value=value)
        r += 1
    r += 1
    for j, head in enumerate((_t(lang, "role"), _t(lang, "file"), _t(lang, "sha256")), start=1):
        c = ws.cell(row=r, column=j, value=head)
        c.font = st["bold"]
        c.fill = st["head_fill"]
    for role, path, digest in prov.inputs:
        r += 1
        role_key = f"role_{role}"
        ws.cell(row=r, column=1, value=_t(lang, role_key) if role_key in TEXTS[lang] else role)
        ws.cell(row=r, column=2, value=str(path))
        ws.cell(row=r, column=3, value=digest)
    r += 2
    ws.cell(row=r, column=1, value=_t(lang, "prov_note")).font = st["small"]
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 68


# --------------------------------------------------------------------------- CSV / JSON / PNG


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


def write_table_files(tables: Sequence[TableResult], out_dir: str | os.PathLike[str], *,
                      fmt: str = "csv", provenance: Provenance | None = None) -> list[Path]:
    """One CSV or JSON file per table in ``out_dir`` (atomically); returns the paths."""
    if fmt not in ("csv", "json"):
        raise InputError(f"unknown format {fmt!r}", where="--format", fix="use csv or json")
    out_dir = Path(out_dir)
    paths = []
    for t, name in zip(tables, sheet_names(tables), strict=True):
        frame = analyst_frame(t)
        target = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            paths.append(_atomic(target, lambda p, fr=frame: fr.to_csv(p, index=False)))
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
                    "inputs": [{"role": r, "path": p, "sha256": h} for r, p, h in provenance.inputs],
                    "weight": provenance.weight, "version": provenance.version,
                    "created": provenance.created, "command": provenance.command,
                }
            text = json.dumps(payload, ensure_ascii=False, indent=2)
            paths.append(_atomic(target, lambda p, tx=text: Path(p).write_text(tx, "utf-8")))
    return paths


def write_forest_plots(tables: Sequence[TableResult], out_dir: str | os.PathLike[str], *,
                       lang: str = "nl") -> list[Path]:
    """A PNG forest plot per table (estimate and CI per group; suppressed groups left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    paths = []
    for t, name in zip(tables, sheet_names(tables), strict=True):
        f = t.frame[(t.frame["kind"] == "estimate")]
        labels, est, lo, hi, colors = [], [], [], [], []
        panels = _ordered(f["panel"])
        palette = ["#1f4e79", "#c55a11", "#548235", "#7030a0"]
        for s in _ordered(f["section"]):
            for g in _ordered(f["group"]):
                for pi, p in enumerate(panels):
                    rec = f[(f["section"] == s) & (f["group"] == g) & (f["panel"] == p)]
                    if rec.empty:
                        continue
                    rec = rec.iloc[0]
                    parts = [str(rec["section_label"])] if str(s) != "" else []
                    parts.append(str(rec["group_label"]))
                    if len(panels) > 1:
                        parts.append(str(rec["panel_label"]))
                    labels.append(" - ".join(parts) + (" (x)" if rec["suppressed"] else ""))
                    ok = not rec["suppressed"]
                    est.append(rec["estimate"] if ok else np.nan)
                    lo.append(rec["ci_low"] if ok else np.nan)
                    hi.append(rec["ci_high"] if ok else np.nan)
                    colors.append(palette[pi % len(palette)])
        y = np.arange(len(labels))[::-1]
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(labels) + 1.5))
        est_a, lo_a, hi_a = (np.asarray(v, dtype=float) for v in (est, lo, hi))
        ax.hlines(y, lo_a, hi_a, colors=colors, lw=2)
        ax.scatter(est_a, y, color=colors, zorder=3)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel("%" if t.unit == "percent" else _t(lang, "mean"))
        ax.set_title(t.title, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        target = out_dir / f"{name}.png"
        paths.append(_atomic(target, lambda p, fg=fig: fg.savefig(p, dpi=120, format="png")))
        plt.close(fig)
    return paths
