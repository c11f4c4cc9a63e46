"""The tables of a table book: every table of a spec computed on harmonised waves.

:func:`build_tables` computes every table of a spec with
:func:`sid.estimation.estimate` / :func:`sid.estimation.compare` and applies the
suppression rule; the result is a tuple of immutable :class:`TableResult`.
All waves share one design (:func:`stacked_design`); a table's base and wave
are domains made by zero-weighting, never by deleting rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import EstimationError, show_values
from sid.tables.spec import BookSpecFile, TableSpec, check_spec
from sid.tables.suppression import Suppression

if TYPE_CHECKING:
    from sid.codebook import Codebook, Text
    from sid.harmonise import HarmonisedData

TABLE_COLUMNS = (
    "section", "section_label", "panel", "panel_label", "kind", "group", "group_label",
    "is_reference", "estimate", "se", "ci_low", "ci_high", "ci_method", "conf_level", "df",
    "n", "n_weighted", "p_value", "significant", "suppressed", "flagged",
)
"""Columns of :attr:`TableResult.frame`, in this order.

One row per (section, panel, group). ``section`` is a row block (an item of a
multiple-response set, a category), ``panel`` a column block (a wave, or
``diff`` for the change between waves), ``kind`` is ``estimate`` or
``difference``. ``estimate``/``ci_*`` are on the display scale (percentages
0-100 for proportions, the variable's scale for means). ``n`` is the unweighted
base; ``p_value``/``significant`` compare with the reference group (estimates)
or test the change (differences). ``suppressed`` (n below the rule) and
``flagged`` (n in the flag band) follow :class:`Suppression`."""


@dataclass(frozen=True)
class TableResult:
    """One computed table of a table book, ready for export (aggregates only).

    Texts are in the language the table was built in. ``unit`` is ``percent``
    or ``mean``; ``decimals`` the number of decimals to show; ``frame`` has
    :data:`TABLE_COLUMNS`; ``footnotes`` are shown under the table in order.
    ``group_title`` heads the group column (e.g. "Herkomst"),
    ``reference_label`` names the reference group of the significance markers.
    """

    id: str
    title: str
    frame: pd.DataFrame
    unit: str = "percent"
    decimals: int = 1
    group_title: str = "Herkomst"
    reference_label: str | None = None
    subtitle: str = ""
    footnotes: tuple[str, ...] = ()
    suppression: Suppression = Suppression()
    alpha: float = 0.05

    def __post_init__(self) -> None:
        missing = [c for c in TABLE_COLUMNS if c not in self.frame.columns]
        if missing:
            raise EstimationError(f"table {self.id!r} frame lacks columns",
                                  got=show_values(missing), fix="build it with build_tables")



_UI = {
    "nl": {"question": "Vraag", "base": "Basis", "weight": "Gewicht", "wave": "Golf",
           "waves": "Golven", "ci": "{level}%-betrouwbaarheidsinterval: {method}; "
           "standaardfouten met Taylor-linearisatie (strata en clusters van de steekproef)",
           "source": "Bron", "all": "alle respondenten", "kept": "{kinds} tellen mee in de basis",
           "not_kept": "weet niet en geen antwoord tellen niet mee in de basis",
           "diff": "verschil {b} - {a}", "counted": "Telt als ja: {codes}",
           "mean_of": "gemiddelde van {var}", "n_note": "n: ongewogen aantal respondenten in de basis",
           "percent_of": "gewogen percentage", "ref": "Referentiegroep voor de significantie: "
           "{ref} (t-toets op het verschil, p < {alpha})",
           "change": "Verschil tussen de golven in {unit}; * = significante verandering "
           "(t-toets, onafhankelijke steekproeven)", "pp": "procentpunten", "units": "eenheden"},
    "en": {"question": "Question", "base": "Base", "weight": "Weight", "wave": "Wave",
           "waves": "Waves", "ci": "{level}% confidence interval: {method}; standard errors by "
           "Taylor linearisation (sample strata and clusters)",
           "source": "Source", "all": "all respondents", "kept": "{kinds} are kept in the base",
           "not_kept": "don't know and no answer are left out of the base",
           "diff": "difference {b} - {a}", "counted": "Counted as yes: {codes}",
           "mean_of": "mean of {var}", "n_note": "n: unweighted number of respondents in the base",
           "percent_of": "weighted percentage", "ref": "Reference group for significance: "
           "{ref} (t-test on the difference, p < {alpha})",
           "change": "Difference between waves in {unit}; * = significant change "
           "(t-test, independent samples)", "pp": "percentage points", "units": "units"},
}
_CI_NAMES = {
    "nl": {"logit": "logit-methode", "xlogit": "logit-methode (xlogit)", "asin": "arcsinus-methode",
           "beta": "beta-methode (Korn-Graubard)", "t": "t-verdeling", "wald": "normale benadering"},
    "en": {"logit": "logit method", "xlogit": "logit method (xlogit)", "asin": "arcsine method",
           "beta": "beta method (Korn-Graubard)", "t": "t distribution", "wald": "normal approximation"},
}


def _group_order(codebook: Codebook, var: str, values: pd.Series) -> list[Any]:
    """Codes of ``var`` in the codebook's order, then any others sorted."""
    order = list(codebook.value_labels(var)) if var != "wave" else list(codebook.waves)
    present = [v for v in pd.unique(values.dropna())]
    known = [c for c in order if c in set(present)]
    return known + sorted(v for v in present if v not in set(order))


def _indicator_columns(frame: pd.DataFrame, kinds: pd.DataFrame, t: TableSpec,
                       codebook: Codebook) -> list[tuple[str, str, pd.Series]]:
    """The analysis columns of a table: (section key, section label placeholder, values).

    Proportions of ``codes`` become 0/1 (NaN outside the valid answers; kept missing
    kinds count as 0). A multiple-response set gives one 0/1 column per item.
    """
    ind = t.indicator
    keep = list(t.base.keep_missing)

    def prop(values: pd.Series, kind: pd.Series | None, codes: list[float]) -> pd.Series:
        out = values.isin(codes).astype(float).where(values.notna())
        if keep and kind is not None:
            out = out.mask(kind.isin(keep), 0.0)
        return out

    if ind.mr_set is not None:
        mr = codebook.mr_sets[ind.mr_set]
        counted = [float(mr.counted)] if not isinstance(mr.counted, list) else mr.counted
        return [(item, item, prop(frame[item], kinds.get(item), counted)) for item in mr.items]
    var = ind.name  # a variable: the multiple-response set was handled above
    if ind.stat == "mean":
        return [("", "", frame[var].astype(float))]
    if ind.codes is not None:
        return [("", "", prop(frame[var], kinds.get(var), ind.codes))]
    codes = list(codebook.value_labels(var)) or sorted(frame[var].dropna().unique())
    return [(f"{var}={c:g}", str(c), prop(frame[var], kinds.get(var), [c])) for c in codes]


def stacked_design(data: HarmonisedData, weight: str | None = None) -> Design:
    """One design over all loaded waves: strata made unique per wave (independent samples)."""
    frame = data.data
    cb = data.codebook
    waves = [str(w) for w in frame["wave"].cat.categories] if hasattr(frame["wave"], "cat") \
        else sorted(frame["wave"].astype(str).unique())
    roles = cb.design_variables(waves[0])
    wcol = weight or roles.get("weight")
    strata = roles.get("strata")
    psu = roles.get("psu")
    extra = {}
    wave = frame["wave"].astype(str)
    if strata:
        # (wave, stratum) pairs: any stratum codes or text, never colliding across waves;
        # a missing stratum stays missing, so Design names those rows
        codes, _ = pd.factorize(pd.MultiIndex.from_arrays([wave, frame[strata]]))
        stratum = codes.astype(float)
        stratum[frame[strata].isna().to_numpy()] = np.nan
        extra["_stratum"] = stratum
    else:
        extra["_stratum"] = wave.map({w: i for i, w in enumerate(waves)}).astype(float)
    frame = frame.assign(**extra)
    return Design(frame, weight=wcol, strata="_stratum", psu=psu)


def build_tables(book: BookSpecFile, data: HarmonisedData, *, lang: str = "nl", weight: str | None = None,
                 design: Design | None = None,
                 weight_label: str | None = None) -> tuple[TableResult, ...]:
    """Compute every table of ``book`` on harmonised ``data`` (:class:`sid.harmonise.HarmonisedData`).

    All waves share one design (:func:`stacked_design`: strata unique per wave),
    so a wave is a domain like any other; the table base is a ``where`` domain
    (zero-weighting). Each estimate comes from :func:`sid.estimation.estimate`,
    significance against the reference group and the change between waves
    from :func:`sid.estimation.compare`. ``weight_label`` names the weight in the
    footnotes (default: the weight column).
    """
    from sid.errors import CodebookError

    cb = data.codebook
    loaded = [str(w) for w in pd.unique(data.data["wave"].astype(str))]
    problems = check_spec(book, cb, loaded)
    if problems:
        raise CodebookError(f"{len(problems)} problem(s) in the table spec against the codebook",
                            where=book.path or "table spec", problems=tuple(problems),
                            fix="use the codebook's harmonised names, codes and waves")
    frame = data.data
    kinds = data.missing_kind
    columns: dict[str, pd.Series] = {}
    sections: dict[str, list[tuple[str, str]]] = {}
    from sid.tables.models import add_model_columns, build_model_table

    columns.update(add_model_columns(frame, book.tables))
    for t in book.tables:
        if t.indicator is None:  # a model table (sid.tables.models)
            continue
        sect: list[tuple[str, str]] = []
        for key, _label, values in _indicator_columns(frame, kinds, t, cb):
            col = f"_t_{t.id}_{len(sect)}"
            columns[col] = values
            sect.append((key, col))
        sections[t.id] = sect
    base = stacked_design(data, weight=weight) if design is None else design
    full = base.data.assign(**columns)
    design = _with_data(base, full)
    weight_name = book_weight_label(data, weight_label or weight)
    results = []
    src = book.spec.source.get(lang) if book.spec.source else "Samenleven in Diversiteit"
    for t in book.tables:
        if t.model is not None:
            results.append(build_model_table(t, design, cb, lang, weight_name, src))
            continue
        results.append(_build_one(t, design, cb, sections[t.id], lang, weight_name,
                                  book))
    return tuple(results)


def _with_data(design: Design, data: pd.DataFrame) -> Design:
    """The same design over a frame with extra (analysis) columns."""
    from dataclasses import fields

    kwargs = {f.name: getattr(design, f.name) for f in fields(design) if f.init}
    kwargs["data"] = data
    return Design(**kwargs)


def _section_label(t: TableSpec, key: str, cb: Codebook, lang: str) -> str:
    if key == "":
        return ""
    if t.indicator.mr_set is not None:
        label = cb.label(key, lang)
        return label.split(":", 1)[1].strip() if ":" in label else label
    var, code = key.split("=")
    return cb.value_labels(var, lang).get(float(code), code)


def _codebook_question(cb: Codebook, variable: str | None) -> Text | None:
    """The codebook's question text of ``variable`` (None for none, or for a derived variable)."""
    if not variable:
        return None
    question = getattr(cb.definition(variable), "question", None)
    return question if question else None


def _build_one(t: TableSpec, design: Design, cb: Codebook, sects: list[tuple[str, str]], lang: str,
               weight_name: str, book: BookSpecFile) -> TableResult:
    from sid.estimation import compare, estimate

    ui = _UI[lang]
    stat = "mean" if t.indicator.stat == "mean" else "proportion"
    scale = 1.0 if stat == "mean" else 100.0
    by = list(t.by)
    wave_where = f"wave in {list(t.waves)!r}"
    where = wave_where if not t.base.where else f"({t.base.where}) and {wave_where}"
    rule = Suppression(t.suppression.below, t.suppression.flag_below)
    parts = []
    for key, col in sects:
        est = estimate(design, stat, col, by=["wave", *by], where=where, ci=t.ci.method,
                       conf_level=t.ci.level)
        if stat == "proportion":
            est = est[est["category"] == "1"]
        est = est.copy()
        est["wave"] = est["wave"].astype(str)
        est = est[est["wave"].isin(t.waves)]
        est["p_value"] = np.nan
        if t.reference is not None:
            # per wave, so a group's p-value is the same as in a one-wave table
            cmps = []
            for w in t.waves:
                where_w = f"wave == {w!r}" if not t.base.where \
                    else f"({t.base.where}) and wave == {w!r}"
                cmps.append(compare(design, stat, col, by=by[0], reference=t.reference,
                                    within=["wave", *by[1:]], where=where_w,
                                    conf_level=t.ci.level))
            cmp = pd.concat(cmps, ignore_index=True)
            if stat == "proportion":
                cmp = cmp[cmp["category"] == "1"]
            cmp = cmp.assign(wave=cmp["wave"].astype(str))
            cmp = cmp[cmp["wave"].isin(t.waves)]
            est = est.merge(cmp[["wave", *by, "p_value"]].rename(columns={"p_value": "_p"}),
                            on=["wave", *by], how="left")
            est["p_value"] = est["_p"]
            est = est.drop(columns="_p")
        est["kind"] = "estimate"
        est["panel"] = est["wave"]
        est["panel_label"] = est["wave"]
        est["section"] = key
        est["section_label"] = _section_label(t, key, cb, lang)
        parts.append(est)
        if t.compare_waves:
            a, b = t.waves
            diff = compare(design, stat, col, by="wave", reference=a, within=by, where=where,
                           conf_level=t.ci.level)
            if stat == "proportion":
                diff = diff[diff["category"] == "1"]
            diff = diff[diff["wave"].astype(str) == b].copy()
            n_a = est[est["wave"] == a].set_index(by)["n"]
            n_b = est[est["wave"] == b].set_index(by)["n"]
            keyidx = pd.MultiIndex.from_frame(diff[by]) if len(by) > 1 else diff[by[0]]
            diff["n"] = np.minimum(n_a.reindex(keyidx).to_numpy(), n_b.reindex(keyidx).to_numpy())
            diff["n_weighted"] = np.nan
            diff["kind"] = "difference"
            diff["panel"] = "diff"
            diff["panel_label"] = ui["diff"].format(a=a, b=b)
            diff["section"] = key
            diff["section_label"] = _section_label(t, key, cb, lang)
            parts.append(diff)
    f = pd.concat(parts, ignore_index=True)
    f = f[f["n"].fillna(0) > 0] if "n" in f else f

    # group keys and labels in codebook order
    for b in by:
        f[b] = f[b].astype(float)
    labels = {b: cb.value_labels(b, lang) for b in by}
    orders = {b: _group_order(cb, b, f[b]) for b in by}
    rank = np.zeros(len(f))
    for b in by:
        pos = {v: i for i, v in enumerate(orders[b])}
        rank = rank * 100 + f[b].map(pos).to_numpy(dtype=float)
    f["_rank"] = rank
    f["group"] = f[by].apply(lambda r: "|".join(f"{v:g}" for v in r), axis=1) if len(by) > 1 \
        else f[by[0]].map(lambda v: f"{v:g}")
    f["group_label"] = f[by].apply(
        lambda r: ", ".join(labels[b].get(r[b], f"{r[b]:g}") for b in by), axis=1)
    f["is_reference"] = (f[by[0]] == t.reference) if t.reference is not None else False
    panel_rank = {w: i for i, w in enumerate(t.waves)} | {"diff": len(t.waves)}
    sect_rank = {k: i for i, (k, _) in enumerate(sects)}
    f["_srank"] = f["section"].map(sect_rank)
    f["_prank"] = f["panel"].map(panel_rank)
    f = f.sort_values(["_srank", "_rank", "_prank"], kind="stable").reset_index(drop=True)

    for c in ("estimate", "se", "ci_low", "ci_high"):
        f[c] = f[c].astype(float) * scale
    sup, flag = rule.apply(f["n"].to_numpy(dtype=float))
    if t.compare_waves:
        # a change is suppressed when either wave's estimate is
        est_sup = pd.Series(sup, index=f.index)[f["kind"] == "estimate"]
        key_sup = est_sup.groupby([f.loc[est_sup.index, "section"],
                                   f.loc[est_sup.index, "group"]]).any()
        is_diff = (f["kind"] == "difference").to_numpy()
        pairs = list(zip(f["section"], f["group"], strict=True))
        any_sup = np.array([bool(key_sup.get(p, True)) for p in pairs])
        sup = np.where(is_diff, any_sup, sup)
        flag = np.where(is_diff, False, flag)
    f["suppressed"] = sup
    f["flagged"] = flag
    f["significant"] = (f["p_value"] < t.alpha).where(f["p_value"].notna())
    f["n"] = f["n"].astype(np.int64)
    f["df"] = f["df"].astype(float)
    out = f[list(TABLE_COLUMNS)].copy()

    # texts
    ref_label = (cb.value_labels(by[0], lang).get(t.reference, f"{t.reference:g}")
                 if t.reference is not None else None)
    base_label = t.base.label.get(lang) if t.base.label else ui["all"]
    kept = ui["kept"].format(kinds=", ".join(t.base.keep_missing)) if t.base.keep_missing \
        else ui["not_kept"]
    waves_text = ", ".join(t.waves)
    notes = []
    question = t.question if t.question is not None else \
        _codebook_question(cb, t.indicator.variable)
    if question is not None:
        notes.append(f"{ui['question']}: {question.get(lang)}")
    if t.indicator.codes is not None:
        vl = cb.value_labels(t.indicator.name, lang)
        notes.append(ui["counted"].format(codes=", ".join(vl.get(c, f"{c:g}")
                                                         for c in t.indicator.codes)))
    notes.append(f"{ui['base']}: {base_label} ({kept}). {ui['n_note']}.")
    notes.append(f"{ui['weight']}: {weight_name}. "
                 f"{ui['waves'] if len(t.waves) > 1 else ui['wave']}: {waves_text}.")
    notes.append(ui["ci"].format(level=f"{t.ci.level * 100:g}",
                                 method=_CI_NAMES[lang][t.ci.method]) + ".")
    if ref_label is not None:
        alpha = f"{t.alpha:g}".replace(".", ",") if lang == "nl" else f"{t.alpha:g}"
        notes.append(ui["ref"].format(ref=ref_label, alpha=alpha) + ".")
    if t.compare_waves:
        notes.append(ui["change"].format(unit=ui["pp"] if stat == "proportion" else ui["units"])
                     + ".")
    notes.extend(n.get(lang) for n in t.notes)
    src = book.spec.source.get(lang) if book.spec.source else "Samenleven in Diversiteit"
    notes.append(f"{ui['source']}: {src} {waves_text}.")
    unit_text = ui["percent_of"] if stat == "proportion" else \
        ui["mean_of"].format(var=cb.label(t.indicator.name, lang))
    subtitle = f"{unit_text}; {ui['base'].lower()}: {base_label}; " \
               f"{(ui['waves'] if len(t.waves) > 1 else ui['wave']).lower()} {waves_text}"
    group_title = " x ".join(cb.label(b, lang) for b in by)
    return TableResult(id=t.id, title=t.title.get(lang), frame=out,
                       unit="percent" if stat == "proportion" else "mean",
                       decimals=t.decimals, group_title=group_title,
                       reference_label=ref_label, subtitle=subtitle, footnotes=tuple(notes),
                       suppression=rule, alpha=t.alpha)




def book_weight_label(data: HarmonisedData, weight: str | None = None) -> str:
    """The weight as footnotes and provenance name it: ``weight`` when given, else the
    codebook's design weight of the first loaded wave (``-`` when it has none)."""
    if weight:
        return weight
    first = str(pd.unique(data.data["wave"].astype(str))[0])
    return data.codebook.design_variables(first).get("weight") or "-"


def load_book_data(pairs: Sequence[tuple[str | None, Path]],
                   codebook: Codebook) -> HarmonisedData:
    """Read and harmonise the waves of a book: ``pairs`` are (wave or None, path), as
    :func:`sid.harmonise.split_wave_arg` gives them; every file must exist."""
    from sid.errors import InputError
    from sid.harmonise import load

    missing = [str(p) for _, p in pairs if not Path(p).is_file()]
    if missing:
        raise InputError("data file(s) not found", got=", ".join(missing),
                         fix="give existing wave files with --data")
    return load([f"{w}={p}" if w else str(p) for w, p in pairs], codebook)
