"""The weighting report: a methodology annex (Dutch, or English), as Excel and Markdown.

From a :class:`~sid.weighting.chain.ChainResult`: a title page with the provenance
(every input with its sha256) and the weight in words; per step a readable table
(n, sum of weights, ESS, deff_w, min/median/max weight, iterations, largest
remaining margin gap); the margins achieved against their targets with category
labels; the trimming; per origin group ESS and deff_w; a weight-distribution plot
per group. :func:`report_tables` keeps the tidy frames (one per sheet) for analysts.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sid.formatting import format_number
from sid.io import atomic_outputs
from sid.weighting.chain import ChainResult
from sid.weighting.records import summary_table
from sid.weighting.spec import ReplicatesSpec, WeightingSpec

__all__ = ["category_labels", "report_markdown", "report_tables", "write_report"]

Labels = Mapping[str, Mapping[Any, str]]
"""Value labels per margin variable (as the margins table names it)."""

_T = {
    "nl": {
        "title": "Wegingsrapport {name}: methodologische bijlage",
        "intro": "Hoe het gewicht {weight} gemaakt is, stap voor stap, met de controles die "
                 "tonen dat het doet wat het moet doen.",
        "weight": "Gewicht", "variable": "variabele", "inputs": "Invoer", "role": "rol",
        "file": "bestand", "version": "versie sid", "date": "datum",
        "steps": "Stappen", "groups": "Per herkomst", "margins": "Marges", "trim": "Trimmen",
        "dist": "Verdeling", "cover": "Wegingsrapport",
        "step": "stap", "method": "methode", "n": "n (gewicht > 0)", "sum": "som gewichten",
        "ess": "effectieve n (ESS)", "deff": "deff_w (1 + CV²)", "min": "kleinste gewicht",
        "median": "mediaan", "max": "grootste gewicht", "iter": "iteraties",
        "gap": "grootste resterende marge-afwijking", "not_conv": "niet geconvergeerd",
        "group": "groep", "mean": "gemiddelde", "cv": "CV",
        "margin": "marge", "category": "categorie", "target": "doel (populatie)",
        "achieved": "bereikt (gewogen)", "rel_gap": "afwijking",
        "lower": "ondergrens", "upper": "bovengrens", "relative": "t.o.v.",
        "redistribute": "methode", "trimmed": "gewichten buiten de grenzen (voor)",
        "rounds": "grenzen verruimd (keer)", "bounded": "begrensde kalibratie (marges blijven gehaald)",
        "not_met": "grenzen niet haalbaar: niet getrimd",
        "yes": "ja", "no": "nee", "total": "totaal",
        "methods": {"design": "ontwerpgewicht", "nonresponse": "non-respons per klasse",
                    "rake": "raking", "linear": "lineaire kalibratie",
                    "logit": "logit-kalibratie", "trim_rake": "trimmen en opnieuw raken",
                    "trim": "trimmen", "poststratify": "poststratificatie"},
        "plot": "Verdeling van het eindgewicht per groep (log-schaal)",
        "plot_x": "gewicht", "plot_n": "aantal respondenten",
        "no_trim": "geen trimming in de specificatie",
        "roles": {"wave": "golf (ongewogen)", "weighting_spec": "wegingsspecificatie",
                  "margins": "populatiemarges", "gross": "bruto steekproef",
                  "weighted": "gewogen bestand"},
        "median_of": {"median": "x mediaan", "mean": "x gemiddelde", "absolute": ""},
    },
    "en": {
        "title": "Weighting report {name}: methodology annex",
        "intro": "How the weight {weight} was made, step by step, with the checks that show "
                 "it does what it should.",
        "weight": "Weight", "variable": "variable", "inputs": "Inputs", "role": "role",
        "file": "file", "version": "sid version", "date": "date",
        "steps": "Steps", "groups": "By origin", "margins": "Margins", "trim": "Trimming",
        "dist": "Distribution", "cover": "Weighting report",
        "step": "step", "method": "method", "n": "n (weight > 0)", "sum": "sum of weights",
        "ess": "effective n (ESS)", "deff": "deff_w (1 + CV²)", "min": "smallest weight",
        "median": "median", "max": "largest weight", "iter": "iterations",
        "gap": "largest remaining margin gap", "not_conv": "not converged",
        "group": "group", "mean": "mean", "cv": "CV",
        "margin": "margin", "category": "category", "target": "target (population)",
        "achieved": "achieved (weighted)", "rel_gap": "gap",
        "lower": "lower bound", "upper": "upper bound", "relative": "relative to",
        "redistribute": "method", "trimmed": "weights outside the bounds (before)",
        "rounds": "bounds widened (times)", "bounded": "bounded calibration (margins kept)",
        "not_met": "bounds not attainable: untrimmed",
        "yes": "yes", "no": "no", "total": "total",
        "methods": {"design": "design weight", "nonresponse": "nonresponse by class",
                    "rake": "raking", "linear": "linear calibration",
                    "logit": "logit calibration", "trim_rake": "trimming and re-raking",
                    "trim": "trimming", "poststratify": "post-stratification"},
        "plot": "Distribution of the final weight per group (log scale)",
        "plot_x": "weight", "plot_n": "respondents",
        "no_trim": "no trimming in the spec",
        "roles": {"wave": "wave (unweighted)", "weighting_spec": "weighting specification",
                  "margins": "population margins", "gross": "gross sample",
                  "weighted": "weighted file"},
        "median_of": {"median": "x median", "mean": "x mean", "absolute": ""},
    },
}


def _tx(lang: str) -> Mapping[str, Any]:
    return _T.get(lang, _T["nl"])


def category_labels(spec: WeightingSpec, value_labels: Mapping[str, Mapping[Any, str]],
                    lang: str = "nl") -> dict[str, dict[Any, str]]:
    """Labels of the margin categories: the wave's value labels of each margin variable,
    and age bands written out from their breaks (``1: "<25"``, ``2: "25-34"``, ...)."""
    out: dict[str, dict[Any, str]] = {}
    for name, band in spec.margins.variables.items():
        if band.breaks is not None:
            b = [format_number(x) for x in band.breaks]
            labels: dict[Any, str] = {1.0: f"< {b[0]}"}
            for i in range(1, len(b)):
                labels[float(i + 1)] = f"{b[i - 1]}-{format_number(band.breaks[i] - 1)}"
            labels[float(len(b) + 1)] = f"{b[-1]}+"
            out[name] = labels
        elif band.source in value_labels:
            out[name] = {float(k): str(v) for k, v in value_labels[band.source].items()}
    for name, given in value_labels.items():
        out.setdefault(name, {float(k): str(v) for k, v in given.items()})
    return out


def _category(margin: str, category: str, labels: Labels) -> str:
    """``"11 x 1"`` of ``"stratum x geslacht"`` as ``"11 x man"`` (labels where known)."""
    names = [m.strip() for m in margin.split(" x ")]
    codes = [c.strip() for c in str(category).split(" x ")]
    if len(names) != len(codes):
        return str(category)
    shown = []
    for name, code in zip(names, codes, strict=True):
        try:
            key: Any = float(code)
        except ValueError:
            key = code
        shown.append(str(labels.get(name, {}).get(key, code)))
    return " x ".join(shown)


def report_tables(chain: ChainResult,
                  labels: Mapping[Any, str] | None = None) -> dict[str, pd.DataFrame]:
    """The weighting report as tidy frames, one per sheet (Dutch sheet names, snake_case
    columns for analysts; the workbook shows them with readable headers).

    ``labels`` names the groups (e.g. the value labels of the origin variable).
    """
    steps = []
    for label, rec in chain.steps:
        steps.append({"stap": label, "methode": rec.method, "iteraties": rec.iterations,
                      "geconvergeerd": rec.converged, "max_relatieve_afwijking": rec.max_gap,
                      **{f"voor_{k}": v for k, v in rec.before.as_dict().items()},
                      **{f"na_{k}": v for k, v in rec.after.as_dict().items()}})
    w = chain.weights.to_numpy()
    groups = summary_table(w, None if chain.group is None else chain.group.to_numpy(),
                           labels=labels)
    gap_frames = [rec.gaps_frame().assign(stap=label) for label, rec in chain.steps if rec.gaps]
    margins = pd.concat(gap_frames, ignore_index=True) if gap_frames else pd.DataFrame(
        {"margin": [], "category": [], "target": [], "achieved": [], "rel_gap": [], "stap": []})
    trims = pd.DataFrame([{"stap": label, **{k: (v if np.isscalar(v) or v is None else str(v))
                                            for k, v in rec.params.items()}}
                          for label, rec in chain.steps if label == "trimmen"])
    spec_text = yaml.safe_dump(chain.spec.as_dict(), allow_unicode=True, sort_keys=False)
    reps = chain.replicates
    if reps is None:
        rep_table = pd.DataFrame({"methode": ["geen replicaatgewichten"]})
    else:
        rspec = chain.spec.replicates or ReplicatesSpec()
        sums = reps.weights.sum(axis=0)
        rep_table = pd.DataFrame([{
            "methode": reps.method, "replicaten": reps.replicates, "scale": reps.scale,
            "rscales_min": float(reps.rscales.min()), "rscales_max": float(reps.rscales.max()),
            "mse": reps.mse, "seed": rspec.seed, "strata": rspec.strata,
            "psu": rspec.psu, "som_min": float(sums.min()), "som_max": float(sums.max()),
            "opmerking": "; ".join(("volledige wegingsketen (nonrespons, kalibratie, trimmen) "
                                    "per replicaat", *reps.notes)),
        }])
    return {
        "Stappen": pd.DataFrame(steps),
        "Per herkomst": groups,
        "Marges": margins,
        "Trimmen": trims if not trims.empty else pd.DataFrame({"stap": [], "opmerking": []}),
        "Replicaten": rep_table,
        "Spec": pd.DataFrame({"spec": spec_text.splitlines()}),
    }


def readable_tables(chain: ChainResult, labels: Mapping[Any, str] | None = None,
                    categories: Labels | None = None,
                    lang: str = "nl") -> dict[str, pd.DataFrame]:
    """The annex's tables with readable headers in ``lang``: steps, groups, margins, trimming."""
    tx = _tx(lang)
    t = report_tables(chain, labels)
    s = t["Stappen"]
    steps = pd.DataFrame({
        tx["step"]: s["stap"], tx["method"]: s["methode"].map(lambda m: tx["methods"].get(m, m)),
        tx["n"]: s["na_n_positive"], tx["sum"]: s["na_sum"], tx["ess"]: s["na_ess"],
        tx["deff"]: s["na_deff_w"], tx["min"]: s["na_min"], tx["median"]: s["na_median"],
        tx["max"]: s["na_max"],
        tx["iter"]: [int(i) if c else f"{int(i)} ({tx['not_conv']})"
                     for i, c in zip(s["iteraties"], s["geconvergeerd"], strict=True)],
        tx["gap"]: s["max_relatieve_afwijking"],
    })
    g = t["Per herkomst"]
    groups = pd.DataFrame({
        tx["group"]: g["group"].replace({"totaal": tx["total"]}), tx["n"]: g["n_positive"],
        tx["sum"]: g["sum"], tx["ess"]: g["ess"], tx["deff"]: g["deff_w"], tx["min"]: g["min"],
        tx["median"]: g["median"], tx["max"]: g["max"], tx["mean"]: g["mean"], tx["cv"]: g["cv"],
    })
    m = t["Marges"]
    cats = categories or {}
    margins = pd.DataFrame({
        tx["step"]: m["stap"], tx["margin"]: m["margin"],
        tx["category"]: [_category(a, b, cats) for a, b in zip(m["margin"], m["category"],
                                                                strict=True)],
        tx["target"]: m["target"], tx["achieved"]: m["achieved"], tx["rel_gap"]: m["rel_gap"],
    })
    trim = _trim_table(chain, tx)
    return {tx["steps"]: steps, tx["groups"]: groups, tx["margins"]: margins, tx["trim"]: trim}


def _trim_table(chain: ChainResult, tx: Mapping[str, Any]) -> pd.DataFrame:
    """Trimming as bounded calibration: the bounds, units outside them before and after,
    whether the bounds had to be widened to meet the margins, ESS and deff_w."""
    spec = chain.spec.trim
    rows = []
    for label, rec in chain.steps:
        if spec is None or rec.method != "bounded_rake":
            continue
        rel = tx["median_of"][spec.relative_to]
        comma = tx is _T["nl"]

        def bound(x: float | None, rel: str = rel, comma: bool = comma) -> str:
            if x is None:
                return "-"
            text = format_number(x).replace(".", ",") if comma else format_number(x)
            return f"{text} {rel}".strip()

        widened = int(rec.params.get("widened", 0) or 0)
        rows.append({
            tx["step"]: label, tx["lower"]: bound(spec.lower), tx["upper"]: bound(spec.upper),
            tx["redistribute"]: tx["bounded"],
            tx["trimmed"]: int(rec.params.get("outside_given", 0) or 0),
            tx["rounds"]: tx["not_met"] if widened < 0 else widened,
            tx["ess"]: rec.after.ess, tx["deff"]: rec.after.deff_w,
        })
    if not rows:
        return pd.DataFrame({tx["step"]: [tx["no_trim"]]})
    return pd.DataFrame(rows)


def _nl_number(value: float, decimals: int) -> str:
    """A number the Dutch way: 5.070.000 and 1,234."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def _num(value: Any, decimals: int, lang: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if isinstance(value, str):
        return value
    return _nl_number(float(value), decimals) if lang == "nl" else f"{float(value):,.{decimals}f}"


def _gap_text(value: float, lang: str) -> str:
    """A relative margin gap as a percentage that never reads a tiny gap as a big one."""
    pct = abs(float(value)) * 100
    if pct < 0.0001:
        return "< 0,0001%" if lang == "nl" else "< 0.0001%"
    return _num(pct, 4, lang) + "%"


_DECIMALS = {"n": 0, "sum": 0, "ess": 1, "deff": 3, "min": 2, "median": 2, "max": 2,
             "mean": 2, "cv": 3, "iter": 0, "target": 0, "achieved": 0, "trimmed": 0,
             "rounds": 0}


def _decimals_by_header(lang: str) -> dict[str, int]:
    tx = _tx(lang)
    return {tx[k]: d for k, d in _DECIMALS.items()}


def report_markdown(chain: ChainResult, labels: Mapping[Any, str] | None = None, *,
                    categories: Labels | None = None, lang: str = "nl",
                    provenance: Sequence[tuple[str, str, str]] = (), weight_text: str = "",
                    plot_file: str | None = None) -> str:
    """The methodology annex as Markdown (numbers formatted for ``lang``)."""
    tx = _tx(lang)
    name = chain.spec.name or ""
    weight = chain.weights.name
    lines = [f"# {tx['title'].format(name=name).strip()}", "",
             tx["intro"].format(weight=weight), ""]
    if weight_text:
        lines += [f"**{tx['weight']}**: {weight_text} ({tx['variable']} {weight})", ""]
    if provenance:
        lines += [f"## {tx['inputs']}", "", f"| {tx['role']} | {tx['file']} | sha256 |",
                  "|---|---|---|"]
        lines += [f"| {tx['roles'].get(r, r)} | {p} | `{h}` |" for r, p, h in provenance]
        lines.append("")
    dec = _decimals_by_header(lang)
    for title, frame in readable_tables(chain, labels, categories, lang).items():
        if title == tx["margins"]:
            frame = _worst_gaps(frame, tx)
        lines += [f"## {title}", "", "| " + " | ".join(frame.columns) + " |",
                  "|" + "---|" * len(frame.columns)]
        for _, row in frame.iterrows():
            cells = []
            for col in frame.columns:
                v = row[col]
                if col in (tx["gap"], tx["rel_gap"]):
                    cells.append(_gap_text(v, lang))
                elif col in dec and not isinstance(v, str):
                    cells.append(_num(v, dec[col], lang))
                else:
                    cells.append(str(v))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if chain.replicates is not None:
        reps = chain.replicates
        lines += [f"- **replicaatgewichten**: {reps.replicates} x {reps.method} "
                  f"(scale {reps.scale:.6g}), volledige wegingsketen per replicaat", ""]
    if plot_file:
        lines += [f"## {tx['dist']}", "", f"![{tx['plot']}]({plot_file})", ""]
    return "\n".join(lines)


def _worst_gaps(frame: pd.DataFrame, tx: Mapping[str, Any]) -> pd.DataFrame:
    """Per step and margin, the category with the largest remaining gap (Markdown summary)."""
    if frame.empty:
        return frame
    key = frame[tx["rel_gap"]].abs()
    idx = key.groupby([frame[tx["step"]], frame[tx["margin"]]], sort=False).idxmax()
    return frame.loc[idx.to_numpy()].reset_index(drop=True)


def log_axis_ticks(lo: float, hi: float) -> list[float]:
    """Where a log axis from ``lo`` to ``hi`` (> 0) is labelled: 1, 2 and 5 times the powers
    of ten; every digit times them where fewer than two of those fall inside; evenly spaced
    round numbers (``MaxNLocator``) where even the digits give fewer than two."""
    from matplotlib.ticker import MaxNLocator

    decades = range(int(np.floor(np.log10(lo))), int(np.floor(np.log10(hi))) + 1)
    for digits in ((1, 2, 5), range(1, 10)):
        ticks = [m * 10.0 ** e for e in decades for m in digits if lo <= m * 10.0 ** e <= hi]
        if len(ticks) >= 2:
            return ticks
    return [float(t) for t in MaxNLocator(nbins=4).tick_values(lo, hi) if lo <= t <= hi]


def weight_plot_png(chain: ChainResult, labels: Mapping[Any, str] | None = None,
                    lang: str = "nl") -> bytes:
    """A histogram of the final weight per group (log scale), as PNG bytes.

    Drawn on a bare :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot:
    its import and figure registry cost time and are global state), one axes per group,
    each histogram as one filled step outline (``stairs``: the same pixels as a bar per
    bin, one artist instead of 24). The log axis is labelled where
    :func:`log_axis_ticks` says, so each panel shows readable weights; at powers of ten
    alone most panels, whose weights span less than a decade, had no label at all.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    tx = _tx(lang)
    w = chain.weights.to_numpy(dtype=float)
    if chain.group is None:
        parts = [(tx["total"], w)]
    else:
        g = chain.group.to_numpy()
        keys = sorted(pd.unique(g[~pd.isna(g)]))
        names = {float(k): v for k, v in (labels or {}).items()}
        parts = [(names.get(float(k), format_number(k)), w[g == k]) for k in keys]
    cols = min(4, len(parts))
    rows = -(-len(parts) // cols)
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows + 0.6))
    FigureCanvasAgg(fig)
    for k, (name, values) in enumerate(parts):
        ax = fig.add_subplot(rows, cols, k + 1)
        values = values[values > 0]
        if values.size:
            bins = np.logspace(np.log10(values.min()), np.log10(values.max()) + 1e-9, 25)
            counts, _ = np.histogram(values, bins=bins)
            ax.stairs(counts, bins, fill=True, color="#1f4e79")
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(FixedLocator(log_axis_ticks(values.min(),
                                                                   values.max())))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_title(str(name), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel(tx["plot_x"], fontsize=7)
        ax.set_ylabel(tx["plot_n"], fontsize=7)
    fig.suptitle(tx["plot"], fontsize=10)
    fig.tight_layout()
    # tight_layout leaves a placeholder layout engine behind, which makes savefig draw the
    # whole figure once more (to lay it out) before drawing it: the same pixels, ~30% less
    fig.set_layout_engine(None)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png")
    return buf.getvalue()


def write_report(chain: ChainResult, path: str | os.PathLike[str],
                 labels: Mapping[Any, str] | None = None, *,
                 categories: Labels | None = None, lang: str = "nl",
                 provenance: Sequence[tuple[str, str, str]] = (),
                 weight_text: str = "") -> tuple[str, str]:
    """Write the annex: the Excel workbook, a Markdown file and the weight plot (PNG)
    beside it, all three or none (:func:`sid.io.atomic_outputs`). ``provenance`` lists
    (role, path, sha256) of the inputs."""
    out = Path(path)
    png = weight_plot_png(chain, labels, lang)
    plot = out.with_name(out.stem + "_gewichten.png")
    md = out.with_suffix(".md")
    text = report_markdown(chain, labels, categories=categories, lang=lang,
                           provenance=provenance, weight_text=weight_text, plot_file=plot.name)
    book = _workbook(chain, labels, categories, lang, provenance, weight_text, png)
    with atomic_outputs([out, md, plot]) as (tmp_xlsx, tmp_md, tmp_png):
        book.save(tmp_xlsx)
        Path(tmp_md).write_text(text, encoding="utf-8", newline="")
        Path(tmp_png).write_bytes(png)
    return str(out), str(md)


def _workbook(chain: ChainResult, labels: Mapping[Any, str] | None, categories: Labels | None,
              lang: str, provenance: Sequence[tuple[str, str, str]], weight_text: str,
              png: bytes) -> Any:
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, PatternFill

    tx = _tx(lang)
    wb = Workbook()
    cover = wb.active
    cover.title = tx["cover"]
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    cover["A1"] = tx["title"].format(name=chain.spec.name or "").strip()
    cover["A1"].font = Font(bold=True, size=14)
    cover["A2"] = tx["intro"].format(weight=chain.weights.name)
    r = 4
    if weight_text:
        cover.cell(row=r, column=1, value=tx["weight"]).font = bold
        cover.cell(row=r, column=2, value=f"{weight_text} ({tx['variable']} "
                                          f"{chain.weights.name})").alignment = wrap
        cover.merge_cells(start_row=r, start_column=2, end_row=r, end_column=3)
        cover.row_dimensions[r].height = 15 * (len(weight_text) // 90 + 1)
        r += 2
    if provenance:
        for j, head in enumerate((tx["role"], tx["file"], "sha256"), start=1):
            cover.cell(row=r, column=j, value=head).font = bold
        for role, p, h in provenance:
            r += 1
            cover.cell(row=r, column=1, value=tx["roles"].get(role, role))
            cover.cell(row=r, column=2, value=p).alignment = wrap
            cover.cell(row=r, column=3, value=h).font = Font(size=10)
    import datetime as _dt

    from sid import __version__

    r += 2
    cover.cell(row=r, column=1, value=tx["version"]).font = bold
    cover.cell(row=r, column=2, value=__version__)
    r += 1
    cover.cell(row=r, column=1, value=tx["date"]).font = bold
    cover.cell(row=r, column=2,
               value=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    cover.column_dimensions["A"].width = 22
    cover.column_dimensions["B"].width = 36
    cover.column_dimensions["C"].width = 62
    dec = _decimals_by_header(lang)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    body = Font(size=10)
    for title, frame in readable_tables(chain, labels, categories, lang).items():
        ws = wb.create_sheet(title[:31])
        for j, col in enumerate(frame.columns, start=1):
            c = ws.cell(row=1, column=j, value=col)
            c.font = bold
            c.fill = head_fill
            c.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
            shown = [_num(v, dec[col], "en") if col in dec and not isinstance(v, str)
                     else ("0.0000%" if col in (tx["gap"], tx["rel_gap"]) else str(v))
                     for v in frame[col].head(300)]
            longest_word = max(len(w) for w in re.split(r"[\s-]", str(col)))
            text_col = not pd.api.types.is_numeric_dtype(frame[col])
            width = max(8, min(14 if text_col and title != tx["margins"] else 34,
                               max([len(str(col)) // 3 + 2, longest_word + 2]
                                   + [len(x) + 2 for x in shown])))
            ws.column_dimensions[c.column_letter].width = width
        ws.row_dimensions[1].height = 32
        for i, row in enumerate(frame.itertuples(index=False), start=2):
            for j, (col, v) in enumerate(zip(frame.columns, row, strict=True), start=1):
                value = v.item() if hasattr(v, "item") else v
                cell = ws.cell(row=i, column=j, value=value)
                cell.font = body
                if isinstance(value, str):
                    cell.alignment = wrap
                if col in (tx["gap"], tx["rel_gap"]):
                    cell.value = abs(float(v))
                    cell.number_format = "0.0000%"
                elif col in dec and isinstance(value, (int, float)):
                    cell.number_format = "#,##0" if dec[col] == 0 else \
                        "#,##0." + "0" * dec[col]
        ws.freeze_panes = "B2"
        ws.print_title_rows = "1:1"
    dist = wb.create_sheet(tx["dist"])
    dist["A1"] = tx["plot"]
    dist["A1"].font = bold
    img = Image(io.BytesIO(png))
    if img.width > 950:  # within a landscape A4 page at full size
        img.height = int(img.height * 950 / img.width)
        img.width = 950
    dist.add_image(img, "A3")
    # the raw frames (for analysts; tests and scripts read them by these names)
    for sheet, frame in report_tables(chain, labels).items():
        if sheet in ("Replicaten", "Spec"):
            ws = wb.create_sheet(sheet)
            ws.append(list(frame.columns))
            for row in frame.itertuples(index=False):
                ws.append([v.item() if hasattr(v, "item") else v for v in row])
            ws.column_dimensions["A"].width = 60 if sheet == "Spec" else 24
    for ws in wb.worksheets:
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.oddHeader.left.text = cover["A1"].value.replace("&", "&&")
        ws.oddHeader.left.size = 10
        ws.oddFooter.right.text = "p. &P/&N"
        ws.oddFooter.right.size = 10
    return wb
