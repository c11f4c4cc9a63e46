"""The sheet of a ``model:`` table in the Excel table book (openpyxl).

:func:`write_model_sheet` writes a :class:`sid.tables.models.ModelTableResult`:
the title; per group the crude and the adjusted value with their
betrouwbaarheidsintervallen, significance against the reference group and the
adjusted difference with the reference group; then the model (odds ratios for a
binomial model, rate ratios for poisson, coefficients for gaussian) with 95%-BI,
p and n; the Wald test per term; footnotes. Suppressed cells show ``x``, flagged
ones ``(!)``, as on the other sheets. Dutch by default, English with ``lang="en"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sid.export.texts import FLAG, SIGNIFICANT, SUPPRESSED, localised
from sid.tables.models import ModelTableResult

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["is_model_table", "model_sheet_rows", "write_model_sheet"]

_TEXT: Mapping[str, Mapping[str, str]] = {
    "nl": {"groups": "Ruw en gecorrigeerd", "crude": "Ruw", "adjusted": "Gecorrigeerd",
           "diff": "Verschil met {ref}, gecorrigeerd", "pp": "%-punten", "units": "verschil",
           "model": "Het model: {what}", "or": "odds ratio", "rr": "rate ratio",
           "b": "coëfficiënt (B)", "ors": "odds ratio's", "rrs": "rate ratio's",
           "bs": "coëfficiënten", "term": "Term", "terms": "Toetsen per term (Wald-F)",
           "F": "F", "df1": "df teller", "df2": "df noemer", "small_p": "< 0,001",
           "explain_sig": "*: significant verschillend van {ref} (p < {alpha}); bij het model: "
                          "significant verschillend van {null} (p < {alpha})."},
    "en": {"groups": "Crude and adjusted", "crude": "Crude", "adjusted": "Adjusted",
           "diff": "Difference with {ref}, adjusted", "pp": "pct. points", "units": "difference",
           "model": "The model: {what}", "or": "odds ratio", "rr": "rate ratio",
           "b": "coefficient (B)", "ors": "odds ratios", "rrs": "rate ratios",
           "bs": "coefficients", "term": "Term", "terms": "Tests per term (Wald F)",
           "F": "F", "df1": "df numerator", "df2": "df denominator", "small_p": "< 0.001",
           "explain_sig": "*: significantly different from {ref} (p < {alpha}); in the model: "
                          "significantly different from {null} (p < {alpha})."},
}


def is_model_table(t: object) -> bool:
    """True for a computed model table (it gets :func:`write_model_sheet`)."""
    return isinstance(t, ModelTableResult)


def _tx(lang: str, key: str, **kw: Any) -> str:
    text = _TEXT.get(lang, _TEXT["nl"])[key]
    return text.format(**kw) if kw else text


def _scale(t: ModelTableResult) -> str:
    return {"binomial": "or", "poisson": "rr"}.get(t.family, "b")


def model_sheet_rows(t: ModelTableResult) -> pd.DataFrame:
    """The coefficients the sheet shows, in order: odds or rate ratios without the
    intercept (binomial/poisson), every coefficient with the intercept (gaussian).
    Columns ``label``, ``value``, ``ci_low``, ``ci_high`` (on the shown scale), ``p_value``,
    ``n``, ``suppressed``, ``flagged``, ``term``."""
    c = t.coefficients
    ratio = t.family in ("binomial", "poisson")
    if ratio:
        c = c[c["term"] != "(Intercept)"]
    cols = ("exp_estimate", "exp_ci_low", "exp_ci_high") if ratio else ("estimate", "ci_low",
                                                                         "ci_high")
    return pd.DataFrame({"term": c["term"].to_numpy(), "label": c["label"].to_numpy(),
                         "value": c[cols[0]].to_numpy(float), "ci_low": c[cols[1]].to_numpy(float),
                         "ci_high": c[cols[2]].to_numpy(float),
                         "p_value": c["p_value"].to_numpy(float), "n": c["n"].to_numpy(),
                         "suppressed": c["suppressed"].to_numpy(bool),
                         "flagged": c["flagged"].to_numpy(bool)})


def write_model_sheet(ws: Worksheet, t: ModelTableResult, lang: str = "nl") -> None:
    """Write the model table ``t`` onto the (empty) worksheet ``ws``."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="808080")
    st = {"title": Font(bold=True, size=13), "bold": Font(bold=True),
          "italic": Font(italic=True, size=9), "small": Font(size=9),
          "fill": PatternFill("solid", fgColor="DDEBF7"),
          "wrap": Alignment(wrap_text=True, vertical="center", horizontal="center"),
          "right": Alignment(horizontal="right"), "center": Alignment(horizontal="center"),
          "bottom": Border(bottom=thin)}
    level = f"{t.frame['conf_level'].dropna().iloc[0] * 100:g}" \
        if t.frame["conf_level"].notna().any() else "95"
    fmt = "0" if t.decimals <= 0 else "0." + "0" * t.decimals
    pct = t.unit == "percent"
    lo, hi = localised(lang, "ci_low", level=level), localised(lang, "ci_high", level=level)
    p_head, n_head = localised(lang, "p"), localised(lang, "n")
    sig_head, rem_head = localised(lang, "marker"), localised(lang, "remark")
    alpha = t.alpha

    def head(r: int, c: int, text: str, width_row: bool = True) -> None:
        cell = ws.cell(row=r, column=c, value=text)
        cell.font = st["bold"]
        cell.fill = st["fill"]
        if width_row:
            cell.alignment = st["wrap"]
            cell.border = st["bottom"]

    def number(r: int, c: int, value: float, number_format: str, hidden: bool) -> None:
        cell = ws.cell(row=r, column=c)
        if hidden:
            cell.value = SUPPRESSED
            cell.alignment = st["right"]
        elif value is not None and np.isfinite(value):
            cell.value = float(value)
            cell.number_format = number_format
        else:
            cell.value = None

    def p_cell(r: int, c: int, p: float, hidden: bool) -> None:
        if not hidden and p is not None and np.isfinite(p) and p < 0.001:
            ws.cell(row=r, column=c, value=_tx(lang, "small_p")).alignment = st["right"]
        else:
            number(r, c, p, "0.000", hidden)

    ws["A1"] = t.title
    ws["A1"].font = st["title"]
    ws["A2"] = t.subtitle
    ws["A2"].font = st["italic"]

    # block 1: per group, crude and adjusted, and the adjusted difference
    f = t.frame
    ref = t.reference_label or ""
    unit = "%" if pct else localised(lang, "mean")
    blocks = [("crude", _tx(lang, "crude"), [unit, lo, hi, sig_head]),
              ("adjusted", _tx(lang, "adjusted"), [unit, lo, hi, sig_head]),
              ("diff", _tx(lang, "diff", ref=ref),
               [_tx(lang, "pp") if pct else _tx(lang, "units"), lo, hi, p_head])]
    r1, r2 = 4, 5
    head(r1, 1, "", False)
    head(r2, 1, t.group_title)
    head(r1, 2, "", False)
    head(r2, 2, n_head)
    col = 3
    starts = {}
    for key, label, cols in blocks:
        starts[key] = col
        for j, text in enumerate(cols):
            head(r1, col + j, label if j == 0 else "", False)
            head(r2, col + j, text)
        ws.cell(row=r1, column=col).alignment = st["center"]
        ws.merge_cells(start_row=r1, start_column=col, end_row=r1, end_column=col + len(cols) - 1)
        col += len(cols)
    head(r1, col, "", False)
    head(r2, col, rem_head)
    ws.row_dimensions[r2].height = 45
    r = r2 + 1
    keyed = f.set_index(["panel", "group"])
    any_sig = any_flag = any_sup = False
    for g in dict.fromkeys(f["group"]):
        rec = keyed.loc[("crude", g)]
        is_ref = bool(rec["is_reference"])
        label = f"{rec['group_label']} ({localised(lang, 'reference')})" if is_ref \
            else str(rec["group_label"])
        ws.cell(row=r, column=1, value=label)
        ws.cell(row=r, column=2, value=int(rec["n"])).number_format = "0"
        hidden = bool(rec["suppressed"])
        any_sup |= hidden
        for key, _, _ in blocks:
            e = keyed.loc[(key, g)]
            c0 = starts[key]
            if key == "diff" and is_ref:
                continue
            for j, name in enumerate(("estimate", "ci_low", "ci_high")):
                number(r, c0 + j, float(e[name]), fmt, hidden)
            if key == "diff":
                p_cell(r, c0 + 3, float(e["p_value"]), hidden)
            elif not hidden and not pd.isna(e["significant"]) and bool(e["significant"]):
                ws.cell(row=r, column=c0 + 3, value=SIGNIFICANT).alignment = st["center"]
                any_sig = True
        if bool(rec["flagged"]) and not hidden:
            ws.cell(row=r, column=col, value=FLAG).alignment = st["center"]
            any_flag = True
        r += 1

    # block 2: the model
    r += 1
    scale = _scale(t)
    plural = {"or": "ors", "rr": "rrs", "b": "bs"}[scale]
    ws.cell(row=r, column=1, value=_tx(lang, "model", what=_tx(lang, plural))).font = st["bold"]
    r += 1
    for j, text in enumerate((_tx(lang, "term"), _tx(lang, scale), lo, hi, p_head, n_head,
                              sig_head, rem_head), start=1):
        head(r, j, text)
    ws.row_dimensions[r].height = 45
    r += 1
    rows = model_sheet_rows(t)
    for rec in rows.itertuples():
        ws.cell(row=r, column=1, value=str(rec.label))
        hidden = bool(rec.suppressed)
        any_sup |= hidden
        for j, v in enumerate((rec.value, rec.ci_low, rec.ci_high), start=2):
            number(r, j, float(v), "0.00" if scale != "b" else "0.000", hidden)
        p_cell(r, 5, float(rec.p_value), hidden)
        ws.cell(row=r, column=6, value=int(rec.n)).number_format = "0"
        if not hidden and rec.term != "(Intercept)" and float(rec.p_value) < alpha:
            ws.cell(row=r, column=7, value=SIGNIFICANT).alignment = st["center"]
            any_sig = True
        if bool(rec.flagged) and not hidden:
            ws.cell(row=r, column=8, value=FLAG).alignment = st["center"]
            any_flag = True
        r += 1

    # block 3: tests per term
    r += 1
    ws.cell(row=r, column=1, value=_tx(lang, "terms")).font = st["bold"]
    r += 1
    for j, text in enumerate((_tx(lang, "term"), _tx(lang, "F"), _tx(lang, "df1"),
                              _tx(lang, "df2"), p_head), start=1):
        head(r, j, text)
    r += 1
    for rec in t.terms.itertuples():
        ws.cell(row=r, column=1, value=str(rec.label))
        number(r, 2, float(rec.statistic), "0.00", False)
        ws.cell(row=r, column=3, value=int(rec.df_num)).number_format = "0"
        number(r, 4, float(rec.df_den), "0", False)
        p_cell(r, 5, float(rec.p_value), False)
        r += 1

    labels = [str(rec["group_label"]) + " (referentiegroep)" for _, rec in f.iterrows()] \
        + list(rows["label"].astype(str))
    first_width = max(18, min(52, max(map(len, labels), default=18) + 2))
    ws.column_dimensions["A"].width = first_width
    for j in range(2, col + 1):
        ws.column_dimensions[get_column_letter(j)].width = 13

    # footnotes: wrapped over the table's width, so the sheet prints on one page width
    r += 1
    ws.cell(row=r, column=1, value=localised(lang, "notes")).font = st["bold"]
    per_line = int((first_width + 13 * (col - 1)) * 1.3)  # small font: more per line
    for note in _notes(t, lang, any_sup, any_flag, any_sig):
        r += 1
        cell = ws.cell(row=r, column=1, value=note)
        cell.font = st["small"]
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=col)
        ws.row_dimensions[r].height = 12.5 * (len(note) // per_line + 1)
    ws.freeze_panes = ws.cell(row=r2 + 1, column=2)
    ws.sheet_view.showGridLines = False


def _notes(t: ModelTableResult, lang: str, any_sup: bool, any_flag: bool,
           any_sig: bool) -> Sequence[str]:
    notes = list(t.footnotes)
    notes.insert(2, t.coef_note)
    alpha = f"{t.alpha:g}".replace(".", ",") if lang == "nl" else f"{t.alpha:g}"
    if any_sup:
        notes.append(localised(lang, "explain_x", below=t.suppression.below))
    if any_flag:
        notes.append(localised(lang, "explain_flag", below=t.suppression.below,
                               flag=t.suppression.flag_below - 1))
    if any_sig:
        null = "1" if t.family in ("binomial", "poisson") else "0"
        notes.append(_tx(lang, "explain_sig", ref=t.reference_label or "", alpha=alpha, null=null))
    return notes
