"""The ``model:`` table kind: spec, numbers (= sid.model), the Dutch sheet, the synthetic truth."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sid.errors import CodebookError

ROOT = Path(__file__).parent.parent
SPEC = ROOT / "sid" / "data" / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = ROOT / "sid" / "data" / "sid.yaml"
COVARIATES = "opleiding + leeftijd + geslacht + gewest"
WORKERS = "werksituatie in [1, 2]"

EXTRA = f"""
title: T
defaults: {{by: [herkomst], reference: 1, ci: {{method: logit, level: 0.95}}}}
tables:
  - id: werk_2017
    title: W
    model: {{outcome: {{variable: werkbeh, codes: [2, 3]}}, covariates: {COVARIATES}}}
    base: {{where: "{WORKERS}"}}
    waves: [2017]
  - id: vertrouwen_model
    title: V
    model: {{outcome: {{variable: vertrouwen}}, family: gaussian, covariates: {COVARIATES}}}
    waves: [2022]
  - id: werk_klein
    title: K
    model: {{outcome: {{variable: werkbeh, codes: [2, 3]}}, covariates: {COVARIATES}}}
    base: {{where: "{WORKERS}"}}
    waves: [2022]
    suppression: {{below: 360, flag_below: 400}}
"""


@pytest.fixture(scope="module")
def harmonised(synthetic_dir):
    from sid.harmonise import load

    return load([synthetic_dir / "sid2017.sav", synthetic_dir / "sid2022.sav"], CODEBOOK)


@pytest.fixture(scope="module")
def tables(harmonised):
    from sid.tables import build_tables, parse_spec, read_spec
    from sid.tables.spec import BookSpecFile

    book = read_spec(SPEC)
    shipped = book.spec.model_copy(update={"tables": [t for t in book.tables
                                                      if t.id == "werk_model"]})
    out = {t.id: t for t in build_tables(BookSpecFile(spec=shipped, path=book.path), harmonised)}
    out.update({t.id: t for t in build_tables(parse_spec(EXTRA, "extra.yaml"), harmonised)})
    return out


@pytest.fixture(scope="module")
def truth(synthetic_dir):
    return json.loads((synthetic_dir / "truth.json").read_text(encoding="utf-8"))["waves"]


def _direct(harmonised, wave: str, outcome: pd.Series, family: str, base: str | None):
    """The model fitted here with sid.model on the stacked design (not through the book)."""
    from sid.model import fit
    from sid.tables import stacked_design

    data = dataclasses.replace(harmonised, data=harmonised.data.assign(y_direct=outcome))
    where = f"wave == {wave!r}" if base is None else f"({base}) and wave == {wave!r}"
    return fit(stacked_design(data), f"y_direct ~ {COVARIATES} + herkomst", family, where,
               codebook=harmonised.codebook, categorical=("herkomst",))


def _werk(harmonised) -> pd.Series:
    v = harmonised.data["werkbeh"]
    return v.isin([2, 3]).astype(float).where(v.notna())


# --------------------------------------------------------------------------- numbers


def test_model_table_numbers_equal_sid_model(harmonised, tables):
    """Coefficients, term tests, crude and adjusted margins are sid.model's, to the last bit."""
    from sid.model import crude_and_adjusted, margins, term_tests

    cases = [("werk_model", "2022", _werk(harmonised), "binomial", WORKERS),
             ("werk_2017", "2017", _werk(harmonised), "binomial", WORKERS),
             ("vertrouwen_model", "2022", harmonised.data["vertrouwen"], "gaussian", None)]
    for tid, wave, outcome, family, base in cases:
        res = tables[tid]
        model = _direct(harmonised, wave, outcome, family, base)
        coef = model.coefficients
        got = res.coefficients
        assert list(got["term"]) == list(coef["term"])
        for c in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            np.testing.assert_allclose(got[c], coef[c], rtol=1e-10, err_msg=f"{tid} {c}")
        if family == "binomial":
            np.testing.assert_allclose(got["exp_estimate"], np.exp(coef["estimate"]), rtol=1e-12)
            np.testing.assert_allclose(got["exp_ci_low"], coef["exp_ci_low"], rtol=1e-10)
        else:
            assert got["exp_estimate"].isna().all()
        tests = term_tests(model)
        np.testing.assert_allclose(res.terms["statistic"], tests["statistic"], rtol=1e-10)
        np.testing.assert_allclose(res.terms["p_value"], tests["p_value"], rtol=1e-10)
        assert res.model_n == model.n and res.model_df == model.df_residual
        ca = crude_and_adjusted(model, "herkomst")
        scale = 100.0 if family == "binomial" else 1.0
        f = res.frame
        for panel, key in (("crude", "crude"), ("adjusted", "adjusted"), ("diff", "adjusted_diff")):
            part = f[f["panel"] == panel]
            assert list(part["group"]) == [f"{float(g):g}" for g in ca["herkomst"]]
            np.testing.assert_allclose(part["estimate"], scale * ca[key], rtol=1e-10,
                                       err_msg=f"{tid} {panel}")
            low = "adjusted_diff_ci_low" if panel == "diff" else f"{key}_ci_low"
            rest = slice(1, None) if panel == "diff" else slice(None)  # reference: no interval
            np.testing.assert_allclose(part["ci_low"].iloc[rest], scale * ca[low].iloc[rest],
                                       rtol=1e-10)
            if panel == "diff":
                assert part["ci_low"].isna().iloc[0] and part["estimate"].iloc[0] == 0
            assert list(part["n"]) == list(ca["n"])
        con = margins(model, "herkomst").contrasts()
        diff = f[f["panel"] == "diff"]
        np.testing.assert_allclose(diff["se"].iloc[1:], scale * con["se"], rtol=1e-10)
        np.testing.assert_allclose(diff["p_value"].iloc[1:], con["p_value"], rtol=1e-10)
        crude_p = f.loc[f["panel"] == "crude", "p_value"]
        assert crude_p.iloc[1:].between(0, 1).all() and np.isnan(crude_p.iloc[0])
        adj = f[f["panel"] == "adjusted"]
        np.testing.assert_allclose(adj["p_value"].iloc[1:], ca["adjusted_diff_p"].iloc[1:],
                                   rtol=1e-10)
        assert adj["p_value"].iloc[0] != adj["p_value"].iloc[0]  # the reference: no test


def test_coefficient_labels_are_dutch_value_labels(tables):
    labels = dict(zip(tables["werk_model"].coefficients["term"],
                      tables["werk_model"].coefficients["label"], strict=True))
    assert labels["opleiding3"] == "Opleiding: hoog (ref. laag)"
    assert labels["geslacht2"] == "Geslacht: vrouw (ref. man)"
    assert labels["gewest2"] == "Gewest: Brussels Hoofdstedelijk Gewest (ref. Vlaams Gewest)"
    assert labels["herkomst6"] == "Herkomst: Congolees (ref. Belgisch)"
    assert labels["leeftijd"] == "Leeftijd (per jaar)"
    assert labels["(Intercept)"] == "Constante"
    # without labels in the spec: the codebook's variable labels, "per eenheid" for a number
    v = dict(zip(tables["vertrouwen_model"].coefficients["term"],
                 tables["vertrouwen_model"].coefficients["label"], strict=True))
    assert v["opleiding2"] == "Opleidingsniveau: midden (ref. laag)"
    assert v["leeftijd"] == "Leeftijd (per eenheid)"
    t = tables["werk_model"]
    assert t.title == ("Niet correct behandeld op het werk naar herkomst, ruw en gecorrigeerd "
                       "voor opleiding, leeftijd, geslacht en gewest")
    notes = " ".join(t.footnotes)
    assert "logistische regressie (logit) van niet correct behandeld op het werk (soms, vaak) " \
           "op opleiding, leeftijd, geslacht, gewest en herkomst" in notes
    assert f"t-verdeling op {t.model_df:g} vrijheidsgraden" in notes
    assert "Gewicht: base_wt" in notes and "Basis: personen aan het werk" in notes
    assert list(t.terms["label"]) == ["Opleiding", "Leeftijd (per jaar)", "Geslacht", "Gewest",
                                      "Herkomst"]


def test_suppression_of_small_groups(tables):
    """Groups under the rule: their margins and their coefficients are suppressed."""
    t = tables["werk_klein"]
    f = t.frame
    n = f[f["panel"] == "crude"].set_index("group")["n"]
    small = set(n[n < 360].index)
    assert small and small != set(n.index)
    assert set(f.loc[f["suppressed"], "group"]) == small
    flagged = set(f.loc[f["flagged"], "group"])
    assert flagged == set(n[(n >= 360) & (n < 400)].index)
    c = t.coefficients.set_index("term")
    for g in n.index:
        if g != "1":
            assert bool(c.loc[f"herkomst{g}", "suppressed"]) == (g in small)
    assert not c.loc["leeftijd", "suppressed"]


# --------------------------------------------------------------------------- the sheet


def _sheet(tables, tid, tmp_path, lang="nl"):
    from openpyxl import load_workbook

    from sid.export import Provenance
    from sid.export.excel import write_table_book

    prov = Provenance(inputs=(), weight="base_wt", version="test", created="nu", command="test")
    path = write_table_book([tables[tid]], tmp_path / f"{tid}.xlsx", provenance=prov, lang=lang)
    return load_workbook(path)[tid]


def _rows(ws):
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_sheet_shows_the_tables_numbers(tables, tmp_path):
    """The sheet's cells are the table's numbers: groups (crude, adjusted, difference),
    odds ratios with CI, p and n, term tests, footnotes."""
    from sid.export.excel_model import model_sheet_rows

    t = tables["werk_model"]
    rows = _rows(_sheet(tables, "werk_model", tmp_path))
    assert rows[0][0] == t.title
    assert rows[4][:3] == ["Herkomst", "n (ongewogen)", "%"]
    f = t.frame.set_index(["panel", "group_label"])
    first = next(i for i, r in enumerate(rows) if r[0] == "Belgisch (referentiegroep)")
    for r in rows[first:first + 7]:
        group = r[0].replace(" (referentiegroep)", "")
        assert r[1] == f.loc[("crude", group), "n"]
        for c0, panel in ((2, "crude"), (6, "adjusted")):
            rec = f.loc[(panel, group)]
            assert r[c0:c0 + 3] == pytest.approx([rec.estimate, rec.ci_low, rec.ci_high],
                                                 rel=1e-12)
            assert (r[c0 + 3] == "*") == bool(rec.significant is True)
        if group != "Belgisch":
            rec = f.loc[("diff", group)]
            assert r[10:13] == pytest.approx([rec.estimate, rec.ci_low, rec.ci_high], rel=1e-12)
            assert r[13] == "< 0,001" if rec.p_value < 0.001 else r[13] == pytest.approx(rec.p_value)
    head = next(i for i, r in enumerate(rows) if r[0] == "Het model: odds ratio's")
    assert rows[head + 1][:6] == ["Term", "odds ratio", "95%-BI ondergrens",
                                  "95%-BI bovengrens", "p-waarde", "n (ongewogen)"]
    shown = model_sheet_rows(t)
    assert "(Intercept)" not in set(shown["term"])  # odds ratios: no constant
    for k, rec in enumerate(shown.itertuples(), start=head + 2):
        r = rows[k]
        assert r[0] == rec.label
        assert r[1:4] == pytest.approx([rec.value, rec.ci_low, rec.ci_high], rel=1e-12)
        assert r[5] == rec.n
    c = t.coefficients.set_index("term")
    assert shown.set_index("term").loc["herkomst6", "value"] == pytest.approx(
        np.exp(c.loc["herkomst6", "estimate"]), rel=1e-12)
    tests = next(i for i, r in enumerate(rows) if r[0] == "Toetsen per term (Wald-F)")
    for k, rec in enumerate(t.terms.itertuples(), start=tests + 2):
        assert rows[k][0] == rec.label
        assert rows[k][1] == pytest.approx(rec.statistic, rel=1e-12)
        assert rows[k][2:4] == [rec.df_num, rec.df_den]
    notes = [r[0] for r in rows[rows.index(next(r for r in rows if r[0] == "Noten")):]]
    assert any(str(n).startswith("Odds ratio's: > 1 betekent") for n in notes)
    assert any(str(n).startswith("*: significant verschillend van Belgisch") for n in notes)


def test_sheet_gaussian_and_suppressed(tables, tmp_path):
    rows = _rows(_sheet(tables, "vertrouwen_model", tmp_path))
    head = next(i for i, r in enumerate(rows) if r[0] == "Het model: coëfficiënten")
    assert rows[head + 1][1] == "coëfficiënt (B)"
    assert rows[head + 2][0] == "Constante"
    c = tables["vertrouwen_model"].coefficients
    assert rows[head + 2][1] == pytest.approx(c["estimate"].iloc[0], rel=1e-12)
    rows = _rows(_sheet(tables, "werk_klein", tmp_path))
    t = tables["werk_klein"]
    f = t.frame
    small = f.loc[f["suppressed"] & (f["panel"] == "crude"), "group_label"]
    for label in small:
        r = next(r for r in rows if r[0] in (label, f"{label} (referentiegroep)"))
        assert r[2:5] == ["x", "x", "x"] and r[6:9] == ["x", "x", "x"]
        assert isinstance(r[1], int)  # the base itself is shown, as on the other sheets
    flagged = f.loc[f["flagged"] & (f["panel"] == "crude"), "group_label"]
    for label in flagged:
        assert next(r for r in rows if r[0] == label)[14] == "(!)"
    c = t.coefficients
    hidden = c.loc[c["suppressed"], "label"]
    assert len(hidden) == len(small) - 1  # every small group but the reference
    for label in c.loc[c["term"] != "(Intercept)", "label"]:  # odds ratios: no constant
        r = next(r for r in rows if r[0] == label)
        assert (r[1:4] == ["x", "x", "x"]) == (label in set(hidden))
    assert any(str(r[0]).startswith("x: niet getoond") for r in rows)


# --------------------------------------------------------------------------- the synthetic truth


def test_adjusted_margins_cover_the_synthetic_truth(tables, truth):
    """On the default-seed demo data, the 95% CIs of the adjusted margins cover the census
    predictive margins of truth.json (at most one miss over the 20 groups of three models),
    and the coefficients' CIs cover the census coefficients."""
    cases = (("werk_model", "2022", "werk_niet_correct", 100.0),
             ("werk_2017", "2017", "werk_niet_correct", 100.0),
             ("vertrouwen_model", "2022", "vertrouwen", 1.0))
    missed, total, coef_missed, coef_total = [], 0, [], 0
    for tid, wave, key, scale in cases:
        block = truth[wave]["models"][key]
        f = tables[tid].frame
        adj = f[f["panel"] == "adjusted"].set_index("group")
        for g, value in block["groups"].items():
            rec = adj.loc[g]
            total += 1
            if not rec.ci_low <= scale * value["adjusted"] <= rec.ci_high:
                missed.append((tid, g))
        c = tables[tid].coefficients.set_index("term")
        assert set(c.index) == set(block["coefficients"])
        for term, value in block["coefficients"].items():
            coef_total += 1
            if not c.loc[term, "ci_low"] <= value <= c.loc[term, "ci_high"]:
                coef_missed.append((tid, term))
    assert total == 20 and len(missed) <= 1, missed
    assert coef_total == 35 and len(coef_missed) <= 2, coef_missed


def test_adjustment_moves_the_gap(tables, truth):
    """Education, age, sex and region explain part of the Congolese-Belgian gap: in the
    truth and in the book's estimates."""
    t = truth["2022"]["models"]["werk_niet_correct"]["groups"]
    crude_gap = t["6"]["crude"] - t["1"]["crude"]
    adjusted_gap = t["6"]["adjusted"] - t["1"]["adjusted"]
    assert crude_gap > 0.2 and crude_gap - adjusted_gap > 0.05
    f = tables["werk_model"].frame.set_index(["panel", "group"])
    est_crude = f.loc[("crude", "6"), "estimate"] - f.loc[("crude", "1"), "estimate"]
    est_adj = f.loc[("adjusted", "6"), "estimate"] - f.loc[("adjusted", "1"), "estimate"]
    assert est_crude - est_adj > 3  # percentage points
    assert f.loc[("diff", "6"), "estimate"] == pytest.approx(est_adj, rel=1e-12)


# --------------------------------------------------------------------------- spec errors


def _problems(text: str) -> list[str]:
    from sid.tables import parse_spec

    with pytest.raises(CodebookError) as err:
        parse_spec(text, "m.yaml")
    return list(err.value.problems)


def test_model_spec_errors_one_line_each():
    head = "title: T\ndefaults: {waves: [2022]}\ntables:\n"
    table = "  - id: m\n    title: M\n"
    model = "    model: {outcome: {variable: werkbeh, codes: [2, 3]}, covariates: leeftijd}\n"
    cases = {
        table + model + "    indicator: {variable: werkbeh}\n":
            "m.yaml:4: tables.0: Value error, give exactly one of 'indicator' or 'model'",
        table: "m.yaml:4: tables.0: Value error, give exactly one of 'indicator' or 'model'",
        table + "    model: {outcome: {variable: werkbeh}, covariates: leeftijd}\n":
            "m.yaml:6: tables.0.model: Value error, a binomial model needs outcome 'codes' "
            "(the answers counted as 1)",
        table + "    model: {outcome: {variable: vertrouwen, codes: [1]}, family: gaussian, "
                "covariates: leeftijd}\n":
            "m.yaml:6: tables.0.model: Value error, a gaussian model takes the outcome as it "
            "is: give no 'codes'",
        table + model + "    waves: [2017, 2022]\n":
            "m.yaml:4: tables.0: Value error, a model table takes one 'by' variable (the "
            "margins), one wave and no compare_waves",
        table + model + "    by: [herkomst, geslacht]\n":
            "m.yaml:4: tables.0: Value error, a model table takes one 'by' variable (the "
            "margins), one wave and no compare_waves",
        table + "    model: {outcome: {variable: werkbeh, codes: [2]}, family: logit, "
                "covariates: leeftijd}\n":
            "m.yaml:6: tables.0.model.family: Input should be 'binomial', 'gaussian' or "
            "'poisson' (got 'logit')",
        table + "    model: {outcome: {variable: werkbeh, codes: [2]}, covariate: leeftijd}\n":
            "m.yaml:6: tables.0.model.covariate: unknown key; did you mean 'covariates'? "
            "(allowed: outcome, family, covariates, labels)",
    }
    for body, expected in cases.items():
        problems = _problems(head + body)
        assert all("\n" not in p for p in problems)
        assert expected in problems, (body, problems)


def test_model_spec_cross_check_against_codebook():
    from sid.codebook import load_codebook
    from sid.tables import check_spec, parse_spec

    book = parse_spec("""title: T
defaults: {waves: [2022], by: [herkomst]}
tables:
  - id: m
    title: M
    model:
      outcome: {variable: werkbeh, codes: [2, 7]}
      covariates: C(opleding) + leeftijd + I(leeftijd^2) + geslaht
      labels: {gewest: Gewest}
  - id: n
    title: N
    model: {outcome: {variable: vertrouwn}, family: gaussian, covariates: leeftijd}
""", "m.yaml")
    problems = check_spec(book, load_codebook(CODEBOOK))
    assert problems == [
        "m.yaml:7: tables.0.model.outcome.codes: 7 are not codes of 'werkbeh' (codes: 1, 2, 3)",
        "m.yaml:8: tables.0.model.covariates: 'opleding' is not in the codebook; did you mean "
        "'opleiding'?",
        "m.yaml:8: tables.0.model.covariates: 'geslaht' is not in the codebook; did you mean "
        "'geslacht'?",
        "m.yaml:9: tables.0.model.labels: 'gewest' is not a covariate or the 'by' variable of "
        "this model ('opleding', 'leeftijd', 'geslaht', 'herkomst')",
        "m.yaml:12: tables.1.model.outcome.variable: 'vertrouwn' is not in the codebook; did "
        "you mean 'vertrouwen'?",
    ]


def test_formula_variables():
    from sid.tables.models import formula_variables

    assert formula_variables("C(opleiding) + leeftijd + I(leeftijd ** 2) + geslacht:gewest") == [
        "opleiding", "leeftijd", "geslacht", "gewest"]
    assert formula_variables("np.log(leeftijd) + center(x_1) + I(x_1 > 1e3)") == ["leeftijd", "x_1"]
