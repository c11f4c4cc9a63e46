"""The Dutch planning book: an Excel workbook that answers "how many interviews
per origin group does the next wave need?" (``sid plan WAVE ... --out plan.xlsx``).

Sheets: ``Overzicht`` (per group: population, interviews now, response and
eligibility rate, median deff, net/gross/drawn n per target), ``Precisie``
(the precision the wave achieved per group and indicator), ``Benodigde
steekproef`` (every requirement row), ``Allocatie`` (budget scenarios with the
half-width each group gets), ``Grafiek`` (a native line chart of the CI
half-width against n per group), ``Wat als`` (assumed new groups, when given),
``Toelichting`` (the method in plain Dutch) and ``Herkomst van de cijfers``
(inputs with sha256, settings, version, date, command). Export layer: it takes
the frames of :mod:`sid.plan` and writes, nothing more.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sid.io import atomic_output, file_sha256
from sid.plan.whatif import WhatIf

SCENARIO_LABELS = {
    "equal": "Gelijk verdeeld over de groepen",
    "proportional": "Evenredig met de populatie",
    "minimax": "Kleinste grootste foutenmarge",
    "cheapest": "Goedkoopst dat elke groep de foutenmarge haalt",
}
TARGET_LABELS = {"moe": "foutenmarge", "power": "verschil met referentiegroep"}
PCT = "0.0"        # percentage points and percentages on the 0-100 scale
RATE = "0.0%"      # rates stored as fractions
COUNT = "#,##0"
DEFF = "0.00"
HEAD_FILL = "DDEBF7"
PALETTE = ("1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F",
           "BCBD22", "17BECF")


@dataclass(frozen=True)
class PlanBook:
    """Everything the planning book shows (frames of :mod:`sid.plan`, labels, settings)."""

    title: str
    precision: pd.DataFrame
    requirements: pd.DataFrame
    summary: pd.DataFrame
    allocation: pd.DataFrame
    curve: pd.DataFrame
    group_labels: Mapping[float, str]
    settings: tuple[tuple[str, str], ...]
    inputs: tuple[tuple[str, str], ...]
    command: str
    version: str
    moe: float
    conf_level: float = 0.95
    what_ifs: tuple[WhatIf, ...] = field(default=())
    reference_label: str | None = None


def _nl(value: float, decimals: int = 1) -> str:
    """A number as Dutch text: decimal comma."""
    return f"{value:.{decimals}f}".replace(".", ",")


def _style_header(ws: Any, row: int, ncols: int, col0: int = 1) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    for j in range(col0, col0 + ncols):
        c = ws.cell(row=row, column=j)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor=HEAD_FILL)
        c.alignment = Alignment(wrap_text=True, vertical="top")


def _title(ws: Any, title: str, subtitle: str | None = None) -> int:
    from openpyxl.styles import Font

    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=14)
    if subtitle:
        ws.cell(row=2, column=1, value=subtitle).font = Font(italic=True)
    return 4


def _table(ws: Any, row: int, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           formats: Sequence[str | None], widths: Sequence[float]) -> int:
    """Write a header and rows from ``row``; returns the next free row."""
    from openpyxl.utils import get_column_letter

    for j, h in enumerate(headers, start=1):
        ws.cell(row=row, column=j, value=h)
    _style_header(ws, row, len(headers))
    ws.row_dimensions[row].height = 60
    for i, values in enumerate(rows, start=1):
        for j, (v, fmt) in enumerate(zip(values, formats, strict=True), start=1):
            if isinstance(v, (float, np.floating)) and not np.isfinite(v):
                v = None
            elif isinstance(v, np.generic):
                v = v.item()
            cell = ws.cell(row=row + i, column=j, value=v)
            if fmt and v is not None and not isinstance(v, str):
                cell.number_format = fmt
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    return row + len(rows) + 2


def _notes(ws: Any, row: int, notes: Sequence[str]) -> int:
    from openpyxl.styles import Font

    for k, note in enumerate(notes):
        ws.cell(row=row + k, column=1, value=note).font = Font(italic=True, size=9)
    return row + len(notes) + 1


def _label(book: PlanBook, g: float) -> str:
    return book.group_labels.get(float(g), f"{g:g}")


def _overview(ws: Any, book: PlanBook) -> None:
    moe_pp = _nl(book.moe * 100)
    level = f"{book.conf_level * 100:g}"
    row = _title(ws, book.title, f"Per herkomstgroep: hoeveel interviews zijn nodig voor een "
                                 f"foutenmarge van ±{moe_pp} procentpunt ({level}%-betrouwbaarheid)?")
    s = book.summary
    moe_rows = s[s["target"] == "moe"].set_index("group")
    power_rows = s[s["target"] == "power"].set_index("group")
    headers = ["Herkomstgroep", "Populatie", "Interviews nu", "Responsgraad", "Geschiktheid",
               "Mediane deff", f"Netto n voor ±{moe_pp} pp (p = 50%)", "Bruto n (p = 50%)",
               "Te trekken adressen (p = 50%)", "Netto n strengste indicator",
               "Bruto n strengste indicator", "Strengste indicator"]
    formats: list[str | None] = [None, COUNT, COUNT, RATE, RATE, DEFF, COUNT, COUNT, COUNT, COUNT,
                                 COUNT, None]
    widths = [18, 12, 11, 13, 13, 10, 14, 12, 13, 13, 13, 48]
    names = dict(zip(book.precision["indicator"], book.precision["label"], strict=False))
    has_power = len(power_rows) > 0
    if has_power:
        headers += ["Netto n voor het verschil (p = 50%)", "Bruto n voor het verschil (p = 50%)",
                    "Netto n verschil strengste indicator"]
        formats += [COUNT, COUNT, COUNT]
        widths += [14, 14, 14]
    rows = []
    for g, r in moe_rows.iterrows():
        line = [_label(book, g), r["population"], r["n_now"], r["response_rate"],
                r["eligibility_rate"], r["deff_median"], r["n_net_p50"], r["n_gross_p50"],
                r["n_draw_p50"], r["n_net_max"], r["n_gross_max"],
                names.get(r["binding_indicator"], r["binding_indicator"])]
        if has_power:
            if g in power_rows.index:
                pr = power_rows.loc[g]
                line += [pr["n_net_p50"], pr["n_gross_p50"], pr["n_net_max"]]
            else:
                line += ["referentiegroep", None, None]
        rows.append([None if isinstance(v, (int, np.integer)) and v < 0 else v for v in line])
    first = row + 1
    row = _table(ws, row, headers, rows, formats, widths)
    from openpyxl.styles import Alignment

    for i in range(first, first + len(rows)):  # the indicator's name wraps onto two lines
        ws.cell(row=i, column=12).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[i].height = 30
    ws.freeze_panes = ws.cell(row=5, column=2)
    notes = [
        "Netto n = interviews; bruto n = personen uit de steekproef die in aanmerking komen "
        "= netto n / responsgraad; te trekken adressen = bruto n / geschiktheid.",
        "p = 50% is het ongunstigste geval (grootste foutenmarge), met de mediane deff van de groep.",
        "Strengste indicator: de indicator van de tabellenset die in de groep de meeste interviews "
        "vraagt (geschatte p en deff van de vorige golf; kleine basis, bv. alleen werkenden, telt mee).",
    ]
    if has_power:
        ref = book.reference_label or "de referentiegroep"
        notes.append(f"Verschil: netto n per groep om een verschil met {ref} te ontdekken "
                     f"(power.prop.test in R, maal de deff van de groep).")
    _notes(ws, row, notes)


def _precision(ws: Any, book: PlanBook) -> None:
    level = f"{book.conf_level * 100:g}"
    row = _title(ws, "Bereikte precisie per herkomstgroep en indicator",
                 "Schattingen van de gewogen golf; proporties in %, fouten in procentpunt")
    headers = ["Indicator", "Omschrijving", "Herkomstgroep", "Schatting", "Standaardfout",
               f"Halve breedte {level}%-BI", "n (ongewogen)", "Interviews in de groep",
               "Aandeel in de basis", "deff (totaal)", "deff_w (weging, Kish)", "Effectieve n"]
    rows, fmts_rows = [], []
    for r in book.precision.itertuples():
        prop = r.stat == "proportion"
        scale = 100.0 if prop else 1.0
        rows.append([r.indicator, r.label, _label(book, r.group), r.estimate * scale, r.se * scale,
                     r.half_width * scale, r.n, r.n_group, r.base_share, r.deff, r.deff_w, r.n_eff])
        fmts_rows.append(PCT if prop else "0.00")
    formats: list[str | None] = [None, None, None, PCT, PCT, PCT, COUNT, COUNT, RATE, DEFF, DEFF,
                                 "#,##0.0"]
    end = _table(ws, row, headers, rows, formats, [26, 48, 16, 10, 12, 12, 10, 11, 10, 9, 10, 10])
    for i, fmt in enumerate(fmts_rows, start=row + 1):  # means: two decimals, not %
        for j in (4, 5, 6):
            ws.cell(row=i, column=j).number_format = fmt
    ws.freeze_panes = ws.cell(row=row + 1, column=4)
    _notes(ws, end, [
        f"Halve breedte = z x standaardfout (normale benadering, {level}%), de grootheid die de "
        "steekproefformule stuurt. Gemiddelden (bv. vertrouwen 0-10) in hun eigen eenheid.",
        "deff (totaal): design-effect van R's survey (deff = TRUE): variantie onder het design "
        "gedeeld door die onder een enkelvoudige aselecte steekproef van dezelfde omvang.",
        "deff_w (Kish): het deel door ongelijke gewichten, n x som(w²) / som(w)². "
        "Effectieve n = n / deff.",
    ])


def _requirements(ws: Any, book: PlanBook) -> None:
    row = _title(ws, "Benodigde steekproef per doel, herkomstgroep en indicator",
                 "Netto n in de basis van de indicator, omgerekend naar interviews en adressen")
    headers = ["Herkomstgroep", "Doel", "Indicator", "p", "p2 (verschil)", "deff",
               "Netto n in de basis", "Aandeel in de basis", "Netto n (interviews)",
               "Responsgraad", "Bruto n", "Geschiktheid", "Te trekken adressen"]
    rows = []
    for r in book.requirements.itertuples():
        rows.append([_label(book, r.group), TARGET_LABELS.get(r.target, r.target),
                     r.indicator or "alle respondenten, p = 50%", r.p * 100,
                     r.p2 * 100 if np.isfinite(r.p2) else None, r.deff, r.n_base, r.base_share,
                     r.n_net, r.response_rate, r.n_gross, r.eligibility_rate, r.n_draw])
    end = _table(ws, row, headers, rows,
                 [None, None, None, PCT, PCT, DEFF, COUNT, RATE, COUNT, RATE, COUNT, RATE, COUNT],
                 [16, 24, 30, 8, 10, 8, 11, 10, 12, 11, 10, 11, 12])
    ws.freeze_panes = ws.cell(row=row + 1, column=4)
    _notes(ws, end, ["p en p2 in %. Een indicator met p = 0% of 100% of zonder deff in een groep "
                     "staat hier niet (er is niets te plannen)."])


def _allocation(ws: Any, book: PlanBook) -> None:
    a = book.allocation
    budget = int(a[a["scenario"] != "cheapest"].groupby("scenario")["n_net"].sum().max()) \
        if (a["scenario"] != "cheapest").any() else int(a["n_net"].sum())
    row = _title(ws, f"Verdeling van {budget:,} interviews over de herkomstgroepen".replace(",", "."),
                 "Per scenario: interviews per groep en de foutenmarge (p = 50%) die dat geeft")
    headers = ["Scenario", "Herkomstgroep", "Netto n", "Aandeel", "deff", "Populatie",
               "Halve breedte (procentpunt)", "Haalt de foutenmarge", "Bruto n"]
    rows = []
    for r in a.itertuples():
        rows.append([SCENARIO_LABELS.get(r.scenario, r.scenario), _label(book, r.group), r.n_net,
                     r.share, r.deff, r.population, r.half_width * 100,
                     "ja" if r.meets_target else "nee", r.n_gross if r.n_gross >= 0 else None])
    end = _table(ws, row, headers, rows, [None, None, COUNT, RATE, DEFF, COUNT, "0.00", None, COUNT],
                 [44, 16, 10, 9, 8, 12, 13, 12, 10])
    ws.freeze_panes = ws.cell(row=row + 1, column=3)
    totals = a.groupby("scenario", sort=False).agg(n=("n_net", "sum"), worst=("half_width", "max"))
    lines = [f"{SCENARIO_LABELS.get(s, s)}: {int(t.n):,} interviews, grootste foutenmarge "
             f"±{_nl(t.worst * 100, 2)} procentpunt.".replace(",", ".", 1) for s, t in totals.iterrows()]
    _notes(ws, end, [*lines, "Goedkoopst: het kleinste aantal interviews waarmee elke groep de "
                     "foutenmarge haalt; dat totaal kan boven of onder het budget liggen."])


def _chart(ws: Any, book: PlanBook) -> None:
    from openpyxl.chart import Reference, ScatterChart, Series

    level = f"{book.conf_level * 100:g}"
    row = _title(ws, f"Halve breedte van het {level}%-betrouwbaarheidsinterval naar aantal interviews",
                 "Per herkomstgroep, p = 50% en de mediane deff van de groep (procentpunt)")
    curve = book.curve
    groups = list(dict.fromkeys(curve["group"].tolist()))
    sizes = sorted(curve["n"].unique())
    wide = curve.pivot(index="n", columns="group", values="half_width").reindex(sizes)[groups]
    headers = ["Netto n", *[_label(book, g) for g in groups], "Doel"]
    rows = [[int(n), *(wide.loc[n].to_numpy(dtype=float) * 100), book.moe * 100] for n in sizes]
    _table(ws, row, headers, rows, [COUNT, *["0.00"] * len(groups), "0.00"],
           [10, *[12] * len(groups), 8])
    first, last = row + 1, row + len(sizes)
    chart = ScatterChart()
    chart.title = "Foutenmarge naar aantal interviews per groep"
    chart.style = 2
    chart.x_axis.title = "Netto interviews per groep"
    chart.y_axis.title = f"Halve breedte {level}%-BI (procentpunt)"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height, chart.width = 12, 24
    chart.x_axis.scaling.min = 0
    chart.x_axis.scaling.max = float(sizes[-1])
    chart.y_axis.scaling.min = 0
    xref = Reference(ws, min_col=1, min_row=first, max_row=last)
    for j in range(len(groups) + 1):
        yref = Reference(ws, min_col=2 + j, min_row=row, max_row=last)
        s = Series(yref, xref, title_from_data=True)
        s.marker.symbol = "none"
        s.smooth = True
        s.graphicalProperties.line.solidFill = PALETTE[j % len(PALETTE)] if j < len(groups) \
            else "000000"
        s.graphicalProperties.line.width = 22000
        if j == len(groups):
            s.graphicalProperties.line.dashStyle = "dash"
        chart.series.append(s)
    ws.add_chart(chart, f"{chr(ord('A') + len(groups) + 3)}4")


def _what_if(ws: Any, book: PlanBook) -> None:
    row = _title(ws, "Wat als: een groep die nog niet bevraagd werd",
                 "Aangenomen p, deff, responsgraad en geschiktheid (geen metingen)")
    headers = ["Groep", "p (aangenomen)", "deff (aangenomen)", "Responsgraad (aangenomen)",
               "Geschiktheid (aangenomen)", "Populatie", "Foutenmarge (procentpunt)", "Netto n",
               "Bruto n", "Te trekken adressen", "Gepland netto n", "Halve breedte bij gepland n"]
    rows = [[w.name, w.p * 100, w.deff, w.response_rate, w.eligibility_rate, w.population,
             w.moe * 100, w.n_net, w.n_gross, w.n_draw, w.n_planned, w.half_width_planned * 100]
            for w in book.what_ifs]
    _table(ws, row, headers, rows,
           [None, PCT, DEFF, RATE, RATE, COUNT, "0.0", COUNT, COUNT, COUNT, COUNT, "0.00"],
           [18, 10, 10, 12, 12, 12, 12, 10, 10, 12, 11, 13])


METHOD_TEXT = (
    ("Vraag", "Hoeveel mensen van elke herkomstgroep moet de volgende golf bevragen, en hoeveel "
              "adressen moeten daarvoor uit het register getrokken worden?"),
    ("Foutenmarge", "Netto n0 = deff x z² x p(1-p) / e², met e de gewenste halve breedte van het "
                    "betrouwbaarheidsinterval en z het (1-α/2)-kwantiel van de normale verdeling. "
                    "Met de populatie N van de groep: n = n0 / (1 + (n0-1)/N). Afgerond naar boven."),
    ("Verschil", "Netto n per groep om een verschil p1 tegenover p2 met de referentiegroep te "
                 "ontdekken: de normale benadering van R's power.prop.test (tweezijdig), maal de "
                 "deff, naar boven afgerond. p1 is de schatting in de referentiegroep, p2 ligt "
                 "het gevraagde verschil dichter bij 50%."),
    ("Bruto en adressen", "Bruto n = netto n / responsgraad (naar boven afgerond); te trekken "
                          "adressen = bruto n / geschiktheid. Responsgraad = respondenten / "
                          "personen die in aanmerking komen, ongewogen, uit de bruto steekproef."),
    ("deff", "Het design-effect van de vorige golf (clustering per gemeente, stratificatie en "
             "weging) per groep en indicator; voor p = 50% de mediaan over de indicatoren."),
    ("Basis", "Een indicator over een deel van de groep (bv. werkenden) vraagt n in die basis; "
              "gedeeld door het aandeel van de interviews dat in de basis valt geeft dat het "
              "aantal interviews."),
    ("Allocatie", "Gelijk: het budget gelijk verdeeld. Evenredig: naar populatie. Kleinste "
                  "grootste foutenmarge: elk volgend interview gaat naar de groep met de breedste "
                  "marge. Goedkoopst: het minimum waarmee elke groep de marge haalt."),
    ("Rekenwijze", "De formules volgen R tot op het gehele getal (qnorm, pnorm en uniroot "
                   "nagebouwd); zie docs/plan.md."),
)


def _method(ws: Any) -> None:
    from openpyxl.styles import Alignment, Font

    ws.cell(row=1, column=1, value="Toelichting").font = Font(bold=True, size=14)
    for i, (key, text) in enumerate(METHOD_TEXT, start=3):
        ws.cell(row=i, column=1, value=key).font = Font(bold=True)
        c = ws.cell(row=i, column=2, value=text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 110


def _provenance(ws: Any, book: PlanBook, created: str) -> None:
    from openpyxl.styles import Font

    ws.cell(row=1, column=1, value="Herkomst van de cijfers").font = Font(bold=True, size=14)
    row = 3
    for key, value in (("Gemaakt op", created), ("sid-versie", book.version),
                       ("Opdracht", book.command)):
        ws.cell(row=row, column=1, value=key).font = Font(bold=True)
        ws.cell(row=row, column=2, value=value)
        row += 1
    row += 1
    ws.cell(row=row, column=1, value="Instellingen").font = Font(bold=True)
    row += 1
    for key, value in book.settings:
        ws.cell(row=row, column=1, value=key)
        ws.cell(row=row, column=2, value=value)
        row += 1
    row += 1
    for j, h in enumerate(("Invoer", "Bestand", "sha256"), start=1):
        ws.cell(row=row, column=j, value=h)
    _style_header(ws, row, 3)
    for role, path in book.inputs:
        row += 1
        ws.cell(row=row, column=1, value=role)
        ws.cell(row=row, column=2, value=str(path))
        ws.cell(row=row, column=3, value=file_sha256(path))
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 68


def write_plan_book(book: PlanBook, path: str | os.PathLike[str]) -> Path:
    """Write the planning book atomically (:func:`sid.io.atomic_output`); return its path."""
    from openpyxl import Workbook

    created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    wb = Workbook()
    ws = wb.active
    ws.title = "Overzicht"
    _overview(ws, book)
    _precision(wb.create_sheet("Precisie"), book)
    _requirements(wb.create_sheet("Benodigde steekproef"), book)
    _allocation(wb.create_sheet("Allocatie"), book)
    _chart(wb.create_sheet("Grafiek"), book)
    if book.what_ifs:
        _what_if(wb.create_sheet("Wat als"), book)
    _method(wb.create_sheet("Toelichting"))
    _provenance(wb.create_sheet("Herkomst van de cijfers"), book, created)
    for sheet in wb.worksheets:  # one page wide, landscape
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_options.gridLines = False
    path = Path(path)
    with atomic_output(path) as tmp:
        wb.save(tmp)
    return path
