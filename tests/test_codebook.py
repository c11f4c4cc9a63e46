"""Tests for codebooks (sid.codebook), harmonised loading (sid.harmonise) and validation.

The waves are built here from docs/synthetic_schema.md with known answers,
so every expected value is computed independently of the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sid.codebook import parse_codebook, read_codebook
from sid.errors import CodebookError, InputError
from sid.harmonise import load
from sid.io import MissingSpec, make_wave, write_wave

ROOT = Path(__file__).resolve().parents[1]
CODEBOOK = ROOT / "sid" / "data" / "sid.yaml"

WERKBEH_2017 = {1.0: "nooit", 2.0: "soms", 3.0: "vaak"}
WERKBEH_2022 = {1.0: "vaak", 2.0: "soms", 3.0: "nooit"}
REDEN = ["reden_herkomst", "reden_huidskleur", "reden_geloof", "reden_taal", "reden_geslacht",
         "reden_leeftijd", "reden_andere"]


def build_truth(n: int, seed: int) -> pd.DataFrame:
    """Respondents' answers on the common (2017) coding, with kinds in *_kind columns."""
    rng = np.random.default_rng(seed)
    t = pd.DataFrame({
        "id": np.arange(1, n + 1, dtype=float) + seed * 100000,
        "stratum": rng.integers(1, 7, n) * 10 + rng.integers(1, 3, n),
        "psu": rng.integers(11001, 11010, n).astype(float),
        "incl_prob": rng.uniform(0.001, 0.5, n),
        "mode": rng.integers(1, 3, n).astype(float),
        "herkomst": rng.integers(1, 8, n).astype(float),
        "geslacht": rng.integers(1, 3, n).astype(float),
        "leeftijd": rng.integers(15, 86, n).astype(float),
        "gewest": rng.integers(1, 3, n).astype(float),
        "provincie": rng.integers(1, 7, n).astype(float),
        "verstedelijking": rng.integers(1, 7, n).astype(float),
        "gemeente": rng.integers(11001, 46030, n).astype(float),
        "opleiding": rng.integers(1, 4, n).astype(float),
        "werksituatie": rng.integers(1, 7, n).astype(float),
        "huur_gezocht": rng.integers(1, 3, n).astype(float),
        "vertrouwen": rng.integers(0, 11, n).astype(float),
        "taal_thuis": rng.integers(1, 6, n).astype(float),
        "thuis_belgie": rng.integers(1, 6, n).astype(float),
        "negatief_publiek": rng.integers(1, 3, n).astype(float),
        "religie": rng.integers(1, 5, n).astype(float),
        "contact_belgen": rng.integers(1, 6, n).astype(float),
    })
    t["base_wt"] = 1 / t["incl_prob"]
    nat = np.array(["BE", "MA", "TR", "PL", "RO", "CD", "AF"])
    t["nat_huidig"] = nat[t["herkomst"].astype(int) - 1]
    t["nat_eerste"] = t["nat_huidig"]
    t["nat_vader"] = np.where(rng.random(n) < 0.1, "", t["nat_huidig"])
    t["nat_moeder"] = t["nat_huidig"]
    t["geboorteland"] = t["nat_huidig"]
    # werkbeh asked if working; reasons asked if soms/vaak; huur_geweigerd if searched
    works = t["werksituatie"].isin([1, 2])
    t["werkbeh"] = np.where(works, rng.integers(1, 4, n), np.nan)
    t["werkbeh_kind"] = np.where(works, "", "NVT")
    wn = works & (rng.random(n) < 0.05)
    t.loc[wn, "werkbeh"] = np.nan
    t.loc[wn, "werkbeh_kind"] = "WN"
    mistreated = t["werkbeh"].isin([2, 3])
    for item in REDEN:
        t[item] = np.where(mistreated, rng.integers(0, 2, n), np.nan)
    searched = t["huur_gezocht"] == 1
    t["huur_geweigerd"] = np.where(searched, rng.integers(1, 3, n), np.nan)
    t["huur_geweigerd_kind"] = np.where(searched, "", "NVT")
    # item nonresponse on trust and education
    ga = rng.random(n) < 0.04
    t.loc[ga, "vertrouwen"] = np.nan
    t["vertrouwen_kind"] = np.where(ga, "GA", "")
    wn_opl = rng.random(n) < 0.03
    t.loc[wn_opl, "opleiding"] = np.nan
    t["opleiding_kind"] = np.where(wn_opl, "WN", "")
    return t


def to_wave(truth: pd.DataFrame, year: int):
    """The truth as the file of a wave: source names, source codes, missing codes declared."""
    nvt, wn, ga = (7.0, 8.0, 9.0) if year == 2017 else (-1.0, -8.0, -9.0)
    t = truth
    names = {"id": "resp_id" if year == 2017 else "respid",
             "herkomst": "herkomst" if year == 2017 else "herkomst_frame",
             "leeftijd": "leeftijd" if year == 2017 else "lft",
             "werkbeh": "werk_behandeld" if year == 2017 else "werkbeh"}
    data = {}
    plain = ["stratum", "psu", "incl_prob", "base_wt", "mode", "herkomst", "geslacht", "leeftijd",
             "gewest", "provincie", "verstedelijking", "gemeente", "werksituatie", "huur_gezocht",
             "taal_thuis", "thuis_belgie", "negatief_publiek", "religie", "contact_belgen", "id"]
    for col in plain:
        data[names.get(col, col)] = t[col].astype(float)
    for col in ["nat_huidig", "nat_eerste", "nat_vader", "nat_moeder", "geboorteland"]:
        data[col] = t[col].astype(object)
    code = {"NVT": nvt, "WN": wn, "GA": ga}

    def with_kinds(values: pd.Series, kinds: pd.Series) -> pd.Series:
        out = values.copy()
        for kind, c in code.items():
            out[kinds == kind] = c
        return out

    werk = t["werkbeh"].copy()
    if year == 2022:
        werk = werk.map({1.0: 3.0, 2.0: 2.0, 3.0: 1.0})
    data[names["werkbeh"]] = with_kinds(werk, t["werkbeh_kind"])
    for item in REDEN:
        data[item] = t[item].fillna(nvt)
    data["huur_geweigerd"] = with_kinds(t["huur_geweigerd"], t["huur_geweigerd_kind"])
    trust_code = {"NVT": 97.0, "WN": 98.0, "GA": 99.0} if year == 2017 else code
    trust = t["vertrouwen"].copy()
    trust[t["vertrouwen_kind"] == "GA"] = trust_code["GA"]
    data["vertrouwen"] = trust
    data["opleiding"] = with_kinds(t["opleiding"], t["opleiding_kind"])
    frame = pd.DataFrame(data)
    miss = MissingSpec(values=(nvt, wn, ga))
    missing = {c: miss for c in [names["werkbeh"], "huur_geweigerd", "opleiding", "werksituatie",
                                 "huur_gezocht", "taal_thuis", "thuis_belgie", "negatief_publiek",
                                 "religie", "contact_belgen", "geslacht", "mode", *REDEN]}
    missing["vertrouwen"] = MissingSpec(values=tuple(trust_code.values()))
    labels_kind = {nvt: "niet van toepassing", wn: "weet niet", ga: "geen antwoord"}
    value_labels = {
        names["werkbeh"]: {**(WERKBEH_2017 if year == 2017 else WERKBEH_2022), **labels_kind},
        "geslacht": {1.0: "man", 2.0: "vrouw"},
        names["herkomst"]: {1.0: "Belgisch", 2.0: "Marokkaans", 3.0: "Turks", 4.0: "Pools",
                            5.0: "Roemeens", 6.0: "Congolees", 7.0: "Afghaans"},
        "vertrouwen": {0.0: "helemaal geen vertrouwen", 10.0: "volledig vertrouwen"},
    }
    return make_wave(frame, missing=missing, value_labels=value_labels,
                     labels={names["werkbeh"]: "Niet correct behandeld op het werk"})


@pytest.fixture(scope="module")
def truths() -> dict[int, pd.DataFrame]:
    return {2017: build_truth(400, 1), 2022: build_truth(500, 2)}


@pytest.fixture(scope="module")
def files(tmp_path_factory, truths) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("waves")
    out = {}
    for year, truth in truths.items():
        path = folder / f"sid{year}.sav"
        write_wave(to_wave(truth, year), path)
        out[year] = path
    return out


@pytest.fixture(scope="module")
def harmonised(files):
    return load([files[2017], files[2022]], CODEBOOK)


# --------------------------------------------------------------------------- codebook


def test_shipped_codebook_reads():
    cb = read_codebook(CODEBOOK)
    assert set(cb.waves) == {"2017", "2022"}
    assert cb.source("werkbeh", "2017") == "werk_behandeld"
    assert cb.source("leeftijd", "2022") == "lft"
    assert cb.design_variables(2022) == {"weight": "base_wt", "strata": "stratum", "psu": "psu",
                                         "incl_prob": "incl_prob", "id": "respid"}
    assert cb.missing_codes("vertrouwen", "2017") == {"NVT": (97.0,), "WN": (98.0,), "GA": (99.0,)}
    assert cb.missing_codes("leeftijd", "2017") == {}
    assert cb.label("werkbeh", "en").startswith("Treated incorrectly")
    assert cb.value_labels("werkbeh") == {1.0: "nooit", 2.0: "soms", 3.0: "vaak"}
    assert cb.mr_sets["reden"].items == REDEN


FIVE_ERRORS = """\
name: broken
waves:
  2017:
    year: 2017
    file: "a.sav"
    id: respid
    design: {weight: gewicht}
variables:
  respid:
    label: Id
    type: id
    waves:
      2017: {source: resp_id}
  werkbeh:
    label: Werk
    type: ordinaal
    values: {1: nooit, 2: soms}
    waves:
      2017: {source: werk_behandeld}
  huur:
    label: Huur
    type: categorical
    values: {1: ja, 2: nee}
    asked_if: werksituatei in [1, 2]
    waves:
      2017: {source: huur, recode: {3: 5}}
      2018: {source: huur}
"""


def test_five_errors_reported_at_once():
    """A schema error and four cross-reference errors, all in one run, each with file:line: path."""
    with pytest.raises(CodebookError) as info:
        parse_codebook(FIVE_ERRORS, source="broken.yaml")
    problems = info.value.problems
    text = info.value.line()
    assert len(problems) == 5, text
    assert any("broken.yaml:16: variables.werkbeh.type" in p and "ordinaal" in p for p in problems)
    assert any("broken.yaml:7: waves.2017.design.weight" in p and "gewicht" in p for p in problems)
    assert any("broken.yaml:24: variables.huur.asked_if" in p and "werksituatei" in p for p in problems)
    assert any("broken.yaml:26: variables.huur.waves.2017.recode" in p and "5" in p for p in problems)
    assert any("broken.yaml:27: variables.huur.waves.2018" in p for p in problems)
    # fixing the schema error leaves exactly the other four
    with pytest.raises(CodebookError) as info:
        parse_codebook(FIVE_ERRORS.replace("ordinaal", "ordinal"), source="broken.yaml")
    assert len(info.value.problems) == 4


def test_broken_entries_cause_no_follow_on_errors():
    """A variable that fails the schema is not reported again where it is used."""
    text = FIVE_ERRORS.replace("werksituatei", "werkbeh")
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, source="b.yaml")
    assert not any("asked_if" in p for p in info.value.problems), info.value.line()


def test_schema_errors_all_listed_with_lines():
    text = FIVE_ERRORS.replace("label: Huur", "lable: Huur").replace("year: 2017", "year: twee")
    with pytest.raises(CodebookError) as info:
        parse_codebook(text, source="x.yaml")
    problems = info.value.problems
    assert any("x.yaml:4: waves.2017.year" in p for p in problems), problems
    assert any("x.yaml:21: variables.huur.lable" in p and "unknown key" in p for p in problems), problems
    assert any("variables.huur.label" in p and "required" in p for p in problems), problems
    assert any("variables.werkbeh.type" in p for p in problems), problems


def test_duplicate_key_and_bad_yaml():
    with pytest.raises(CodebookError, match="given twice"):
        parse_codebook(FIVE_ERRORS.replace("    label: Werk\n", "    label: Werk\n    label: W\n")
                       .replace("ordinaal", "ordinal"), source="d.yaml")
    with pytest.raises(CodebookError, match="not valid YAML"):
        parse_codebook("name: [unclosed\n", source="y.yaml")


# --------------------------------------------------------------------------- loading


def test_load_stacks_waves(harmonised, truths):
    data = harmonised.data
    assert list(data["wave"].cat.categories) == ["2017", "2022"]
    assert (data["wave"] == "2017").sum() == 400
    assert (data["wave"] == "2022").sum() == 500
    assert list(data.columns[:2]) == ["wave", "respid"]
    expected_ids = np.concatenate([truths[2017]["id"], truths[2022]["id"]])
    np.testing.assert_array_equal(data["respid"], expected_ids)
    np.testing.assert_array_equal(data["leeftijd"],
                                  np.concatenate([truths[2017]["leeftijd"], truths[2022]["leeftijd"]]))


def test_reordered_codes_recoded(harmonised, truths):
    """2022's reversed werkbeh codes land on the 2017 coding."""
    got = harmonised.data["werkbeh"].to_numpy()
    expected = np.concatenate([truths[2017]["werkbeh"], truths[2022]["werkbeh"]])
    np.testing.assert_array_equal(got, expected)
    assert harmonised.value_labels("werkbeh") == {1.0: "nooit", 2.0: "soms", 3.0: "vaak"}


def test_missing_kinds(harmonised, truths):
    kinds = harmonised.missing_kind
    for var in ["werkbeh", "huur_geweigerd", "vertrouwen", "opleiding"]:
        expected = np.concatenate([truths[2017][f"{var}_kind"], truths[2022][f"{var}_kind"]])
        got = kinds[var].astype(object).fillna("").to_numpy()
        np.testing.assert_array_equal(got, expected, err_msg=var)
        assert harmonised.data[var][expected != ""].isna().all()
    assert list(kinds["werkbeh"].cat.categories) == ["NVT", "WN", "GA", "WZ", "SYS"]
    # 2017 trust 97-99 vs 2022 -1/-8/-9: no missing code survives as a value
    assert harmonised.data["vertrouwen"].dropna().between(0, 10).all()


def test_column_keeps_wn_as_code(harmonised, truths):
    col = harmonised.column("werkbeh", keep=("WN",))
    expected_wn = np.concatenate([truths[2017]["werkbeh_kind"], truths[2022]["werkbeh_kind"]]) == "WN"
    assert (col[expected_wn] == -8).all()
    assert col[~expected_wn].isin([1, 2, 3]).sum() == harmonised.data["werkbeh"].notna().sum()
    assert harmonised.value_labels("werkbeh", keep=("WN",))[-8.0] == "weet niet"


def test_derived_variables(harmonised, truths):
    data = harmonised.data
    both = pd.concat([truths[2017], truths[2022]], ignore_index=True)
    np.testing.assert_array_equal(data["werkt"], both["werksituatie"].isin([1, 2]).astype(float))
    edges = [15, 25, 35, 45, 55, 65, 86]
    expected = pd.cut(both["leeftijd"], edges, right=False, labels=False).to_numpy(dtype=float) + 1
    np.testing.assert_array_equal(data["leeftijdsgroep"], expected)
    # werkbeh_ooit propagates werkbeh's missing kind (NVT for non-workers, WN)
    ooit = data["werkbeh_ooit"]
    assert ooit[both["werkbeh_kind"] == ""].notna().all()
    assert ooit[both["werkbeh_kind"] != ""].isna().all()
    np.testing.assert_array_equal(harmonised.missing_kind["werkbeh_ooit"].astype(object).fillna(""),
                                  both["werkbeh_kind"])


def test_filter_violations_become_nvt(tmp_path, truths):
    truth = truths[2022].copy()
    wave = to_wave(truth, 2022)
    data = wave.data.copy()
    not_working = np.flatnonzero(~truth["werksituatie"].isin([1, 2]))[:5]
    data.loc[not_working, "werkbeh"] = 2.0  # answered though not asked
    working_valid = np.flatnonzero(truth["werkbeh_kind"] == "")[:3]
    data.loc[working_valid, "werkbeh"] = -1.0  # NVT though asked
    path = tmp_path / "sid2022.sav"
    write_wave(wave.replace_data(data), path)
    h = load([path], CODEBOOK)
    assert h.data.loc[not_working, "werkbeh"].isna().all()
    assert (h.missing_kind.loc[not_working, "werkbeh"] == "NVT").all()
    rep = h.report.set_index(["variable", "action"])
    assert rep.loc[("werkbeh", "answered though not asked -> NVT"), "count"] == 5
    assert rep.loc[("werkbeh", "NVT though asked"), "count"] == 3
    assert rep.loc[("werkbeh", "recoded"), "wave"] == "2022"


def test_report_renames_and_labels(harmonised):
    rep = harmonised.report
    renamed = rep[rep["action"] == "renamed"]
    assert set(renamed["variable"]) == {"respid", "herkomst", "leeftijd", "werkbeh"}
    assert set(renamed[renamed["variable"] == "respid"]["wave"]) == {"2017"}
    assert list(rep.columns) == ["wave", "variable", "action", "count", "detail"]


def test_label_differences_reported(tmp_path, truths):
    wave = to_wave(truths[2017], 2017)
    meta_vl = {"geslacht": {1.0: "Man", 2.0: "Vrouwelijk"}}
    wave2 = make_wave(wave.data, missing={v.name: v.missing for v in wave.meta.variables if v.missing},
                      value_labels={**{v.name: dict(v.value_labels) for v in wave.meta.variables
                                       if v.value_labels}, **meta_vl})
    path = tmp_path / "sid2017.sav"
    write_wave(wave2, path)
    h = load([path], CODEBOOK)
    rows = h.report[h.report["action"].str.startswith("label differs")]
    assert list(rows["variable"]) == ["geslacht"]
    assert "Vrouwelijk" in rows["detail"].iloc[0]
    assert h.value_labels("geslacht") == {1.0: "man", 2.0: "vrouw"}  # codebook wins


def test_wave_by_explicit_mapping_and_errors(files, tmp_path):
    h = load({"2022": files[2022]}, CODEBOOK)
    assert set(h.data["wave"]) == {"2022"}
    odd = tmp_path / "other.sav"
    odd.write_bytes(files[2017].read_bytes())
    with pytest.raises(InputError, match="matches no wave"):
        load([odd], CODEBOOK)
    h = load([f"2017={odd}"], CODEBOOK)
    assert len(h.data) == 400


def test_missing_source_variable_error(tmp_path, truths):
    wave = to_wave(truths[2017], 2017)
    data = wave.data.drop(columns=["werk_behandeld", "lft"], errors="ignore")
    path = tmp_path / "sid2017.sav"
    write_wave(make_wave(data), path)
    with pytest.raises(InputError, match="werk_behandeld"):
        load([path], CODEBOOK)


def test_input_file_unchanged(files):
    before = files[2017].read_bytes()
    load([files[2017]], CODEBOOK)
    assert files[2017].read_bytes() == before


# --------------------------------------------------------------------------- validate


def _problems(result) -> set[tuple[str, str, str]]:
    return {(r["severity"], r["variable"], r["check"]) for r in result.to_records()}


def test_validate_clean_files(files):
    from sid.validation import validate

    result = validate([files[2017], files[2022]], CODEBOOK)
    assert result.ok, result.table.to_string()
    assert set(result.files) == {"2017", "2022"}
    assert list(result.table.columns) == ["severity", "wave", "variable", "check", "count", "examples", "fix"]


def test_validate_synthetic_waves_zero_errors(tmp_path):
    from sid import synthetic
    from sid.validation import validate

    paths = []
    for year in (2017, 2022):
        path = tmp_path / f"sid{year}.sav"
        write_wave(synthetic.make_wave_frame(1500, wave=year), path)
        paths.append(path)
    result = validate(paths, CODEBOOK)
    assert result.n_errors == 0, result.table.to_string()
    h = load(paths, CODEBOOK)
    # every shared concept has the same codes and labels in both waves
    for name in ["werkbeh", "herkomst", "vertrouwen", "opleiding", "religie"]:
        by_wave = h.data.groupby("wave", observed=True)[name].apply(lambda s: set(s.dropna()))
        allowed = set(h.value_labels(name))
        if name == "vertrouwen":
            allowed = set(map(float, range(11)))
        assert by_wave["2017"] <= allowed and by_wave["2022"] <= allowed, name
    assert set(h.missing_kind["religie"].dropna()) == {"WZ"}
    # the reversed 2022 werkbeh coding is undone: 'nooit' is the most common answer in both waves
    top = h.data.groupby("wave", observed=True)["werkbeh"].agg(lambda s: s.mode().iloc[0])
    assert list(top) == [1.0, 1.0]


def test_validate_reports_all_problems_at_once(tmp_path, truths):
    from sid.validation import validate

    truth = truths[2017]
    wave = to_wave(truth, 2017)
    data = wave.data.copy()
    data.loc[3, "resp_id"] = data.loc[4, "resp_id"]  # duplicate id
    data.loc[5, "base_wt"] = 0.0  # non-positive weight
    data.loc[6, "geslacht"] = 3.0  # code outside labels
    not_working = np.flatnonzero(~truth["werksituatie"].isin([1, 2]))[:2]
    data.loc[not_working, "werk_behandeld"] = 1.0  # answered though not asked
    data = data.drop(columns=["gewest"])  # variable absent
    missing = {v.name: v.missing for v in wave.meta.variables if v.missing and v.name in data}
    missing["taal_thuis"] = MissingSpec(values=(6.0, 8.0, 9.0))  # 6 not a codebook missing code
    vl = {v.name: dict(v.value_labels) for v in wave.meta.variables if v.value_labels}
    path = tmp_path / "sid2017.sav"
    write_wave(make_wave(data, missing=missing, value_labels=vl), path)
    other = tmp_path / "unknown.sav"
    other.write_bytes(path.read_bytes())
    result = validate([path, other], CODEBOOK)
    found = _problems(result)
    assert ("error", "respid", "unique ids") in found
    assert ("error", "base_wt", "weights positive and present") in found
    assert ("error", "geslacht", "codes outside value labels and missing codes") in found
    assert ("error", "gewest", "variable present") in found
    assert ("error", "", "file matches a wave") in found
    assert ("warning", "taal_thuis", "file declares user-missing codes the codebook does not") in found
    assert result.n_errors == 5, result.table.to_string()
    rows = result.table.set_index(["variable", "check"])
    assert rows.loc[("geslacht", "codes outside value labels and missing codes"), "examples"] == "3"
    assert rows.loc[("respid", "unique ids"), "count"] == 1
    # the filter check is skipped for werkbeh? no: gewest is not in its filter, so it runs
    filt = rows.loc[("werkbeh", "filter: answered though not asked")]
    assert filt["count"] == 2
    ids = truth["id"].to_numpy()[not_working]
    assert filt["examples"] == ", ".join(f"'id {i:g}'" for i in ids)


def test_cli_validate_exit_codes_and_json(files, tmp_path):
    import json

    from click.testing import CliRunner

    from sid.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(files[2017]), str(files[2022]), "-c", str(CODEBOOK)])
    assert ok.exit_code == 0, ok.output
    assert "0 error(s)" in ok.output
    bad = tmp_path / "sid2022.sav"
    wave = to_wave(build_truth(50, 9), 2022)
    data = wave.data.copy()
    data.loc[0, "base_wt"] = -1.0
    write_wave(wave.replace_data(data), bad)
    res = runner.invoke(main, ["validate", str(bad), "-c", str(CODEBOOK), "--json"])
    assert res.exit_code == 1
    payload = json.loads(res.output)
    assert payload["errors"] == 1 and payload["problems"][0]["variable"] == "base_wt"
    broken = tmp_path / "broken.yaml"
    broken.write_text(FIVE_ERRORS, encoding="utf-8")
    res = runner.invoke(main, ["validate", str(bad), "-c", str(broken)])
    assert res.exit_code == 2
    assert "broken.yaml:16: variables.werkbeh.type" in res.output


def test_codebook_init_then_validate(files, tmp_path):
    from click.testing import CliRunner

    from sid.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["codebook", "init", str(files[2022])])
    assert res.exit_code == 0, res.output
    cb_path = tmp_path / "cb.yaml"
    cb_path.write_text(res.output, encoding="utf-8")
    cb = read_codebook(cb_path)
    assert cb.source("werkbeh", "2022") == "werkbeh"
    assert cb.value_labels("werkbeh") == {1.0: "vaak", 2.0: "soms", 3.0: "nooit"}
    assert cb.variables["respid"].type == "id"
    assert cb.missing_codes("werkbeh", "2022") == {"NVT": (-1.0,), "WN": (-8.0,), "GA": (-9.0,)}
    assert cb.variables["vertrouwen"].valid_range == (0.0, 10.0)
    res = runner.invoke(main, ["validate", str(files[2022]), "-c", str(cb_path), "--no-origin"])
    assert res.exit_code == 0, res.output


def test_codebook_export(tmp_path):
    from click.testing import CliRunner

    from sid.cli import main

    cb = read_codebook(CODEBOOK)
    runner = CliRunner()
    for suffix in ("xlsx", "md"):
        out = tmp_path / f"codebook.{suffix}"
        res = runner.invoke(main, ["codebook", "export", str(CODEBOOK), "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert out.exists()
    sheets = pd.read_excel(tmp_path / "codebook.xlsx", sheet_name=None)
    variables = sheets["variabelen"].astype(object).fillna("")
    assert list(variables["naam"]) == list(cb.names)
    werk = variables.set_index("naam").loc["werkbeh"]
    assert werk["bron_2017"] == "werk_behandeld" and werk["hercodering_2022"] == "1->3; 3->1"
    assert werk["gevraagd_aan"] == "werksituatie in [1, 2]"
    codes = sheets["codes"]
    assert len(codes[codes["naam"] == "herkomst"]) == 7
    text = (tmp_path / "codebook.md").read_text(encoding="utf-8")
    assert "| werkbeh |" in text and "Meerkeuzesets" in text
    res = runner.invoke(main, ["codebook", "export", str(CODEBOOK), "--out", str(tmp_path / "x.pdf")])
    assert res.exit_code == 2


def test_stata_file_loads_like_spss(tmp_path, truths):
    """Stata .a-.z (from to_stata_missing) map back to the same kinds as the SPSS codes."""
    from sid.io import to_stata_missing

    wave = to_wave(truths[2022], 2022)
    sav, dta = tmp_path / "a.sav", tmp_path / "sid2022.dta"
    write_wave(wave, sav)
    write_wave(to_stata_missing(wave), dta)
    a = load({"2022": sav}, CODEBOOK)
    b = load([dta], CODEBOOK)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.missing_kind, b.missing_kind)
    assert (b.missing_kind["vertrouwen"] == "GA").sum() == (truths[2022]["vertrouwen_kind"] == "GA").sum()


def test_where_expression_on_harmonised(harmonised, truths):
    from sid.expr import evaluate

    both = pd.concat([truths[2017], truths[2022]], ignore_index=True)
    mask = evaluate("werkt == 1 and leeftijdsgroep in [1, 2]", harmonised.data)
    expected = both["werksituatie"].isin([1, 2]) & (both["leeftijd"] < 35)
    np.testing.assert_array_equal(mask, expected)


def test_validate_file_without_id_column_reports_rows(tmp_path):
    """An absent id variable used to crash validate (KeyError) after being reported."""
    from sid.validation import validate

    truth = build_truth(60, 3)
    wave = to_wave(truth, 2017)
    data = wave.data.drop(columns=["resp_id"])
    not_working = np.flatnonzero(~truth["werksituatie"].isin([1, 2]))[:2]
    data.loc[not_working, "werk_behandeld"] = 1.0  # answered though not asked
    missing = {v.name: v.missing for v in wave.meta.variables if v.missing}
    path = tmp_path / "sid2017.sav"
    write_wave(make_wave(data, missing=missing), path)
    result = validate([path], CODEBOOK, origin=False)
    rows = result.table.set_index(["variable", "check"])
    assert rows.loc[("respid", "variable present (id variable)"), "severity"] == "error"
    examples = rows.loc[("werkbeh", "filter: answered though not asked"), "examples"]
    assert examples == ", ".join(f"'row {i + 1}'" for i in not_working)


def test_validate_shows_long_ids_in_full(tmp_path):
    """Example ids were formatted with :g, so 10300001 showed as 1.03e+07."""
    from sid.validation import validate

    truth = build_truth(60, 3)
    truth["id"] = truth["id"] + 10_000_000
    wave = to_wave(truth, 2017)
    data = wave.data.copy()
    not_working = np.flatnonzero(~truth["werksituatie"].isin([1, 2]))[:2]
    data.loc[not_working, "werk_behandeld"] = 1.0
    path = tmp_path / "sid2017.sav"
    write_wave(wave.replace_data(data), path)
    result = validate([path], CODEBOOK, origin=False)
    rows = result.table.set_index(["variable", "check"])
    examples = rows.loc[("werkbeh", "filter: answered though not asked"), "examples"]
    ids = truth["id"].to_numpy()[not_working].astype(int)
    assert ids.min() > 10_000_000
    assert examples == ", ".join(f"'id {i}'" for i in ids)


def test_read_codebook_unreadable_file_is_one_clear_error(tmp_path):
    """A non-UTF-8 codebook or a folder used to end in a traceback, not an InputError."""
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: café\n".encode("latin-1"))
    with pytest.raises(InputError, match="latin.yaml: the codebook is not UTF-8 text.*Fix: save"):
        read_codebook(latin)
    with pytest.raises(InputError, match="is a folder"):
        read_codebook(tmp_path)
    with pytest.raises(InputError, match="codebook not found"):
        read_codebook(tmp_path / "absent.yaml")


def test_reference_category_must_be_a_labelled_code(tmp_path: Path) -> None:
    text = CODEBOOK.read_text(encoding="utf-8").replace("    reference: 1\n", "    reference: 9\n", 1)
    bad = tmp_path / "cb.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        read_codebook(bad)
    assert any("herkomst.reference: reference category 9 has no value label" in p
               for p in info.value.problems), info.value.problems
    assert read_codebook(CODEBOOK).definition("herkomst").reference == 1
