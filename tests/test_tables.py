"""Tests of sid.tables: crosstabs against R's survey (golden numbers), specs, suppression."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sid.design import Design
from sid.errors import EstimationError
from sid.tables import crosstab

REF = Path(__file__).parent / "reference"
RTOL = 1e-9

CASES = pd.read_csv(REF / "crosstab_cases.csv", keep_default_na=False)
GOLD = pd.read_csv(REF / "crosstab_golden.csv", keep_default_na=False)


def _design(case: pd.Series) -> Design:
    data = pd.read_csv(REF / "data" / f"crosstab_{case['data']}.csv")
    args = dict(part.split("=") for part in case["design"].split(";"))
    return Design(data, **args)


def _gold(case: str, quantity: str) -> pd.Series:
    g = GOLD[(GOLD["case"] == case) & (GOLD["quantity"] == quantity)]
    if g["row"].iloc[0] == "":
        return pd.Series([float(g["value"].iloc[0])])
    g = g.assign(row=g["row"].astype(float), col=g["col"].astype(float))
    return g.sort_values(["row", "col"])["value"].astype(float).reset_index(drop=True)


@pytest.fixture(scope="module", params=list(CASES["case"]))
def case(request):
    row = CASES.set_index("case").loc[request.param]
    row = row.copy()
    row["case"] = request.param
    return row


def test_rao_scott_matches_r(case):
    """svychisq(~row+col, subset(design, where), statistic = "F" and "Chisq")."""
    res = crosstab(_design(case), case["row"], case["col"], where=case["where"] or None)
    f = res.tests.set_index("test").loc["F"]
    x = res.tests.set_index("test").loc["Chisq"]
    name = case["case"]
    for got, q in ((f.statistic, "F"), (f.df_num, "F_ndf"), (f.df_den, "F_ddf"),
                   (f.p_value, "F_p"), (x.statistic, "X2"), (x.df_num, "X2_df"),
                   (x.p_value, "X2_p")):
        assert got == pytest.approx(_gold(name, q)[0], rel=RTOL), q


@pytest.mark.parametrize("percent,quantity", [("row", "rowpct"), ("col", "colpct"),
                                              ("cell", "cell")])
def test_cells_match_r(case, percent, quantity):
    """Counts (svytotal) and percentages (svymean / svyby) with their SEs."""
    res = crosstab(_design(case), case["row"], case["col"], where=case["where"] or None,
                   percent=percent)
    name = case["case"]
    np.testing.assert_allclose(res.cells["estimate"], _gold(name, quantity), rtol=RTOL)
    np.testing.assert_allclose(res.cells["se"], _gold(name, f"{quantity}_se"), rtol=RTOL)
    np.testing.assert_allclose(res.cells["count"], _gold(name, "total"), rtol=RTOL)
    np.testing.assert_allclose(res.cells["count_se"], _gold(name, "total_se"), rtol=RTOL)


def test_percentages_sum_to_one_and_n_counts_rows():
    case = CASES.iloc[1]
    design = _design(case)
    res = crosstab(design, "stype", "ellcat", percent="row")
    sums = res.cells.groupby("row")["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    assert res.cells["n"].sum() == len(design.data)
    counts = pd.crosstab(design.data["stype"], design.data["ellcat"]).stack()
    np.testing.assert_array_equal(res.cells["n"].to_numpy(), counts.sort_index().to_numpy())
    assert (res.cells["ci_low"] <= res.cells["estimate"]).all()
    assert (res.cells["ci_high"] >= res.cells["estimate"]).all()


def test_domain_is_zero_weighting_not_deletion():
    """The where-domain gives the same cells as zero weights outside it (same PSUs)."""
    case = CASES.set_index("case").loc["clus1_stype_mealcat_compimp2"]
    data = pd.read_csv(REF / "data" / "crosstab_apiclus1.csv")
    a = crosstab(Design(data, psu="dnum", weight="pw", fpc="fpc"), "stype", "mealcat",
                 where="comp_imp == 2")
    data0 = data.assign(pw=np.where(data["comp_imp"] == 2, data["pw"], 0.0))
    b = crosstab(Design(data0, psu="dnum", weight="pw", fpc="fpc"), "stype", "mealcat",
                 where="comp_imp == 2")
    np.testing.assert_allclose(a.cells["se"], b.cells["se"], rtol=1e-12)
    assert case["where"] == "comp_imp == 2"


def test_labels_and_errors():
    data = pd.read_csv(REF / "data" / "crosstab_apistrat.csv")
    design = Design(data, strata="stype", weight="pw", fpc="fpc")
    res = crosstab(design, "stype", "sch_wide",
                   labels={"stype": {1.0: "basis", 2.0: "hoog", 3.0: "midden"}})
    assert list(res.cells["row_label"].unique()) == ["basis", "hoog", "midden"]
    assert list(res.cells["col_label"].unique()) == ["1", "2"]
    with pytest.raises(EstimationError, match="percent"):
        crosstab(design, "stype", "sch_wide", percent="rows")
    with pytest.raises(EstimationError, match="not in the data"):
        crosstab(design, "stype", "nope")
    with pytest.raises(EstimationError, match="two categories"):
        crosstab(design, "stype", "sch_wide", where="stype == 1")


# --------------------------------------------------------------------------- identities


def test_row_percentages_equal_estimate_engine():
    """crosstab's row percentages = estimate(proportion of col, by=row) incl. logit CI."""
    from sid.estimation import estimate

    data = pd.read_csv(REF / "data" / "crosstab_apiclus1.csv")
    design = Design(data, psu="dnum", weight="pw", fpc="fpc")
    res = crosstab(design, "stype", "mealcat", where="comp_imp == 2", percent="row")
    est = estimate(design, "proportion", "mealcat", by="stype", where="comp_imp == 2",
                   ci="logit")
    est = est.sort_values(["stype", "category"]).reset_index(drop=True)
    for c in ("se", "ci_low", "ci_high", "df"):
        np.testing.assert_allclose(res.cells[c], est[c], rtol=1e-10, err_msg=c)
    # the percentage is the share (svymean), estimate's logit estimate is expit(coef)
    np.testing.assert_allclose(res.cells["estimate"], est["estimate"], rtol=1e-7)


def test_row_percentages_equal_estimate_engine_with_lonely_psu_average():
    """With R's lonely-PSU rule "average", a domain's variance averages over the strata
    with members in the domain: crosstab must use the same domain rows as estimate()."""
    from sid.estimation import estimate

    data = pd.read_csv(REF / "data" / "estimate_apistrat_lonely.csv")
    design = Design(data, weight="pw", strata="stype", fpc="fpc", singleton="average")
    res = crosstab(design, "mealcat", "hiapi", percent="row", ci="t")
    est = estimate(design, "proportion", "hiapi", by="mealcat", ci="t")
    est = est.sort_values(["mealcat", "category"]).reset_index(drop=True)
    for c in ("estimate", "se", "ci_low", "ci_high", "df"):
        np.testing.assert_allclose(res.cells[c], est[c], rtol=1e-10, err_msg=c)
    plain = crosstab(Design(data, weight="pw", strata="stype", fpc="fpc", singleton="adjust"),
                     "mealcat", "hiapi", percent="row", ci="t")
    assert not np.allclose(plain.cells["se"], res.cells["se"], rtol=1e-6)  # the rule matters


def test_crosstab_logit_ci_is_svyciprop_with_early_stop():
    """Crosstab logit CIs come from the same svyglm fit as estimate(ci="logit"), glm's early
    stop included: in the small yr_rnd == 2 row (21 schools, p = 0.104) the stop moves the CI
    by ~1e-8 from the closed form, so the closed form would fail here at 1e-10. The
    percentage itself stays the share (svyby(~col, ~row, svymean))."""
    from sid.estimation import estimate

    data = pd.read_csv(REF / "data" / "crosstab_apistrat.csv")
    design = Design(data, strata="stype", weight="pw", fpc="fpc")
    lg = estimate(design, "proportion", "mealcat", by="yr_rnd", ci="logit")
    share = estimate(design, "proportion", "mealcat", by="yr_rnd", ci="xlogit")
    lg, share = (x.sort_values(["yr_rnd", "category"]).reset_index(drop=True) for x in (lg, share))
    early = np.abs(lg["ci_low"] - share["ci_low"]) / share["ci_low"]
    assert early.max() > 1e-9  # the closed form (xlogit) differs: the test can fail
    assert lg.loc[early.idxmax(), "yr_rnd"] == 2
    assert abs(lg.loc[early.idxmax(), "estimate"] - 0.104) < 1e-3
    rows = crosstab(design, "yr_rnd", "mealcat", percent="row").cells
    cols = crosstab(design, "mealcat", "yr_rnd", percent="col").cells
    cols = cols.sort_values(["col", "row"]).reset_index(drop=True)
    for res in (rows, cols):
        for c in ("ci_low", "ci_high"):
            np.testing.assert_allclose(res[c], lg[c], rtol=1e-10, err_msg=c)
        for c in ("estimate", "se", "df"):
            np.testing.assert_allclose(res[c], share[c], rtol=1e-12, err_msg=c)
        assert set(res["ci_method"]) == {"logit"}


def test_complementary_suppression():
    from sid.tables import complementary_suppression

    counts = np.array([[5, 40, 60], [50, 45, 70], [80, 90, 100]])
    primary = counts < 30
    mask = complementary_suppression(counts, primary)
    assert mask[0, 0]
    # no row or column has exactly one hidden cell, so none can be recovered from totals
    assert set(mask.sum(axis=0)) <= {0, 2, 3} and set(mask.sum(axis=1)) <= {0, 2, 3}
    assert mask[0, 1]  # smallest other cell of row 0
    assert mask[1, 0]  # smallest other cell of column 0
    assert not complementary_suppression(counts, np.zeros_like(primary)).any()


# --------------------------------------------------------------------------- specs

SPEC = Path(__file__).parent.parent / "sid" / "data" / "tables" / "sid_kerntabellen.yaml"
CODEBOOK = Path(__file__).parent.parent / "sid" / "data" / "sid.yaml"


def test_spec_reports_every_problem_at_once():
    from sid.errors import CodebookError
    from sid.tables import parse_spec

    text = """
title: {nl: Test}
defaults: {waves: [2022], by: [herkomst], colour: red}
tables:
  - id: a
    title: {nl: A}
    indicator: {variable: werkbeh, mr_set: reden}
  - id: 3b
    title: B
    indicator: {variable: werkbeh}
    ci: {method: magic}
  - id: a
    title: C
    indicator: {variable: werkbeh}
"""
    with pytest.raises(CodebookError) as err:
        parse_spec(text, source="test.yaml")
    problems = err.value.problems
    assert err.value.line().startswith("test.yaml: the table spec has 5 problem(s)")
    assert problems[0].startswith("test.yaml:3: defaults.colour: unknown key")
    assert problems[1] == ("test.yaml:7: tables.0.indicator: Value error, give exactly one of "
                           "'variable' or 'mr_set'")
    assert problems[2].startswith("test.yaml:8: tables.1.id: String should match pattern")
    assert problems[3].startswith("test.yaml:11: tables.1.ci.method: Input should be")
    assert "(got 'magic')" in problems[3]
    assert problems[4] == "test.yaml:12: tables.2.id: duplicate table id 'a'"


VALID_SPEC = """\
title: {nl: Boek}
source: {nl: Bron}
defaults:
  waves: [2022]
  ci: {method: logit, level: 0.95}
  suppression: {below: 30, flag_below: 50}
  base: {where: "leeftijd >= 18"}
tables:
  - id: a
    title: {nl: A, en: A}
    indicator: {variable: werkbeh, codes: [2, 3]}
    base: {where: "werksituatie in [1, 2]", label: {nl: werkenden}}
    ci: {method: t}
    suppression: {below: 20}
    notes: [{nl: noot}]
    question: {nl: vraag}
"""


@pytest.mark.parametrize(("old", "new", "line", "expected"), [
    # top level (BookSpec)
    ("source: {nl: Bron}", "sorce: {nl: Bron}", 2, "sorce: unknown key; did you mean 'source'?"),
    ("title: {nl: Boek}", "title: [Boek]", 1, "title: Input should be a valid dictionary"),
    # defaults (TableDefaults) and the models inside it
    ("  waves: [2022]", "  wave: [2022]", 4, "defaults.wave: unknown key; did you mean 'waves'?"),
    ("  waves: [2022]", "  waves: 2022", 4, "defaults.waves: Input should be a valid list"),
    ("{method: logit, level: 0.95}", "{method: logit, levl: 0.95}", 5,
     "defaults.ci.levl: unknown key; did you mean 'level'?"),
    ("{method: logit, level: 0.95}", "{method: logit, level: high}", 5,
     "defaults.ci.level: Input should be a valid number"),
    ("{below: 30, flag_below: 50}", "{below: 30, flag_belw: 50}", 6,
     "defaults.suppression.flag_belw: unknown key; did you mean 'flag_below'?"),
    ("{below: 30, flag_below: 50}", "{below: many, flag_below: 50}", 6,
     "defaults.suppression.below: Input should be a valid integer"),
    ('  base: {where: "leeftijd >= 18"}', '  base: {wher: "leeftijd >= 18"}', 7,
     "defaults.base.wher: unknown key; did you mean 'where'?"),
    # a table (TableSpec) and every model inside it
    ("    question: {nl: vraag}", "    questoin: {nl: vraag}", 16,
     "tables.0.questoin: unknown key; did you mean 'question'?"),
    ("    question: {nl: vraag}", "    decimals: 9", 16,
     "tables.0.decimals: Input should be less than or equal to 4"),
    ("{nl: A, en: A}", "{nl: A, fr: A}", 10, "tables.0.title.fr: unknown key"),
    ("{variable: werkbeh, codes: [2, 3]}", "{variable: werkbeh, code: [2, 3]}", 11,
     "tables.0.indicator.code: unknown key; did you mean 'codes'?"),
    ("{variable: werkbeh, codes: [2, 3]}", "{variable: werkbeh, codes: [2, ja]}", 11,
     "tables.0.indicator.codes.1: Input should be a valid number"),
    ("{variable: werkbeh, codes: [2, 3]}", "{mr_set: redenen, codes: [2, 3]}", 11,
     "tables.0.indicator: Value error, a multiple-response set counts its own code"),
    ("label: {nl: werkenden}}", "label: {nl: werkenden}, keep_mising: [WN]}", 12,
     "tables.0.base.keep_mising: unknown key; did you mean 'keep_missing'?"),
    ("label: {nl: werkenden}}", "label: {nl: werkenden, de: x}}", 12,
     "tables.0.base.label.de: unknown key"),
    ("    ci: {method: t}", "    ci: {metod: t}", 13,
     "tables.0.ci.metod: unknown key; did you mean 'method'?"),
    ("    ci: {method: t}", "    ci: {method: exact}", 13, "tables.0.ci.method: Input should be"),
    ("    suppression: {below: 20}", "    suppression: {belw: 20}", 14,
     "tables.0.suppression.belw: unknown key; did you mean 'below'?"),
    ("    suppression: {below: 20}", "    suppression: {below: -1}", 14,
     "tables.0.suppression.below: Input should be greater than or equal to 0"),
    ("    notes: [{nl: noot}]", "    notes: [{nl: noot, nll: x}]", 15,
     "tables.0.notes.0.nll: unknown key"),
    ("    notes: [{nl: noot}]", "    notes: {nl: noot}", 15, "tables.0.notes: Input should be a valid list"),
])
def test_spec_problem_at_each_level_is_one_line(old, new, line, expected):
    """A wrong key or type at any nesting level: exactly one line, with file:line and path."""
    from sid.errors import CodebookError
    from sid.tables import parse_spec

    assert parse_spec(VALID_SPEC).tables[0].ci.method == "t"  # the spec without the change is valid
    assert old in VALID_SPEC
    with pytest.raises(CodebookError) as err:
        parse_spec(VALID_SPEC.replace(old, new, 1), source="b.yaml")
    assert len(err.value.problems) == 1, err.value.problems
    assert err.value.problems[0].startswith(f"b.yaml:{line}: {expected}"), err.value.problems[0]


def test_spec_default_problem_is_reported_once_for_all_tables():
    """A bad default is merged into every table, but reported once, at its own line."""
    from sid.errors import CodebookError
    from sid.tables import parse_spec

    text = VALID_SPEC.replace("  waves: [2022]", "  waves: []") + """\
  - id: b
    title: B
    indicator: {variable: werkbeh}
"""
    with pytest.raises(CodebookError) as err:
        parse_spec(text, source="b.yaml")
    assert err.value.problems == (
        "b.yaml:4: defaults.waves: List should have at least 1 item after validation, not 0",)


def test_spec_file_problems_name_the_file(tmp_path):
    from sid.errors import CodebookError, InputError
    from sid.tables import read_spec

    bad = tmp_path / "boek.yaml"
    bad.write_text(VALID_SPEC.replace("    ci: {method: t}", "    ci: {method: t}\n    by: herkomst"),
                   encoding="utf-8")
    with pytest.raises(CodebookError) as err:
        read_spec(bad)
    assert err.value.problems[0].startswith(f"{bad}:14: tables.0.by: Input should be a valid list")
    with pytest.raises(InputError, match="table spec not found"):
        read_spec(tmp_path / "absent.yaml")


def test_shipped_spec_is_valid_and_checks_against_codebook():
    from sid.codebook import load_codebook
    from sid.tables import check_spec, read_spec

    book = read_spec(SPEC)
    assert len(book.tables) >= 12
    assert check_spec(book, load_codebook(CODEBOOK)) == []
    ids = {t.id for t in book.tables}
    assert {"werk_niet_correct", "reden_herkomst", "redenen", "huur_geweigerd", "vertrouwen",
            "thuis_belgie", "taal_thuis", "werk_golven"} <= ids


def test_spec_cross_check_against_codebook():
    """Every problem at once, at the line of its key (under defaults when the table took the
    value from there, once), with a did-you-mean for a misspelt name."""
    from sid.codebook import load_codebook
    from sid.tables import check_spec, parse_spec

    book = parse_spec("""
title: T
defaults: {waves: [2019]}
tables:
  - id: a
    title: A
    indicator: {variable: werkbeh, codes: [2, 9]}
    base: {where: "werk_situatie in [1, 2]"}
    by: [herkomst, generatie]
  - id: b
    title: B
    indicator: {mr_set: redenen}
    reference: 8
  - id: c
    title: C
    indicator: {variable: werkbeh}
    waves: [2022]
""", source="t.yaml")
    problems = check_spec(book, load_codebook(CODEBOOK))
    assert problems == [
        "t.yaml:7: tables.0.indicator.codes: 9 are not codes of 'werkbeh' (codes: 1, 2, 3)",
        "t.yaml:9: tables.0.by: 'generatie' is not in the codebook",
        "t.yaml:8: tables.0.base.where: unknown variable(s) 'werk_situatie'; "
        "did you mean 'werksituatie'?",
        "t.yaml:3: defaults.waves: '2019' is not a wave of the codebook ('2017', '2022')",
        "t.yaml:12: tables.1.indicator.mr_set: 'redenen' is not a multiple-response set of "
        "the codebook; did you mean 'reden'? (sets: 'reden')",
        "t.yaml:13: tables.1.reference: 8 is not a code of 'herkomst'",
    ]
    # a book selected by waves keeps pointing at the lines of the file
    from sid.tables import select_tables

    only_c, skipped = select_tables(book, ["2022"])
    assert skipped == ("a", "b")
    assert only_c.where(0, only_c.tables[0], "waves") == "t.yaml:17: tables.2.waves"


# --------------------------------------------------------------------------- the book on synthetic data


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from sid.synthetic import synthesise

    out = tmp_path_factory.mktemp("synth")
    synthesise(out)
    return out


@pytest.fixture(scope="module")
def harmonised(synth):
    from sid.harmonise import load

    return load([synth / "sid2017.sav", synth / "sid2022.sav"], CODEBOOK)


@pytest.fixture(scope="module")
def book_tables(harmonised):
    from sid.tables import build_tables, read_spec

    return {t.id: t for t in build_tables(read_spec(SPEC), harmonised)}


def _wave_design(harmonised, wave):
    frame = harmonised.data[harmonised.data["wave"].astype(str) == wave].reset_index(drop=True)
    return Design(frame, weight="base_wt", strata="stratum", psu="psu")


def test_book_values_equal_direct_estimates(harmonised, book_tables):
    """Each table equals an estimate computed here from the harmonised columns directly."""
    from sid.estimation import estimate
    from sid.tables.intervals import FEW

    design = _wave_design(harmonised, "2022")
    d = design.data
    checks = {
        "werk_niet_correct": (np.where(d["werkbeh"].isna(), np.nan, d["werkbeh"].isin([2, 3])),
                              "werksituatie in [1, 2]"),
        "huur_geweigerd": (np.where(d["huur_geweigerd"].isna(), np.nan, d["huur_geweigerd"] == 1),
                           "huur_gezocht == 1"),
        "thuis_belgie": (np.where(d["thuis_belgie"].isna(), np.nan,
                                  d["thuis_belgie"].isin([4, 5])), None),
    }
    for tid, (ind, where) in checks.items():
        dd = Design(d.assign(_ind=ind.astype(float)), weight="base_wt", strata="stratum",
                    psu="psu")
        ref = estimate(dd, "proportion", "_ind", by="herkomst", where=where)
        ref = ref[ref["category"] == "1"].sort_values("herkomst").reset_index(drop=True)
        beta = estimate(dd, "proportion", "_ind", by="herkomst", where=where, ci="beta")
        beta = beta[beta["category"] == "1"].sort_values("herkomst").reset_index(drop=True)
        got = book_tables[tid].frame.sort_values("group").reset_index(drop=True)
        # the interval rule (sid.tables.intervals): Korn-Graubard below FEW yes or no answers
        inside = np.ones(len(d), bool) if where is None else \
            np.asarray(dd.data.eval(where.replace(" in ", ".isin(").replace("]", "])")
                                    if " in " in where else where), bool)
        valid = dd.data[inside & dd.data["_ind"].notna()]
        yes = valid.groupby("herkomst")["_ind"].sum().sort_index().to_numpy()
        no = valid.groupby("herkomst")["_ind"].count().sort_index().to_numpy() - yes
        kg = np.minimum(yes, no) < FEW
        assert list(got["ci_method"]) == ["beta" if k else "logit" for k in kg]
        for col in ("estimate", "ci_low", "ci_high"):
            want = np.where(kg, beta[col], ref[col])
            np.testing.assert_allclose(got[col], 100 * want, rtol=1e-10)
        np.testing.assert_array_equal(got["n"], ref["n"])
    ref = estimate(design, "mean", "vertrouwen", by="herkomst", ci="t")
    got = book_tables["vertrouwen"].frame.sort_values("group").reset_index(drop=True)
    np.testing.assert_allclose(got["estimate"], ref.sort_values("herkomst")["estimate"],
                               rtol=1e-10)


def test_groups_in_codebook_order_and_reference(book_tables):
    t = book_tables["werk_niet_correct"]
    assert t.frame["group_label"].tolist() == ["Belgisch", "Marokkaans", "Turks", "Pools",
                                               "Roemeens", "Congolees", "Afghaans"]
    assert t.frame["is_reference"].tolist() == [True] + [False] * 6
    assert t.frame["p_value"].iloc[0] != t.frame["p_value"].iloc[0]  # NaN for the reference
    assert t.reference_label == "Belgisch"
    assert any(n.startswith("Vraag: ") for n in t.footnotes)
    assert any("personen aan het werk" in n for n in t.footnotes)


def test_suppression_follows_rule(book_tables):
    for t in book_tables.values():
        f = t.frame[t.frame["kind"] == "estimate"]
        np.testing.assert_array_equal(f["suppressed"], f["n"] < t.suppression.below)
        np.testing.assert_array_equal(f["flagged"], (f["n"] >= t.suppression.below)
                                      & (f["n"] < t.suppression.flag_below))


def test_multiple_response_set_is_one_table(book_tables, harmonised):
    t = book_tables["redenen"]
    items = harmonised.mr_set("reden")
    assert list(dict.fromkeys(t.frame["section"])) == items
    assert t.frame["section_label"].iloc[0] == "Herkomst"  # a block heading: capitalised
    single = book_tables["reden_herkomst"].frame
    first = t.frame[t.frame["section"] == "reden_herkomst"].reset_index(drop=True)
    np.testing.assert_allclose(first["estimate"], single["estimate"], rtol=1e-12)


def test_wave_change(book_tables):
    f = book_tables["werk_golven"].frame
    for _g, grp in f.groupby("group"):
        by_panel = grp.set_index("panel")
        if "2017" not in by_panel.index:
            assert "diff" not in by_panel.index  # Afghaans only in 2022
            continue
        diff = by_panel.loc["diff"]
        assert diff["estimate"] == pytest.approx(by_panel.loc["2022", "estimate"]
                                                 - by_panel.loc["2017", "estimate"], rel=1e-9)
        # independent waves: var(diff) = var(2022) + var(2017)
        assert diff["se"] == pytest.approx(np.hypot(by_panel.loc["2022", "se"],
                                                    by_panel.loc["2017", "se"]), rel=1e-9)
        assert diff["significant"] == (diff["p_value"] < 0.05)


def test_cli_tables_book_and_provenance(synth, tmp_path, book_tables):
    from click.testing import CliRunner
    from openpyxl import load_workbook

    from sid.cli import main

    out = tmp_path / "book.xlsx"
    args = ["tables", str(SPEC), "--data", str(synth / "sid2022.sav"), "--codebook",
            str(CODEBOOK), "--out", str(out), "--skip-missing-waves", "--lang", "en"]
    # without --weights and without an analysis weight in the data: stop, list the weights
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert "no analysis weight" in res.output and "base_wt (Designgewicht)" in res.output
    assert not out.exists()
    # the design weight only when asked for, and then the book says so
    res = CliRunner().invoke(main, [*args, "--weight-var", "base_wt"])
    assert res.exit_code == 0, res.output
    assert "Design weight" in res.output and "base_wt" in res.output  # the weight is printed
    wb = load_workbook(out)
    assert "werk_golven" not in wb.sheetnames and "werk_niet_correct" in wb.sheetnames
    # the sheet's numbers are the estimates (one wave loaded here, two in book_tables: same
    # domain estimates, as the waves are independent strata)
    ws = wb["werk_niet_correct"]
    frame = book_tables["werk_niet_correct"].frame
    for i, rec in enumerate(frame.itertuples()):
        row = [c.value for c in ws[6 + i]]
        assert row[0].startswith({"Belgisch": "Belgian", "Marokkaans": "Moroccan"}.get(
            rec.group_label, row[0]))
        assert row[1] == pytest.approx(rec.estimate, rel=1e-12)
        assert row[3] == pytest.approx(rec.ci_low, rel=1e-12)
        assert row[4] == pytest.approx(rec.ci_high, rel=1e-12)
        assert row[5] == rec.n
        assert ("*" in (row[2] or "").split()) == bool(pd.notna(rec.significant)
                                                       and rec.significant)
    notes = [str(r[0].value) for r in ws.iter_rows() if r[0].value]
    assert any(n.startswith("Weight: Design weight (variable base_wt): the design weight "
                            "only") for n in notes)
    assert ws["A2"].value.startswith("weighted percentage (weighted with the design weight only)")
    prov = {str(c.value) for row in wb["Provenance"].iter_rows() for c in row if c.value}
    import hashlib

    from sid.export.provenance import display_path

    for f in (synth / "sid2022.sav", SPEC, CODEBOOK):
        assert display_path(f) in prov and str(f) not in prov
        assert hashlib.sha256(f.read_bytes()).hexdigest() in prov
    assert "sid:data/sid.yaml" in prov and "sid:data/origin/vl2013.yaml" in prov
    assert any("(synthetic data)" in c for c in prov)  # the book's source says so
    # a data file labelled synthetic makes the source say so even when the spec does not
    from sid.export import Provenance

    p = Provenance.from_files([("data", synth / "sid2022.sav")], weight="w", command="c",
                              source="Samenleven in Diversiteit")
    assert p.synthetic and p.source == "Samenleven in Diversiteit - synthetische gegevens"
    # no respondent-level data: every sheet is far smaller than the wave
    for ws in wb.worksheets:
        assert ws.max_row < 120, ws.title
    bad = CliRunner().invoke(main, ["tables", str(SPEC), "--data", str(synth / "sid2022.sav"),
                                    "--codebook", str(CODEBOOK), "--out", str(out),
                                    "--weight-var", "base_wt"])
    assert bad.exit_code == 2
    assert "wave 2017 was not loaded" in bad.output


def test_cli_crosstab(tmp_path):
    from click.testing import CliRunner

    from sid.cli import main

    res = CliRunner().invoke(main, ["crosstab", str(REF / "data" / "crosstab_apistrat.csv"),
                                    "stype", "sch_wide", "--strata", "stype", "--weight", "pw",
                                    "--fpc", "fpc", "--format", "json"])
    assert res.exit_code == 0, res.output
    import json

    payload = json.loads(res.output)
    f = next(t for t in payload["tests"] if t["test"] == "F")
    assert f["statistic"] == pytest.approx(_gold("strat_stype_schwide", "F")[0], rel=RTOL)


def test_crosstab_suppression_is_complementary():
    data = pd.read_csv(REF / "data" / "crosstab_apiclus1.csv")
    design = Design(data, psu="dnum", weight="pw", fpc="fpc")
    res = crosstab(design, "stype", "mealcat")
    out = res.suppressed(below=10)
    primary = res.cells["n"] < 10
    assert primary.any()
    assert out.loc[primary, "suppressed"].all()
    hidden = out.pivot(index="row", columns="col", values="suppressed")
    assert set(hidden.sum(axis=0)) <= {0, 2, 3} and set(hidden.sum(axis=1)) <= {0, 2, 3}
    assert out.loc[out["suppressed"], ["n", "count", "estimate"]].isna().all().all()
    assert out.loc[~out["suppressed"], "n"].notna().all()


def test_cli_tables_with_weights_file(synth, tmp_path):
    """--weights: the weight column of a `sid weight` output is merged by respondent id."""
    import hashlib
    from dataclasses import replace

    from click.testing import CliRunner
    from openpyxl import load_workbook

    from sid.cli import main
    from sid.io import VariableMeta, read_wave, write_wave

    wave = read_wave(synth / "sid2022.sav")
    rng = np.random.default_rng(1)
    w = wave.data["base_wt"].to_numpy() * rng.uniform(0.5, 1.5, len(wave.data))
    data = wave.data.assign(final_wt=w)
    meta = replace(wave.meta, n_rows=len(data), sha256=None, path=None,
                   variables=wave.meta.variables + (VariableMeta(name="final_wt"),))
    weighted = tmp_path / "weighted2022.sav"
    write_wave(replace(wave, data=data, meta=meta), weighted)
    out = tmp_path / "csv"
    res = CliRunner().invoke(main, ["tables", str(SPEC), "--data", str(synth / "sid2022.sav"),
                                    "--weights", str(weighted), "--codebook", str(CODEBOOK),
                                    "--out", str(out), "--format", "csv",
                                    "--skip-missing-waves"])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out / "werk_niet_correct.csv")
    # expected: the proportion with the new weight, computed here from the raw codes
    d = wave.data
    work = d["werksituatie"].isin([1, 2]).to_numpy()
    valid = d["werkbeh"].isin([1, 2, 3]).to_numpy()  # 2022 codes: 1 vaak, 2 soms, 3 nooit
    yes = d["werkbeh"].isin([1, 2]).to_numpy()
    g = d["herkomst_frame"].to_numpy()
    for _, r in got.iterrows():
        m = work & valid & (g == r["group"])
        assert r["estimate"] == pytest.approx(100 * np.sum(w[m] * yes[m]) / np.sum(w[m]),
                                              rel=1e-10)
    xlsx = tmp_path / "b.xlsx"
    res = CliRunner().invoke(main, ["tables", str(SPEC), "--data", str(synth / "sid2022.sav"),
                                    "--weights", str(weighted), "--codebook", str(CODEBOOK),
                                    "--out", str(xlsx), "--skip-missing-waves", "--no-chart"])
    assert res.exit_code == 0, res.output
    cells = {str(c.value) for row in load_workbook(xlsx)["Herkomst van de cijfers"].iter_rows()
             for c in row if c.value}
    assert "final_wt" in cells
    assert hashlib.sha256(weighted.read_bytes()).hexdigest() in cells


def test_crosstab_where_missing_is_outside_the_domain():
    """A numeric where (a 0/1 flag) with missing values: missing is not in the domain, as in
    estimate() (the mask used to turn NaN into True)."""
    data = pd.read_csv(REF / "data" / "crosstab_apiclus1.csv")
    flag = (data["comp_imp"] == 2).astype(float).where(data.index % 5 != 0)
    data = data.assign(flag=flag, is_one=flag == 1)
    design = Design(data, psu="dnum", weight="pw", fpc="fpc")
    a = crosstab(design, "stype", "mealcat", where="flag")
    b = crosstab(design, "stype", "mealcat", where="is_one")
    assert a.n_total == b.n_total == int((flag == 1).sum())
    np.testing.assert_array_equal(a.cells["n"], b.cells["n"])
    np.testing.assert_allclose(a.cells["se"], b.cells["se"], rtol=1e-12)


def test_stacked_design_keeps_waves_strata_apart_whatever_their_codes():
    """Strata of different waves never share a code, for text or large stratum codes alike."""
    from types import SimpleNamespace

    from sid.tables import stacked_design

    frame = pd.DataFrame({
        "wave": pd.Categorical(["2017"] * 4 + ["2022"] * 4),
        "stratum": ["A", "A", "B", "B"] * 2,
        "psu": [1, 2, 1, 2] * 2,
        "w": np.arange(1.0, 9.0),
    })
    roles = {"weight": "w", "strata": "stratum", "psu": "psu"}
    data = SimpleNamespace(data=frame, codebook=SimpleNamespace(design_variables=lambda _: roles))
    design = stacked_design(data)
    assert design.data["_stratum"].tolist() == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    # wave * 1e6 + stratum made 2017's 1_000_001 and 2022's 1 the same stratum
    big = frame.assign(stratum=[1_000_001] * 2 + [5] * 2 + [1] * 2 + [5] * 2)
    codes = stacked_design(SimpleNamespace(data=big, codebook=data.codebook)).data["_stratum"]
    assert codes.nunique() == 4


def test_crosstab_helpers_for_the_cli(tmp_path):
    """with_suppression, wave_value_labels and load_book_data: what `sid crosstab`/`tables` call."""
    from types import SimpleNamespace

    from sid.errors import InputError
    from sid.tables import load_book_data, wave_value_labels

    data = pd.read_csv(REF / "data" / "crosstab_apiclus1.csv")
    res = crosstab(Design(data, psu="dnum", weight="pw", fpc="fpc"), "stype", "mealcat")
    assert res.with_suppression(0) is res
    hidden = res.with_suppression(10)
    pd.testing.assert_frame_equal(hidden.cells, res.suppressed(10))
    assert hidden.tests is res.tests

    meta = {"stype": SimpleNamespace(value_labels={1.0: "basis"})}

    def variable(name):
        return meta[name]

    wave = SimpleNamespace(meta=SimpleNamespace(variable=variable))
    assert wave_value_labels(wave, ["stype", "other"]) == {"stype": {1.0: "basis"}, "other": {}}
    with pytest.raises(InputError, match="data file.*not found") as err:
        load_book_data([(None, tmp_path / "a.sav"), ("2022", tmp_path / "b.sav")], CODEBOOK)
    assert "a.sav" in err.value.line() and "b.sav" in err.value.line()


def test_no_zero_width_interval_in_the_whole_book(book_tables):
    """Issue 11: no published interval has zero width while n > 0 (Korn-Graubard for rare
    outcomes); every estimate row uses logit or beta, and beta only under the rule."""
    from sid.tables.intervals import FEW
    from sid.tables.models import ModelTableResult

    switched = 0
    for t in book_tables.values():
        f = t.frame
        shown = f[(f["n"] > 0) & ~f["suppressed"].astype(bool)]
        width = shown["ci_high"] - shown["ci_low"]
        assert (width > 0).all(), (t.id, shown.loc[~(width > 0), ["group_label", "panel"]])
        if t.unit == "percent" and not isinstance(t, ModelTableResult):  # model margins: t (svypredmeans)
            est = f[f["kind"] == "estimate"]
            assert set(est["ci_method"]) <= {"logit", "beta"}, t.id
            switched += int((est["ci_method"] == "beta").sum())
    assert switched > 0, f"the demo book has groups with fewer than {FEW} yes/no answers"


LINE_HEIGHT = 1.3
"""Height of a word's box in pdftotext -bbox per point of font size (LibreOffice's PDF,
measured: 10 pt text gives 13.0 pt boxes at 100%)."""


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or poppler (pdftotext) not installed")
def test_book_prints_readable_with_libreoffice(book_tables, tmp_path):
    """Issue 11 item 5: the demo book rendered by LibreOffice: every page readable (no text
    below 8 pt after scaling), fit to width only, headers and footers with "p. i/N", no
    blank page, and a page count that fits the tables (no 4 pt one-page squeeze)."""
    import re
    import subprocess

    from openpyxl import load_workbook

    from sid.export import Provenance, write_table_book

    tables = list(book_tables.values())
    spec = tmp_path / "spec.yaml"
    spec.write_text("spec")
    prov = Provenance.from_files([("spec", spec)], weight="base_wt", command="sid tables")
    path = write_table_book(tables, tmp_path / "book.xlsx", provenance=prov,
                            book_title="Kerntabellen")
    wb = load_workbook(path)
    assert wb["grafiekdata"].sheet_state == "hidden"
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.page_setup.orientation == "landscape"
        assert "&P/&N" in ws.oddFooter.right.text and "Kerntabellen" in ws.oddHeader.left.text
    for t in tables:
        ws = wb[t.id]
        assert ws.print_title_rows is not None
        # no chart-data block on the printed sheet
        assert not any("grafiek" in str(c.value).lower() for row in ws.iter_rows()
                       for c in row if c.value)
    res = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir",
                          str(tmp_path), str(path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    pdf = tmp_path / "book.pdf"
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    pages = bbox.split("<page ")[1:]
    visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
    # every table on at least one page; long ones (redenen, taal_thuis) on a few, not squeezed
    assert len(visible) <= len(pages) <= 2 * len(visible) + 4, len(pages)
    for i, page in enumerate(pages, start=1):
        heights = [float(b) - float(a) for a, b in
                   re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page)]
        assert len(heights) > 20, f"page {i} is (nearly) blank"
        smallest = min(heights) / LINE_HEIGHT
        assert smallest >= 8.0, f"page {i}: text scaled to {smallest:.1f} pt"
        words = re.findall(r">([^<]+)</word>", page)
        assert f"{i}/{len(pages)}" in words, f"page {i} has no 'p. {i}/{len(pages)}'"
