"""The synthetic SID generator: schema, design, filters, determinism, truth, round trips.

Expected names and codes come from docs/synthetic_schema.md (parsed) or are
written out here from the schema, never taken from sid.synthetic itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sid.cli import main
from sid.errors import InputError
from sid.io import compare_waves, read_wave, write_wave
from sid.synthetic import (
    draw_gross_sample,
    gross_wave,
    make_population,
    make_wave_frame,
    population_margins,
    respondent_wave,
    summarise_waves,
    truth,
)

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "synthetic_schema.md"
FILES = ("sid2017.sav", "sid2017.dta", "sid2022.sav", "sid2022.dta",
         "sid2017_gross.sav", "sid2022_gross.sav")
MISSING = {2017: {"NVT": 7.0, "WN": 8.0, "GA": 9.0}, 2022: {"NVT": -1.0, "WN": -8.0, "GA": -9.0}}
REASONS = ["reden_herkomst", "reden_huidskleur", "reden_geloof", "reden_taal", "reden_geslacht",
           "reden_leeftijd", "reden_andere"]
# Declared missing kinds per item, as listed in the schema table.
MISSING_KINDS = {
    "opleiding": ("WN", "GA"), "werksituatie": ("GA",), "werk_behandeld": ("NVT", "WN", "GA"),
    **{r: ("NVT",) for r in REASONS}, "huur_gezocht": ("WN", "GA"),
    "huur_geweigerd": ("NVT", "WN", "GA"), "vertrouwen": ("WN", "GA"), "taal_thuis": ("WN", "GA"),
    "thuis_belgie": ("WN", "GA"), "negatief_publiek": ("WN", "GA"), "religie": ("GA",),
    "contact_belgen": ("WN", "GA"),
}
RENAMED_2022 = {"resp_id": "respid", "herkomst": "herkomst_frame", "leeftijd": "lft",
                "werk_behandeld": "werkbeh"}


def schema_names() -> list[tuple[str, str]]:
    """(2017 name, 2022 name) pairs from the variables table of the schema document."""
    pairs = []
    for line in SCHEMA.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[1].startswith("`"):
            continue
        old = re.findall(r"`([a-z_0-9]+)`", cells[1])
        new = re.findall(r"`([a-z_0-9]+)`", cells[2]) if "`" in cells[2] else old
        pairs += list(zip(old, new, strict=True))
    return pairs


def name(var: str, wave: int) -> str:
    return RENAMED_2022.get(var, var) if wave == 2022 else var


def missing_code(kind: str, var: str, wave: int) -> float:
    if wave == 2017 and var == "vertrouwen":
        return {"NVT": 97.0, "WN": 98.0, "GA": 99.0}[kind]
    return MISSING[wave][kind]


@pytest.fixture(scope="module")
def waves(synthetic_dir: Path) -> dict[str, object]:
    return {f: read_wave(synthetic_dir / f) for f in FILES}


# --------------------------------------------------------------------------- files and schema


def test_all_files_written(synthetic_dir: Path) -> None:
    for f in (*FILES, "population_margins.csv", "truth.json"):
        assert (synthetic_dir / f).stat().st_size > 0, f
    assert not list(synthetic_dir.glob(".*tmp*"))  # no temporary files left behind


@pytest.mark.parametrize("f", FILES)
def test_round_trip_read_write_read(synthetic_dir: Path, waves: dict, tmp_path: Path, f: str) -> None:
    first = waves[f]
    write_wave(first, tmp_path / f)
    second = read_wave(tmp_path / f)
    assert compare_waves(first, second) == []
    pd.testing.assert_frame_equal(first.data, second.data)


def test_schema_table_is_parsed() -> None:
    pairs = dict(schema_names())
    assert pairs["resp_id"] == "respid" and pairs["werk_behandeld"] == "werkbeh"
    assert pairs["reden_andere"] == "reden_andere"
    assert len(pairs) == 36


@pytest.mark.parametrize("wave", [2017, 2022])
def test_respondent_columns_follow_schema(waves: dict, wave: int) -> None:
    expected = [old if wave == 2017 else new for old, new in schema_names()]
    assert list(waves[f"sid{wave}.sav"].columns) == expected  # also in the schema's order
    assert waves[f"sid{wave}.dta"].columns == waves[f"sid{wave}.sav"].columns


@pytest.mark.parametrize("wave", [2017, 2022])
def test_gross_columns_follow_schema(waves: dict, wave: int) -> None:
    base = ["resp_id", "stratum", "psu", "incl_prob", "base_wt", "herkomst", "geslacht", "leeftijd",
            "gewest", "provincie", "verstedelijking", "gemeente", "respons", "mode"]
    assert sorted(waves[f"sid{wave}_gross.sav"].columns) == sorted(name(v, wave) for v in base)


@pytest.mark.parametrize("wave", [2017, 2022])
def test_declared_missing_codes(waves: dict, wave: int) -> None:
    meta = waves[f"sid{wave}.sav"].meta
    for var, kinds in MISSING_KINDS.items():
        spec = meta.variable(name(var, wave)).missing
        assert sorted(spec.values) == sorted(missing_code(k, var, wave) for k in kinds), var
        assert not spec.ranges
    declared = {v.name for v in meta.variables if v.missing}
    assert declared == {name(v, wave) for v in MISSING_KINDS}
    gross = waves[f"sid{wave}_gross.sav"].meta
    assert gross.variable("mode").missing.values == (MISSING[wave]["NVT"],)


@pytest.mark.parametrize("wave", [2017, 2022])
def test_codes_and_value_labels(waves: dict, wave: int) -> None:
    w = waves[f"sid{wave}.sav"]
    groups = {1: "Belgisch", 2: "Marokkaans", 3: "Turks", 4: "Pools", 5: "Roemeens", 6: "Congolees"}
    if wave == 2022:
        groups[7] = "Afghaans"
    herkomst = name("herkomst", wave)
    assert dict(w.meta.variable(herkomst).value_labels) == groups
    assert set(w.data[herkomst].unique()) == set(groups)
    expected_codes = {
        "geslacht": {1, 2}, "gewest": {1, 2}, "provincie": set(range(1, 7)),
        "verstedelijking": set(range(1, 7)), "mode": {1, 2}, "opleiding": {1, 2, 3},
        "werksituatie": set(range(1, 7)), "werk_behandeld": {1, 2, 3},
        **{r: {0, 1} for r in REASONS}, "huur_gezocht": {1, 2}, "huur_geweigerd": {1, 2},
        "vertrouwen": set(range(11)), "taal_thuis": set(range(1, 6)),
        "thuis_belgie": set(range(1, 6)), "negatief_publiek": {1, 2}, "religie": set(range(1, 5)),
        "contact_belgen": set(range(1, 6)),
    }
    for var, codes in expected_codes.items():
        col = w.data[name(var, wave)]
        valid = col[~w.missing_mask(name(var, wave))]
        assert set(valid.unique()) == codes, var
    trust = w.meta.variable("vertrouwen").value_labels
    assert {k: v for k, v in trust.items() if 0 <= k <= 10} == {
        0: "helemaal geen vertrouwen", 10: "volledig vertrouwen"}
    assert w.meta.variable("thuis_belgie").label == "Voelt zich thuis in België"
    age = w.data[name("leeftijd", wave)]
    assert age.min() >= 15 and age.max() <= 85


def test_workplace_codes_reordered(waves: dict) -> None:
    old = waves["sid2017.sav"].meta.variable("werk_behandeld").value_labels
    new = waves["sid2022.sav"].meta.variable("werkbeh").value_labels
    assert (old[1], old[2], old[3]) == ("nooit", "soms", "vaak")
    assert (new[1], new[2], new[3]) == ("vaak", "soms", "nooit")
    # "nooit" is the most frequent answer in both waves: code 1 in 2017, code 3 in 2022.
    old_answers = waves["sid2017.sav"].data["werk_behandeld"]
    new_answers = waves["sid2022.sav"].data["werkbeh"]
    assert old_answers[old_answers.isin([1, 2, 3])].value_counts().index[0] == 1
    assert new_answers[new_answers.isin([1, 2, 3])].value_counts().index[0] == 3


# --------------------------------------------------------------------------- filters


@pytest.mark.parametrize("wave", [2017, 2022])
def test_filters_nvt_iff_not_asked(waves: dict, wave: int) -> None:
    d = waves[f"sid{wave}.sav"].data
    nvt = MISSING[wave]["NVT"]
    work = d[name("werk_behandeld", wave)]
    in_work = d["werksituatie"].isin([1, 2])
    assert ((work == nvt) == ~in_work).all()
    treated_codes = [2, 3] if wave == 2017 else [1, 2]
    treated = work.isin(treated_codes)
    for r in REASONS:
        assert ((d[r] == nvt) == ~treated).all(), r
        assert set(d.loc[treated, r].unique()) == {0, 1}, r
    assert (d.loc[treated, REASONS].sum(axis=1) >= 1).all()  # at least one reason ticked
    refused = d["huur_geweigerd"]
    assert ((refused == nvt) == (d["huur_gezocht"] != 1)).all()
    for var in ("opleiding", "thuis_belgie", "taal_thuis"):  # asked of everyone
        assert not (d[var] == nvt).any(), var
    assert not (d["vertrouwen"] == missing_code("NVT", "vertrouwen", wave)).any()
    # Item nonresponse exists but is rare.
    wn = (work == missing_code("WN", "werk_behandeld", wave)).sum()
    assert 0 < wn < 0.06 * in_work.sum()


@pytest.mark.parametrize("wave", [2017, 2022])
def test_stata_copy_has_the_same_answers(waves: dict, wave: int) -> None:
    sav, dta = waves[f"sid{wave}.sav"], waves[f"sid{wave}.dta"]
    for var in sav.columns:
        if sav.meta.variable(var).kind != "numeric":
            assert (sav.data[var] == dta.data[var]).all(), var
            continue
        valid = ~sav.missing_mask(var)
        assert np.array_equal(sav.data[var][valid], dta.data[var][valid]), var
        assert np.array_equal(~valid, dta.missing_mask(var)), var


# --------------------------------------------------------------------------- design


@pytest.mark.parametrize("wave", [2017, 2022])
def test_group_sizes_near_750(waves: dict, wave: int) -> None:
    counts = waves[f"sid{wave}.sav"].data[name("herkomst", wave)].value_counts()
    assert len(counts) == (6 if wave == 2017 else 7)
    assert counts.between(650, 850).all(), counts.to_dict()
    total = counts.sum()
    assert (4_200 <= total <= 4_800) if wave == 2017 else (4_800 <= total <= 5_400)


@pytest.mark.parametrize("wave", [2017, 2022])
def test_base_weights_sum_to_stratum_population(synthetic_dir: Path, waves: dict, wave: int) -> None:
    gross = waves[f"sid{wave}_gross.sav"].data
    margins = pd.read_csv(synthetic_dir / "population_margins.csv")
    margins = margins[margins["ref_date"] == f"{wave}-01-01"]
    pop = margins.groupby(["herkomst", "gewest"])["count"].sum()
    herkomst = name("herkomst", wave)
    assert (gross["stratum"] == 10 * gross[herkomst] + gross["gewest"]).all()
    est = gross.groupby([herkomst, "gewest"])["base_wt"].sum()
    est.index = est.index.set_names(["herkomst", "gewest"])
    np.testing.assert_allclose(est.sort_index().to_numpy(), pop.sort_index().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(gross["base_wt"] * gross["incl_prob"], 1.0, rtol=1e-12)
    assert ((gross["incl_prob"] > 0) & (gross["incl_prob"] <= 1)).all()


@pytest.mark.parametrize("wave", [2017, 2022])
def test_psus_make_a_valid_design(waves: dict, wave: int) -> None:
    gross = waves[f"sid{wave}_gross.sav"].data
    assert (gross.groupby("stratum")["psu"].nunique() >= 2).all()
    assert (gross["psu"] == gross["gemeente"]).all()
    resp = waves[f"sid{wave}.sav"].data
    assert (resp.groupby("stratum")["psu"].nunique() >= 2).all()
    # Within a stratum and PSU every sampled person has the same inclusion probability.
    assert (gross.groupby(["stratum", "psu"])["incl_prob"].nunique() == 1).all()


@pytest.mark.parametrize("wave", [2017, 2022])
def test_gross_and_respondents_agree(waves: dict, wave: int) -> None:
    gross, resp = waves[f"sid{wave}_gross.sav"].data, waves[f"sid{wave}.sav"].data
    rid = name("resp_id", wave)
    assert gross[rid].is_unique and resp[rid].is_unique
    responded = gross[gross["respons"] == 1].reset_index(drop=True)
    assert responded[rid].tolist() == resp[rid].tolist()
    for var in ("stratum", "psu", "incl_prob", "base_wt", "mode", name("herkomst", wave),
                "geslacht", name("leeftijd", wave), "gemeente"):
        assert np.array_equal(responded[var].to_numpy(), resp[var].to_numpy()), var
    nonresp = gross[gross["respons"] == 0]
    assert len(nonresp) > 0.3 * len(gross)
    assert (nonresp["mode"] == MISSING[wave]["NVT"]).all()


def test_response_differs_by_group_and_mode(waves: dict) -> None:
    gross = waves["sid2022_gross.sav"].data
    rate = gross.groupby("herkomst_frame")["respons"].mean()
    assert rate[1] > rate[5] + 0.05  # Belgian origin responds more than Romanian origin
    resp = waves["sid2022.sav"].data
    web_share = resp.groupby("herkomst_frame")["mode"].apply(lambda m: (m == 1).mean())
    assert web_share[1] > 0.5 > web_share[2]  # migrants mostly reached face to face
    older = resp["lft"] >= 65
    assert (resp.loc[older, "mode"] == 2).mean() > (resp.loc[~older, "mode"] == 2).mean()


# --------------------------------------------------------------------------- nationality


@pytest.mark.parametrize("wave", [2017, 2022])
def test_nationality_history_cases(waves: dict, wave: int) -> None:
    d = waves[f"sid{wave}.sav"].data
    fields = ["nat_huidig", "nat_eerste", "nat_vader", "nat_moeder", "geboorteland"]
    for f in fields:
        assert d[f].map(lambda v: v == "" or re.fullmatch(r"[A-Z]{2}", v) is not None).all(), f
    for f in ("nat_huidig", "nat_eerste", "geboorteland"):
        assert (d[f] != "").all(), f
    naturalised = (d["nat_huidig"] == "BE") & (d["nat_eerste"] != "BE")
    second_gen = ((d["geboorteland"] == "BE") & (d["nat_eerste"] == "BE")
                  & ((~d["nat_vader"].isin(["BE", ""])) | (~d["nat_moeder"].isin(["BE", ""]))))
    mixed = (d["nat_vader"] == "BE") & (d["nat_moeder"] == "MA")
    unknown = (d["nat_vader"] == "") | (d["nat_moeder"] == "")
    others = d[["nat_vader", "nat_moeder", "nat_eerste"]].isin(["NL", "FR", "DE", "GB", "IT", "ES",
                                                                "HR", "SY"]).any(axis=1)
    for case in (naturalised, second_gen, mixed, unknown, others):
        assert case.sum() >= 3
    herkomst = d[name("herkomst", wave)]
    assert (others & (herkomst == 1)).sum() >= 3  # other backgrounds in the Belgian frame group
    # The origin country implied by the Flemish rule (father, then mother, then self) is the
    # frame group's country for every migrant-origin respondent.
    country = {2: "MA", 3: "TR", 4: "PL", 5: "RO", 6: "CD", 7: "AF"}
    fo = d["nat_vader"].where(~d["nat_vader"].isin(["BE", ""]))
    fo = fo.fillna(d["nat_moeder"].where(~d["nat_moeder"].isin(["BE", ""])))
    fo = fo.fillna(d["nat_eerste"].where(d["nat_eerste"] != "BE"))
    migrant = herkomst > 1
    assert (fo[migrant] == herkomst[migrant].map(country)).all()
    # First generation born abroad, Belgian-born second generation.
    assert ((d["nat_eerste"] != "BE") & (d["geboorteland"] != "BE")).sum() > 1000


# --------------------------------------------------------------------------- margins and truth


def test_population_margins_layout(synthetic_dir: Path) -> None:
    m = pd.read_csv(synthetic_dir / "population_margins.csv")
    assert list(m.columns) == ["ref_date", "herkomst", "geslacht", "leeftijdsgroep", "gewest", "count"]
    assert set(m["ref_date"]) == {"2017-01-01", "2022-01-01"}
    assert set(m.loc[m["ref_date"] == "2017-01-01", "herkomst"]) == {1, 2, 3, 4, 5, 6}
    assert set(m.loc[m["ref_date"] == "2022-01-01", "herkomst"]) == set(range(1, 8))
    assert len(m) == 6 * 24 + 7 * 24
    assert not m.duplicated(["ref_date", "herkomst", "geslacht", "leeftijdsgroep", "gewest"]).any()
    sizes = m[m["ref_date"] == "2022-01-01"].groupby("herkomst")["count"].sum()
    assert 4.0e6 < sizes[1] < 4.6e6 and 2.5e5 < sizes[2] < 3.5e5 and 3e4 < sizes[7] < 5e4
    bru = m[m["ref_date"] == "2022-01-01"].groupby("herkomst").apply(
        lambda x: x.loc[x["gewest"] == 2, "count"].sum() / x["count"].sum(), include_groups=False)
    assert bru[6] > 0.4 > 0.1 > bru[1]
    assert (m.loc[m["herkomst"] == 7, "count"] > 0).all()


def test_truth_values_plausible(synthetic_dir: Path) -> None:
    doc = json.loads((synthetic_dir / "truth.json").read_text(encoding="utf-8"))
    assert set(doc["waves"]) == {"2017", "2022"}
    assert set(doc["waves"]["2017"]["groups"]) == {"1", "2", "3", "4", "5", "6"}
    margins = pd.read_csv(synthetic_dir / "population_margins.csv")
    for block in doc["waves"].values():
        groups = block["groups"]
        congo, belg = groups["6"], groups["1"]
        assert 0.35 <= congo["werk_niet_correct"] <= 0.45
        assert 0.40 <= congo["reden_herkomst"] <= 0.60
        assert belg["werk_niet_correct"] < 0.2 and belg["reden_herkomst"] < 0.15
        assert 0.3 <= congo["huur_geweigerd"] <= 0.5 and belg["huur_geweigerd"] < 0.15
        for g in groups.values():
            assert 0 <= g["werk_niet_correct"] <= 1 and 3 <= g["vertrouwen_gemiddeld"] <= 7
        assert belg["taal_thuis_nederlands"] > 0.8 > groups["4"]["taal_thuis_nederlands"]
        counts = margins[margins["ref_date"] == block["ref_date"]].groupby("herkomst")["count"].sum()
        assert {k: v["population"] for k, v in groups.items()} == {
            str(k): int(v) for k, v in counts.items()}
        assert block["totaal"]["population"] == int(counts.sum())


def test_sample_answers_are_population_answers(waves: dict, synthetic_dir: Path) -> None:
    # Design-weighted respondent share is close to the population truth (loose bound: ~750 cases
    # in a clustered sample; response depends on group, age and region, which base weights
    # do not fully correct).
    doc = json.loads((synthetic_dir / "truth.json").read_text(encoding="utf-8"))
    d = waves["sid2022.sav"].data
    for g in (1, 6):
        in_g = d[(d["herkomst_frame"] == g) & d["werkbeh"].isin([1, 2, 3])]
        share = np.average(in_g["werkbeh"].isin([1, 2]), weights=in_g["base_wt"])
        assert abs(share - doc["waves"]["2022"]["groups"][str(g)]["werk_niet_correct"]) < 0.08


def test_truth_is_computed_over_persons() -> None:
    pop = make_population(2017, seed=5, scale=0.02)
    t = truth(pop)
    assert t["totaal"]["population"] == int(pop["persons"].sum())
    belg = pop[pop["herkomst"] == 1]
    workers = belg[belg["werksituatie"].isin([1, 2])]
    expected = workers["werk_behandeld"].isin([2, 3]).mean()  # equal expansion within a group
    assert t["groups"]["1"]["werk_niet_correct"] == pytest.approx(expected, rel=1e-12)
    margins = population_margins(pop, "2017-01-01")
    assert margins["count"].sum() == t["totaal"]["population"]


def test_truth_models_block(synthetic_dir: Path) -> None:
    """truth.json's ``models``: census coefficients under R's names, crude values equal to the
    indicators, and an adjustment that moves the Congolese-Belgian gap."""
    doc = json.loads((synthetic_dir / "truth.json").read_text(encoding="utf-8"))
    for wave, block in doc["waves"].items():
        models = block["models"]
        assert set(models) == {"werk_niet_correct", "vertrouwen", "thuis_belgie_wel"}
        werk = models["werk_niet_correct"]
        groups = sorted(block["groups"], key=int)
        assert werk["family"] == "binomial" and werk["base"] == "werksituatie in [1, 2]"
        assert werk["formula"] == "opleiding + leeftijd + geslacht + gewest + herkomst"
        assert list(werk["coefficients"]) == [
            "(Intercept)", "opleiding2", "opleiding3", "leeftijd", "geslacht2", "gewest2",
            *(f"herkomst{g}" for g in groups[1:])]
        for key, indicator in (("werk_niet_correct", "werk_niet_correct"),
                               ("vertrouwen", "vertrouwen_gemiddeld"),
                               ("thuis_belgie_wel", "thuis_belgie_wel")):
            for g in groups:
                assert models[key]["groups"][g]["crude"] == pytest.approx(
                    block["groups"][g][indicator], rel=1e-9), (wave, key, g)
        c = werk["coefficients"]
        assert c["opleiding3"] < c["opleiding2"] < 0 < c["gewest2"] and c["leeftijd"] < 0
        g = werk["groups"]
        crude_gap = g["6"]["crude"] - g["1"]["crude"]
        adjusted_gap = g["6"]["adjusted"] - g["1"]["adjusted"]
        assert crude_gap > 0.2 and 0.05 < crude_gap - adjusted_gap < crude_gap
        assert models["vertrouwen"]["family"] == "gaussian"
        assert models["vertrouwen"]["coefficients"]["opleiding3"] > 0.5


def test_model_truth_is_the_census_fit_of_sid_model() -> None:
    """The truth is what sid.model gives when fitted on every person (weights = persons): the
    coefficients and the predictive margins, at rtol 1e-8 (two IRLS implementations)."""
    from sid.design import Design
    from sid.model import fit, margins
    from sid.synthetic.truth_models import TRUTH_MODELS, model_truth

    pop = make_population(2022, seed=7, scale=0.02)
    got = model_truth(pop)
    frame = pop[["persons", "opleiding", "leeftijd", "geslacht", "gewest", "herkomst"]].astype(float)
    frame["werk"] = pop["werk_behandeld"].isin([2, 3]).astype(float)
    frame["vertrouwen"] = pop["vertrouwen"].astype(float)
    design = Design(frame, "persons")
    workers = pop["werksituatie"].isin([1, 2]).to_numpy()
    cat = tuple(TRUTH_MODELS[0].categorical)
    rhs = "opleiding + leeftijd + geslacht + gewest + herkomst"
    for key, lhs, family, where in (("werk_niet_correct", "werk", "binomial", workers),
                                    ("vertrouwen", "vertrouwen", "gaussian", None)):
        model = fit(design, f"{lhs} ~ {rhs}", family, where, categorical=cat)
        truth_coef = got[key]["coefficients"]
        assert list(truth_coef) == list(model.names)
        np.testing.assert_allclose(list(truth_coef.values()), model.coef, rtol=1e-8, atol=1e-12)
        m = margins(model, "herkomst")
        adjusted = [got[key]["groups"][lev]["adjusted"] for lev in m.levels]
        np.testing.assert_allclose(adjusted, m.estimate, rtol=1e-8)


def test_generator_effects_are_recovered() -> None:
    """The workplace item is an ordered logit with the documented effects: the census fit of
    the generating model (with home language) recovers WORK_EFFECTS and the intercepts."""
    from sid.synthetic import WORK_EFFECTS, WORK_LOGIT
    from sid.synthetic.truth_models import TruthModel, model_truth

    pop = make_population(2022, seed=11)
    pop["niet_nl"] = (pop["taal_thuis"] != 1).astype(np.int8)
    pop["leeftijd40"] = pop["leeftijd"].astype(float) - 40
    spec = TruthModel("werk", "werk", "binomial", "", None,
                      ("opleiding", "leeftijd40", "geslacht", "gewest", "niet_nl"),
                      frozenset({"opleiding", "geslacht", "gewest", "niet_nl", "herkomst"}),
                      lambda d: d["werk_behandeld"].isin([2, 3]).to_numpy(float),
                      lambda d: d["werksituatie"].isin([1, 2]).to_numpy())
    c = model_truth(pop, (spec,))["werk"]["coefficients"]
    fx = WORK_EFFECTS
    expected = {"opleiding2": fx["opleiding_midden"], "opleiding3": fx["opleiding_hoog"],
                "geslacht2": fx["vrouw"], "gewest2": fx["brussel"],
                "niet_nl1": fx["geen_nederlands_thuis"], "(Intercept)": WORK_LOGIT[2022][1],
                **{f"herkomst{g}": WORK_LOGIT[2022][g] - WORK_LOGIT[2022][1] for g in range(2, 8)}}
    for term, value in expected.items():
        assert c[term] == pytest.approx(value, abs=0.06), term
    assert c["leeftijd40"] == pytest.approx(fx["leeftijd_per_jaar"], abs=0.002)


# --------------------------------------------------------------------------- determinism and API


def test_files_reproduce_from_seed(waves: dict) -> None:
    pop = make_population(2022, seed=20260101)
    sample = draw_gross_sample(pop, 2022, seed=20260101)
    assert compare_waves(respondent_wave(sample, 2022, seed=20260101), waves["sid2022.sav"]) == []
    assert compare_waves(gross_wave(sample, 2022), waves["sid2022_gross.sav"]) == []


def test_different_seed_gives_different_data() -> None:
    a = make_population(2022, seed=1, scale=0.01)
    b = make_population(2022, seed=1, scale=0.01)
    c = make_population(2022, seed=2, scale=0.01)
    pd.testing.assert_frame_equal(a, b)
    assert not a["leeftijd"].equals(c["leeftijd"])
    sa, sc = draw_gross_sample(a, 2022, seed=1), draw_gross_sample(a, 2022, seed=2)
    assert not sa["record"].equals(sc["record"])


def test_make_wave_frame_has_wave_schema(waves: dict, tmp_path: Path) -> None:
    big = make_wave_frame(20_000, seed=3, wave=2022)
    file_wave = waves["sid2022.sav"]
    assert big.columns == file_wave.columns
    assert len(big.data) == 20_000
    for var in file_wave.columns:
        ours, theirs = big.meta.variable(var), file_wave.meta.variable(var)
        assert dict(ours.value_labels) == dict(theirs.value_labels), var
        assert ours.missing == theirs.missing, var
    d = big.data
    assert ((d["werkbeh"] == -1) == ~d["werksituatie"].isin([1, 2])).all()
    assert ((d["reden_herkomst"] == -1) == ~d["werkbeh"].isin([1, 2])).all()
    assert d["herkomst_frame"].value_counts().between(2_500, 3_200).all()
    write_wave(big, tmp_path / "big.sav")  # verified by read-back
    small = make_wave_frame(500, seed=3, wave=2017)
    assert "werk_behandeld" in small.columns and "resp_id" in small.columns


def test_bad_arguments_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown wave"):
        make_population(2019)
    with pytest.raises(InputError, match="scale"):
        make_population(2022, scale=2.0)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = CliRunner().invoke(main, ["synth", "--out", str(blocker)])
    assert result.exit_code == 2
    assert "not a folder" in result.output and "Traceback" not in result.output


def test_summary_lists_groups(synthetic_dir: Path, waves: dict) -> None:
    text = summarise_waves(synthetic_dir)
    assert "sid2017.sav: " + str(len(waves["sid2017.sav"].data)) in text
    assert "Afghaans" in text.split("sid2022.sav")[1] and "Afghaans" not in text.split("sid2022.sav")[0]
    d = waves["sid2022.sav"].data
    congo = d[(d["herkomst_frame"] == 6) & d["werkbeh"].isin([1, 2, 3])]
    share = congo["werkbeh"].isin([1, 2]).mean()
    line = next(x for x in text.splitlines()[::-1] if "Congolees" in x)
    assert f"{share:.1%}" in line
