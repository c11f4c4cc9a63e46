"""The tables of a table book: every table of a spec computed on harmonised waves.

:func:`build_tables` computes every table of a spec with
:func:`sid.estimation.estimate` / :func:`sid.estimation.contrasts` and applies the
suppression rule; the result is a tuple of immutable :class:`TableResult`.
All waves share one design (:func:`stacked_design`); a table's base and wave
are domains made by zero-weighting, never by deleting rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import EstimationError, show_values
from sid.tables.spec import BookSpecFile, Indicator, TableSpec, check_spec
from sid.tables.suppression import Suppression

if TYPE_CHECKING:
    from sid.codebook import Codebook, Text
    from sid.harmonise import HarmonisedData
    from sid.io import Wave

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
           "{ref}{within} (t-toets op het verschil, p < {alpha})",
           "within": " binnen elk blok ({by})",
           "design_only": "alleen met het ontwerpgewicht gewogen",
           "ref_hidden": "Geen significantietoets (*){where}: de referentiegroep {ref} heeft "
           "daar minder dan {below} respondenten en wordt niet getoond (x), dus er is geen "
           "zichtbaar cijfer om mee te vergelijken.",
           "not_asked": "–: niet bevraagd ({what}); deze groep zat toen niet in de steekproef.",
           "kg": "b: bij minder dan {few} ja- of nee-antwoorden (ongewogen) in een groep is het "
           "interval berekend met de beta-methode van Korn en Graubard (NCHS-norm); de "
           "logit-methode geeft dan een te smal of leeg interval.",
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
           "{ref}{within} (t-test on the difference, p < {alpha})",
           "within": " within each block ({by})",
           "design_only": "weighted with the design weight only",
           "ref_hidden": "No significance test (*){where}: the reference group {ref} has fewer "
           "than {below} respondents there and is not shown (x), so there is no visible figure "
           "to compare with.",
           "not_asked": "–: not surveyed ({what}); this group was not in that sample.",
           "kg": "b: where a group has fewer than {few} yes or no answers (unweighted), the "
           "interval is the Korn-Graubard beta interval (NCHS standard); the logit interval "
           "is then too narrow or empty.",
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
    ind = _indicator(t)
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
                 design: Design | None = None, weight_label: str | None = None,
                 progress: Callable[[int, int, str], None] | None = None,
                 parallel: bool = False) -> tuple[TableResult, ...]:
    """Compute every table of ``book`` on harmonised ``data`` (:class:`sid.harmonise.HarmonisedData`).

    All waves share one design (:func:`stacked_design`: strata unique per wave),
    so a wave is a domain like any other; the table base is a ``where`` domain
    (zero-weighting). Each estimate comes from :func:`sid.estimation.estimate`,
    significance against the reference group and the change between waves
    from :func:`sid.estimation.contrasts`. ``weight_label`` names the weight in the
    footnotes (default: the weight column).

    ``parallel``: the later tables are computed in a forked child process while this one
    computes the first ones (:func:`sid.parallel.run_pair`; one after the other where
    there is no fork): the same tables, progress reported in order (`sid tables`).
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
    weight_name = book_weight_label(data, weight_label or weight, lang)
    first = str(pd.unique(data.data["wave"].astype(str))[0])
    design_weight = cb.design_variables(first).get("weight")
    design_only = weight is None or weight == design_weight
    src = book.spec.source.get(lang) if book.spec.source else "Samenleven in Diversiteit"
    numbered = list(enumerate(book.tables, start=1))

    def build(part: list[tuple[int, TableSpec]], report: bool = True) -> list[TableResult]:
        results: list[TableResult] = []
        for i, t in part:
            if t.model is not None:
                results.append(build_model_table(t, design, cb, lang, weight_name, src))
            else:
                results.append(_build_one(t, design, cb, sections[t.id], lang, weight_name,
                                          book, design_only))
            if progress is not None and report:
                progress(i, len(numbered), t.id)
        return results

    cut = _halfway([_table_cost(t, sections) for _, t in numbered])
    if not parallel or cut in (0, len(numbered)):
        return tuple(build(numbered))
    from sid.parallel import run_pair

    ids = [t.id for _, t in numbered]
    # the child's tables are reported when they arrive, after this process's: in order
    head, tail = run_pair(lambda: build(numbered[:cut]),
                          lambda: build(numbered[cut:], report=False),
                          what=f"the tables {ids[cut]}-{ids[-1]}")
    if progress is not None:
        for i, t in numbered[cut:]:
            progress(i, len(numbered), t.id)
    return tuple(head + tail)


def _table_cost(t: TableSpec, sections: dict[str, list[tuple[str, str]]]) -> float:
    """A table's work, roughly: its estimate sets (sections x waves); a model table's fits
    weigh as four."""
    return (4.0 if t.model is not None else len(sections[t.id])) * max(len(t.waves), 1)


def _halfway(costs: list[float]) -> int:
    """Where to cut ``costs`` in two runs of near-equal sum (0 or len: do not cut)."""
    if len(costs) < 2:
        return len(costs)
    total = float(sum(costs))
    prefix = np.cumsum(costs)
    return int(np.argmin(np.abs(prefix[:-1] - total / 2))) + 1


def _reference_suppressed(f: pd.DataFrame) -> pd.Series:
    """Rows whose reference group (same block and wave) is suppressed or absent: no
    significance marker there, as the reader cannot see what they would differ from."""
    est = f["kind"] == "estimate"
    ref = f[est & f["is_reference"].astype(bool)]
    hidden = {(s, p) for s, p, x in zip(ref["section"], ref["panel"], ref["suppressed"],
                                        strict=True) if bool(x)}
    shown = {(s, p) for s, p, x in zip(ref["section"], ref["panel"], ref["suppressed"],
                                       strict=True) if not bool(x)}
    keys = list(zip(f["section"], f["panel"], strict=True))
    bad = [(k in hidden or k not in shown) for k in keys]
    return pd.Series(bad, index=f.index) & est & ~f["is_reference"].astype(bool)


def _blocks_text(rows: pd.DataFrame, waves: bool, lang: str) -> str:
    """Blocks (and waves) named in a footnote, e.g. "Pools (2022)"."""
    parts = []
    for _key, grp in rows.groupby(["section", "panel"], sort=False):
        label = str(grp["section_label"].iloc[0])
        wave = str(grp["panel_label"].iloc[0])
        text = label if label else ""
        if waves:
            text = f"{text} ({wave})" if text else wave
        parts.append(text)
    parts = [p for p in dict.fromkeys(parts) if p]
    return (" " + ("in: " if lang == "nl" else "in: ") + ", ".join(parts)) if parts else ""


def _not_asked(design: Design, t: TableSpec, main: str, f: pd.DataFrame, cb: Codebook,
               lang: str) -> list[str]:
    """Groups that were not in a wave's sample at all (e.g. Afghaans in 2017): their cells
    are structurally empty (shown as a dash), not suppressed."""
    if len(t.waves) < 2:
        return []
    data = design.data
    wave = data["wave"].astype(str)
    labels = cb.value_labels(main, lang)
    groups = pd.unique(f["group"])
    out = []
    for w in t.waves:
        present = {f"{v:g}" for v in pd.unique(data.loc[wave == w, main].dropna().astype(float))}
        missing = [g for g in groups if g not in present]
        if missing:
            names = ", ".join(labels.get(float(g), g) for g in missing)
            out.append(f"{names} {('in' if lang == 'nl' else 'in')} {w}")
    return out


def _capitalised(text: str) -> str:
    """A row-block heading starts with a capital ("herkomst" -> "Herkomst")."""
    return text[:1].upper() + text[1:] if text else text


def _blocks(f: pd.DataFrame, t: TableSpec, cb: Codebook, lang: str,
            sects: list[tuple[str, str]]) -> pd.DataFrame:
    """Groups, labels and order of the rows. The first ``by`` variable makes the groups;
    further ``by`` variables split the rows into blocks (e.g. one block per sex), each with
    its own reference group, so a block holds one reference group, as the note names it."""
    by = list(t.by)
    for b in by:
        f[b] = f[b].astype(float)
    labels = {b: cb.value_labels(b, lang) for b in by}
    orders = {b: _group_order(cb, b, f[b]) for b in by}

    def rank_of(cols: list[str]) -> np.ndarray:
        rank = np.zeros(len(f))
        for b in cols:
            pos = {v: i for i, v in enumerate(orders[b])}
            rank = rank * 100 + f[b].map(pos).to_numpy(dtype=float)
        return rank

    main, rest = by[0], by[1:]
    f["_rank"] = rank_of([main])
    f["_brank"] = rank_of(rest)
    f["group"] = f[main].map(lambda v: f"{v:g}")
    f["group_label"] = f[main].map(lambda v: labels[main].get(v, f"{v:g}"))
    f["is_reference"] = (f[main] == t.reference) if t.reference is not None else False
    sect_rank = {k: i for i, (k, _) in enumerate(sects)}
    f["_srank"] = f["section"].map(sect_rank)
    f["section_label"] = f["section_label"].map(_capitalised)
    if rest:
        block_key = f[rest].apply(lambda r: "|".join(f"{r[b]:g}" for b in rest), axis=1)
        block_label = f[rest].apply(
            lambda r: ", ".join(labels[b].get(r[b], f"{r[b]:g}") for b in rest), axis=1)
        f["section"] = [f"{s}|{k}" if s else k for s, k in zip(f["section"], block_key,
                                                                  strict=True)]
        f["section_label"] = [_capitalised(f"{sl} - {bl}" if sl else bl)
                              for sl, bl in zip(f["section_label"], block_label, strict=True)]
    panel_rank = {w: i for i, w in enumerate(t.waves)} | {"diff": len(t.waves)}
    f["_prank"] = f["panel"].map(panel_rank)
    return f.sort_values(["_srank", "_brank", "_rank", "_prank"],
                         kind="stable").reset_index(drop=True)


def _with_data(design: Design, data: pd.DataFrame) -> Design:
    """The same design over a frame with extra (analysis) columns."""
    from dataclasses import fields

    kwargs = {f.name: getattr(design, f.name) for f in fields(design) if f.init}
    kwargs["data"] = data
    return Design(**kwargs)


def _indicator(t: TableSpec) -> Indicator:
    """The indicator of a crosstab table: the spec gives a table exactly one of an
    indicator or a model (TableSpec._waves), and model tables never get here."""
    assert t.indicator is not None, f"table {t.id}: a model table has no indicator"
    return t.indicator


def _section_label(t: TableSpec, key: str, cb: Codebook, lang: str) -> str:
    if key == "":
        return ""
    if _indicator(t).mr_set is not None:
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
               weight_name: str, book: BookSpecFile, design_only: bool = False) -> TableResult:
    from sid.estimation import compare, estimate, where_mask
    from sid.tables.disclosure import breakdown_problems, cell_problems, refuse
    from sid.tables.estimates import section_estimates, wave_change, wave_contrast
    from sid.tables.intervals import rare_outcome_intervals

    ui = _UI[lang]
    ind = _indicator(t)
    stat = "mean" if ind.stat == "mean" else "proportion"
    scale = 1.0 if stat == "mean" else 100.0
    by = list(t.by)
    wave_where = f"wave in {list(t.waves)!r}"
    where = wave_where if not t.base.where else f"({t.base.where}) and {wave_where}"
    rule = Suppression(t.suppression.below, t.suppression.flag_below)
    parts = []
    # aggregates only (sid.tables.disclosure): no breakdown that singles out respondents
    in_base = where_mask(design, where)  # the table's base: the same for all its columns
    refuse(breakdown_problems(design.data, by, in_base, design.w,
                              where=f"table {t.id}"))
    for key, col in sects:
        shared = section_estimates(design, t, stat, col, by, where)
        est = shared[0] if shared is not None else \
            estimate(design, stat, col, by=["wave", *by], where=where, ci=t.ci.method,
                     conf_level=t.ci.level, empty="cell")
        refuse(cell_problems(est["n"], est["n"] >= rule.below, where=f"table {t.id}"))
        if stat == "proportion":
            est = est[est["category"] == "1"]
            if t.ci.method == "logit":
                est = rare_outcome_intervals(design, col, by, where, est, t.ci.level, in_base,
                                              shared[1] if shared is not None else None)
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
                cmps.append(wave_contrast(shared[1], design, stat, col, by, t.reference, w,
                                          where_w, t.ci.level) if shared is not None else
                            compare(design, stat, col, by=by[0], reference=t.reference,
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
            if shared is not None:  # the same estimate set: compare()'s numbers
                diff = wave_change(shared[1], design, stat, col, by, a, where, t.ci.level)
            else:
                diff = compare(design, stat, col, by="wave", reference=a, within=by,
                               where=where, conf_level=t.ci.level)
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

    f = _blocks(f, t, cb, lang, sects)

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
    no_test = _reference_suppressed(f) if t.reference is not None else pd.Series(False, f.index)
    f["significant"] = f["significant"].astype(object).where(~no_test, np.nan)
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
        _codebook_question(cb, ind.variable)
    if question is not None:
        notes.append(f"{ui['question']}: {question.get(lang)}")
    if ind.codes is not None:
        vl = cb.value_labels(ind.name, lang)
        notes.append(ui["counted"].format(codes=", ".join(vl.get(c, f"{c:g}")
                                                         for c in ind.codes)))
    notes.append(f"{ui['base']}: {base_label} ({kept}). {ui['n_note']}.")
    notes.append(f"{ui['weight']}: {weight_name}. "
                 f"{ui['waves'] if len(t.waves) > 1 else ui['wave']}: {waves_text}.")
    notes.append(ui["ci"].format(level=f"{t.ci.level * 100:g}",
                                 method=_CI_NAMES[lang][t.ci.method]) + ".")
    if t.ci.method == "logit" and ((out["ci_method"] == "beta") & ~out["suppressed"]).any():
        from sid.tables.intervals import FEW

        notes.append(ui["kg"].format(few=FEW))
    if ref_label is not None:
        alpha = f"{t.alpha:g}".replace(".", ",") if lang == "nl" else f"{t.alpha:g}"
        within = ui["within"].format(by=", ".join(cb.label(b, lang).lower() for b in by[1:])) \
            if len(by) > 1 else ""
        notes.append(ui["ref"].format(ref=ref_label, alpha=alpha, within=within) + ".")
        if no_test.any():
            where_no = _blocks_text(f[no_test], len(t.waves) > 1, lang)
            notes.append(ui["ref_hidden"].format(ref=ref_label, below=rule.below,
                                                 where=where_no))
    absent = _not_asked(design, t, by[0], f, cb, lang)
    if absent:
        notes.append(ui["not_asked"].format(what="; ".join(absent)))
    if t.compare_waves:
        notes.append(ui["change"].format(unit=ui["pp"] if stat == "proportion" else ui["units"])
                     + ".")
    notes.extend(n.get(lang) for n in t.notes)
    src = book.spec.source.get(lang) if book.spec.source else "Samenleven in Diversiteit"
    notes.append(f"{ui['source']}: {src} {waves_text}.")
    unit_text = ui["percent_of"] if stat == "proportion" else \
        ui["mean_of"].format(var=cb.label(ind.name, lang))
    if design_only:  # never "gewogen" alone when only the design weight is used
        unit_text = f"{unit_text} ({ui['design_only']})"
    subtitle = f"{unit_text}; {ui['base'].lower()}: {base_label}; " \
               f"{(ui['waves'] if len(t.waves) > 1 else ui['wave']).lower()} {waves_text}"
    group_title = cb.label(by[0], lang)  # further by variables name the row blocks
    return TableResult(id=t.id, title=t.title.get(lang), frame=out,
                       unit="percent" if stat == "proportion" else "mean",
                       decimals=t.decimals, group_title=group_title,
                       reference_label=ref_label, subtitle=subtitle, footnotes=tuple(notes),
                       suppression=rule, alpha=t.alpha)




def book_weight_label(data: HarmonisedData, weight: str | None = None,
                      lang: str = "nl") -> str:
    """The weight as footnotes name it: ``weight`` when given (a description), else the
    codebook's label of the design weight of the first loaded wave and its name, said to
    be the design weight only (``-`` when there is none)."""
    if weight:
        return weight
    first = str(pd.unique(data.data["wave"].astype(str))[0])
    name = data.codebook.design_variables(first).get("weight")
    if not name:
        return "-"
    label = data.codebook.label(name, lang) if name in data.codebook.names else name
    only = "alleen het ontwerpgewicht, zonder correctie voor non-respons of kalibratie" \
        if lang == "nl" else "the design weight only, without nonresponse or calibration " \
        "adjustment"
    var = "variabele" if lang == "nl" else "variable"
    return f"{label} ({var} {name}): {only}"


def load_book_data(pairs: Sequence[tuple[str | None, Path]],
                   codebook: Codebook,
                   read: Callable[[Path], Wave] | None = None) -> HarmonisedData:
    """Read and harmonise the waves of a book: ``pairs`` are (wave or None, path), as
    :func:`sid.harmonise.split_wave_arg` gives them; every file must exist.

    ``read`` reads a whole wave file as ``sid.io.read_wave(path)`` does, e.g. once per file
    for a command that also hashes the file's content. The waves are then harmonised from
    what it returns: the same data :func:`sid.harmonise.load` reads (it reads only the
    codebook's columns), as long as the file declares the text encoding the codebook
    names for its wave (or the codebook names none); otherwise the wave is read again
    in the codebook's encoding, as :func:`sid.harmonise.load` does."""
    from sid.errors import InputError
    from sid.harmonise import harmonise, load, resolve_files
    from sid.io import read_wave

    missing = [str(p) for _, p in pairs if not Path(p).is_file()]
    if missing:
        raise InputError("data file(s) not found", got=", ".join(missing),
                         fix="give existing wave files with --data")
    items = [f"{w}={p}" if w else str(p) for w, p in pairs]
    if read is None:
        return load(items, codebook)
    waves = {}
    for wave_id, path in resolve_files(items, codebook).items():
        wave = read(path)
        encoding = codebook.wave(wave_id).encoding
        if encoding and not _same_encoding(wave.meta.encoding, encoding):
            wanted = {codebook.source(n, wave_id) for n in codebook.variables}
            wave = read_wave(path, columns=[c for c in wave.meta.columns if c in wanted],
                             encoding=encoding)
        waves[wave_id] = wave
    return harmonise(waves, codebook)


def _same_encoding(a: str | None, b: str) -> bool:
    """Whether two encoding names name the same codec ("UTF-8", "utf8")."""
    import codecs

    try:
        return a is not None and codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return False
