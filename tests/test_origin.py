"""Origin (herkomst) rule sets: worked examples written by hand from the definitions.

The expected outputs below were derived by hand from docs/origin.md and
SID_DOMAIN.md ("Origin (herkomst) definitions"), never by running the code.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sid.errors import CodebookError, InputError
from sid.origin import (
    MISMATCH_COLUMNS,
    RESULT_COLUMNS,
    OriginWarning,
    available_rules,
    classify,
    country_table,
    load_countries,
    load_rules,
    origin_mismatches,
)

# Inputs: "-" is an empty string, "~" is None (missing), "_" stands for a space.
# Expected: vl2013 (origin country, SID group, Flemish country group, foreign
# origin, generation, decided_by); statbel2021 (category: N = niet-Belg,
# BB = Belg met buitenlandse achtergrond, BBB = Belg met Belgische achtergrond;
# Statbel group); vesoc2014 (migration background, country, decided_by, generation).
# With Statbel's default priority father -> mother -> self (own first, then
# current), Statbel's origin country, decided_by and generation equal vl2013's.
WORKED = """
id | ref        | cur  | first | fa | mo || vl_c | vl_sid     | vl_cg    | fo | gen | by      || sb  | sb_grp  || ve | ve_c | ve_by   | ve_gen
1  | 2022-01-01 | BE   | BE    | BE | BE || BE   | Belgisch   | België   | 0  | -   | current || BBB | België  || 0  | BE   | current | -
2  | 2022-01-01 | BE   | BE    | -  | -  || BE   | Belgisch   | België   | 0  | -   | current || BBB | België  || 0  | BE   | current | -
3  | 2022-01-01 | -    | -     | -  | ~  || BE   | Belgisch   | België   | 0  | -   | default || BBB | België  || 0  | BE   | default | -
4  | 2022-01-01 | MA   | MA    | MA | MA || MA   | Marokkaans | NAfr     | 1  | 1   | father  || N   | NEU27   || 1  | MA   | father  | 1
5  | 2022-01-01 | BE   | MA    | MA | MA || MA   | Marokkaans | NAfr     | 1  | 1   | father  || BB  | NEU27   || 1  | MA   | father  | 1
6  | 2022-01-01 | BE   | BE    | MA | MA || MA   | Marokkaans | NAfr     | 1  | 2   | father  || BB  | NEU27   || 1  | MA   | father  | 2
7  | 2022-01-01 | BE   | BE    | BE | MA || MA   | Marokkaans | NAfr     | 1  | 2   | mother  || BB  | NEU27   || 1  | MA   | mother  | 2
8  | 2022-01-01 | BE   | BE    | MA | BE || MA   | Marokkaans | NAfr     | 1  | 2   | father  || BB  | NEU27   || 1  | MA   | father  | 2
9  | 2022-01-01 | BE   | BE    | TR | -  || TR   | Turks      | Turkije  | 1  | 2   | father  || BB  | NEU27   || 1  | TR   | father  | 2
10 | 2022-01-01 | BE   | BE    | -  | TR || TR   | Turks      | Turkije  | 1  | 2   | mother  || BB  | NEU27   || 1  | TR   | mother  | 2
11 | 2022-01-01 | TR   | TR    | -  | -  || TR   | Turks      | Turkije  | 1  | 1   | first   || N   | NEU27   || 1  | TR   | first   | 1
12 | 2022-01-01 | BE   | TR    | -  | -  || TR   | Turks      | Turkije  | 1  | 1   | first   || BB  | NEU27   || 1  | TR   | first   | 1
13 | 2022-01-01 | PL   | PL    | PL | PL || PL   | Pools      | EU13     | 1  | 1   | father  || N   | EU27    || 1  | PL   | father  | 1
14 | 2004-04-30 | PL   | PL    | PL | PL || PL   | Pools      | OEur     | 1  | 1   | father  || N   | NEU27   || 1  | PL   | father  | 1
15 | 2004-05-01 | PL   | PL    | PL | PL || PL   | Pools      | EU13     | 1  | 1   | father  || N   | EU27    || 1  | PL   | father  | 1
16 | 2007-01-01 | RO   | RO    | RO | RO || RO   | Roemeens   | EU13     | 1  | 1   | father  || N   | EU27    || 1  | RO   | father  | 1
17 | 2006-12-31 | RO   | RO    | RO | RO || RO   | Roemeens   | OEur     | 1  | 1   | father  || N   | NEU27   || 1  | RO   | father  | 1
18 | 2019-12-31 | GB   | GB    | GB | GB || GB   | Overig     | EU14     | 1  | 1   | father  || N   | Buur    || 0  | GB   | father  | -
19 | 2020-02-01 | GB   | GB    | GB | GB || GB   | Overig     | OEur     | 1  | 1   | father  || N   | Buur    || 0  | GB   | father  | -
20 | 2020-01-31 | uk   | UK    | -  | -  || GB   | Overig     | EU14     | 1  | 1   | first   || N   | Buur    || 0  | GB   | first   | -
21 | 2013-06-30 | HR   | HR    | HR | HR || HR   | Overig     | OEur     | 1  | 1   | father  || N   | NEU27   || 1  | HR   | father  | 1
22 | 2013-07-01 | HR   | HR    | HR | HR || HR   | Overig     | EU13     | 1  | 1   | father  || N   | EU27    || 1  | HR   | father  | 1
23 | 2022-01-01 | CD   | CD    | CD | CD || CD   | Congolees  | CBR      | 1  | 1   | father  || N   | NEU27   || 1  | CD   | father  | 1
24 | 2022-01-01 | BE   | BE    | RW | CD || RW   | Overig     | CBR      | 1  | 2   | father  || BB  | NEU27   || 1  | RW   | father  | 2
25 | 2022-01-01 | AF   | AF    | AF | AF || AF   | Afghaans   | Azië     | 1  | 1   | father  || N   | NEU27   || 1  | AF   | father  | 1
26 | 2022-01-01 | NL   | NL    | NL | NL || NL   | Overig     | Buur     | 1  | 1   | father  || N   | Buur    || 0  | NL   | father  | -
27 | 2022-01-01 | BE   | BE    | NL | BE || NL   | Overig     | Buur     | 1  | 2   | father  || BB  | Buur    || 0  | NL   | father  | -
28 | 2022-01-01 | BE   | BE    | FR | MA || FR   | Overig     | Buur     | 1  | 2   | father  || BB  | Buur    || 1  | MA   | mother  | 2
29 | 2022-01-01 | FR   | FR    | MA | FR || MA   | Marokkaans | NAfr     | 1  | 1   | father  || N   | NEU27   || 1  | MA   | father  | 1
30 | 2022-01-01 | BE   | NL    | -  | -  || NL   | Overig     | Buur     | 1  | 1   | first   || BB  | Buur    || 0  | NL   | first   | -
31 | 2022-01-01 | NL   | BE    | BE | BE || NL   | Overig     | Buur     | 1  | -   | current || N   | Buur    || 0  | NL   | current | -
32 | 2022-01-01 | _ma_ | Ma    | MA | -  || MA   | Marokkaans | NAfr     | 1  | 1   | father  || N   | NEU27   || 1  | MA   | father  | 1
33 | 2022-01-01 | BE   | -     | MA | -  || MA   | Marokkaans | NAfr     | 1  | 2   | father  || BB  | NEU27   || 1  | MA   | father  | 2
34 | 2022-01-01 | MA   | ~     | -  | -  || MA   | Marokkaans | NAfr     | 1  | 1   | current || N   | NEU27   || 1  | MA   | current | 1
35 | 2022-01-01 | EL   | el    | -  | -  || GR   | Overig     | EU14     | 1  | 1   | first   || N   | EU27    || 0  | GR   | first   | -
36 | 2022-01-01 | BE   | BE    | BE | SY || SY   | Overig     | Azië     | 1  | 2   | mother  || BB  | NEU27   || 1  | SY   | mother  | 2
37 | 2022-01-01 | BE   | BE    | DZ | TN || DZ   | Overig     | NAfr     | 1  | 2   | father  || BB  | NEU27   || 1  | DZ   | father  | 2
38 | 2022-01-01 | BE   | BE    | US | -  || US   | Overig     | Overig   | 1  | 2   | father  || BB  | NEU27   || 1  | US   | father  | 2
39 | 2022-01-01 | LU   | LU    | -  | -  || LU   | Overig     | Buur     | 1  | 1   | first   || N   | Buur    || 0  | LU   | first   | -
40 | 2006-12-31 | BE   | BE    | BG | BE || BG   | Overig     | OEur     | 1  | 2   | father  || BB  | NEU27   || 1  | BG   | father  | 2
41 | 2022-01-01 | ~    | ~     | MA | ~  || MA   | Marokkaans | NAfr     | 1  | 2   | father  || BB  | NEU27   || 1  | MA   | father  | 2
42 | 2022-01-01 | BE   | BE    | XK | BE || XK   | Overig     | OEur     | 1  | 2   | father  || BB  | NEU27   || 1  | XK   | father  | 2
43 | 2022-01-01 | NA   | NA    | -  | -  || NA   | Overig     | OAfr     | 1  | 1   | first   || N   | NEU27   || 1  | NA   | first   | 1
44 | 2022-01-01 | BE   | BE    | ES | ~  || ES   | Overig     | EU14     | 1  | 2   | father  || BB  | EU27    || 0  | ES   | father  | -
45 | 2022-01-01 | IT   | IT    | IT | MA || IT   | Overig     | EU14     | 1  | 1   | father  || N   | EU27    || 1  | MA   | mother  | 1
"""

# Abbreviations of group labels used in the table above.
LABELS = {
    "NAfr": "Noord-Afrika (incl. Maghreb)", "OEur": "Overig Europa", "EU14": "EU14 (zonder buurlanden)",
    "CBR": "DR Congo, Burundi, Rwanda", "Buur": "Buurlanden", "OAfr": "Overig Afrika",
    "NEU27": "Niet-EU27", "EU27": "Overige EU27",
}
SB_CAT = {"N": "niet-Belg", "BB": "Belg met buitenlandse achtergrond",
          "BBB": "Belg met Belgische achtergrond"}
FIELDS = {"current": "cur", "first": "first", "father": "fa", "mother": "mo"}


def _cell(text: str):
    if text == "~":
        return None
    if text == "-":
        return ""
    return text.replace("_", " ")


def _worked() -> pd.DataFrame:
    lines = [ln for ln in WORKED.strip().splitlines()]
    header = [h.strip() for h in lines[0].replace("||", "|").split("|")]
    rows = [[c.strip() for c in ln.replace("||", "|").split("|")] for ln in lines[1:]]
    table = pd.DataFrame(rows, columns=header)
    for col in ("cur", "first", "fa", "mo"):
        table[col] = pd.Series([_cell(v) for v in table[col]], dtype=object)
    return table


TABLE = _worked()


def _gen(text: str):
    return None if text == "-" else int(text)


def _run(rule: str, **kwargs) -> pd.DataFrame:
    """Classify each person on their own reference date; result in table order."""
    parts = []
    for ref, chunk in TABLE.groupby("ref", sort=False):
        parts.append(classify(chunk, rule, ref_date=ref, fields=FIELDS, **kwargs))
    return pd.concat(parts).loc[TABLE.index]


def _gen_list(series: pd.Series) -> list:
    return [None if pd.isna(v) else int(v) for v in series]


def test_worked_table_size():
    assert len(TABLE) >= 30
    assert TABLE["id"].is_unique


def test_vl2013_worked_examples():
    res = _run("vl2013")
    assert list(res.columns) == list(RESULT_COLUMNS)
    assert res["origin_country"].astype(str).tolist() == TABLE["vl_c"].tolist()
    assert res["origin_group"].astype(str).tolist() == TABLE["vl_sid"].tolist()
    assert res["country_group"].astype(str).tolist() == [LABELS.get(v, v) for v in TABLE["vl_cg"]]
    assert res["foreign_origin"].tolist() == [v == "1" for v in TABLE["fo"]]
    assert _gen_list(res["generation"]) == [_gen(v) for v in TABLE["gen"]]
    assert res["decided_by"].astype(str).tolist() == TABLE["by"].tolist()
    expected_cat = ["buitenlandse herkomst" if v == "1" else "Belgische herkomst" for v in TABLE["fo"]]
    assert res["category"].astype(str).tolist() == expected_cat


def test_statbel2021_worked_examples():
    res = _run("statbel2021")
    assert res["category"].astype(str).tolist() == [SB_CAT[v] for v in TABLE["sb"]]
    assert res["country_group"].astype(str).tolist() == \
        [LABELS.get(v, v) for v in TABLE["sb_grp"]]
    # default priority father -> mother -> self coincides with the Flemish order
    assert res["origin_country"].astype(str).tolist() == TABLE["vl_c"].tolist()
    assert res["decided_by"].astype(str).tolist() == TABLE["by"].tolist()
    assert res["origin_group"].astype(str).tolist() == TABLE["vl_sid"].tolist()
    assert res["foreign_origin"].tolist() == [v != "BBB" for v in TABLE["sb"]]
    assert _gen_list(res["generation"]) == [_gen(v) for v in TABLE["gen"]]


def test_vesoc2014_worked_examples():
    res = _run("vesoc2014")
    assert res["foreign_origin"].tolist() == [v == "1" for v in TABLE["ve"]]
    assert res["category"].astype(str).tolist() == [
        "met migratieachtergrond" if v == "1" else "zonder migratieachtergrond" for v in TABLE["ve"]]
    assert res["origin_country"].astype(str).tolist() == TABLE["ve_c"].tolist()
    assert res["decided_by"].astype(str).tolist() == TABLE["ve_by"].tolist()
    assert _gen_list(res["generation"]) == [_gen(v) for v in TABLE["ve_gen"]]


def test_statbel_priority_parameter():
    df = pd.DataFrame({
        "cur": ["FR", "BE", "BE", "MA"],
        "first": ["FR", "BE", "TR", "MA"],
        "fa": ["MA", "NL", "", "PL"],
        "mo": ["TR", "CD", "RO", ""],
    })
    self_first = classify(df, "statbel2021", fields=FIELDS,
                          params={"priority": ["self", "mother", "father"]})
    assert self_first["origin_country"].astype(str).tolist() == ["FR", "CD", "TR", "MA"]
    assert self_first["decided_by"].astype(str).tolist() == ["first", "mother", "first", "first"]
    assert self_first["country_group"].astype(str).tolist() == \
        ["Buurlanden", "Niet-EU27", "Niet-EU27", "Niet-EU27"]
    mother_first = classify(df, "statbel2021", fields=FIELDS,
                            params={"priority": "mother,father,self"})
    assert mother_first["origin_country"].astype(str).tolist() == ["TR", "CD", "RO", "PL"]
    assert mother_first["decided_by"].astype(str).tolist() == ["mother", "mother", "mother", "father"]
    # the category does not depend on the priority
    assert self_first["category"].tolist() == mother_first["category"].tolist()


@pytest.mark.parametrize("bad", [["self", "father"], ["self", "father", "father"],
                                 ["self", "father", "uncle"]])
def test_statbel_priority_must_be_permutation(bad):
    df = pd.DataFrame({"cur": ["BE"], "first": ["BE"], "fa": [""], "mo": [""]})
    with pytest.raises(InputError, match="permutation"):
        classify(df, "statbel2021", fields=FIELDS, params={"priority": bad})


def test_unknown_parameter():
    df = pd.DataFrame({"cur": ["BE"], "first": ["BE"], "fa": [""], "mo": [""]})
    with pytest.raises(InputError, match="no parameter"):
        classify(df, "vl2013", fields=FIELDS, params={"priority": ["self"]})


# --------------------------------------------------------------------------- reference dates


@pytest.mark.parametrize(("code", "before", "after", "in_before", "in_after"), [
    ("GB", "2019-12-31", "2020-02-01", True, False),
    ("GB", "2020-01-31", "2020-02-01", True, False),
    ("HR", "2013-06-30", "2013-07-01", False, True),
    ("PL", "2004-04-30", "2004-05-01", False, True),
    ("RO", "2006-12-31", "2007-01-01", False, True),
    ("BG", "2006-12-31", "2007-01-01", False, True),
])
def test_eu_membership_on_reference_date(code, before, after, in_before, in_after):
    table = load_countries()
    row = table.frame["code"] == code
    assert bool(table.in_eu(before)[row.to_numpy()][0]) is in_before
    assert bool(table.in_eu(after)[row.to_numpy()][0]) is in_after


@pytest.mark.parametrize(("day", "members"), [
    ("1957-12-31", 0), ("1958-01-01", 6), ("1973-01-01", 9), ("1981-01-01", 10),
    ("1986-01-01", 12), ("1995-01-01", 15), ("2004-04-30", 15), ("2004-05-01", 25),
    ("2007-01-01", 27), ("2013-06-30", 27), ("2013-07-01", 28), ("2020-01-31", 28),
    ("2020-02-01", 27), ("2022-01-01", 27),
])
def test_number_of_eu_members(day, members):
    assert int(load_countries().in_eu(day).sum()) == members


def test_eu15_is_fixed_list():
    frame = load_countries().frame
    assert set(frame.loc[frame["eu15"], "code"]) == {
        "AT", "BE", "DE", "DK", "ES", "FI", "FR", "GB", "GR", "IE", "IT", "LU", "NL", "PT", "SE"}


def test_country_table_covers_iso():
    frame = load_countries().frame
    assert len(frame) == 250  # 249 ISO 3166-1 alpha-2 codes + XK (Kosovo, user-assigned)
    assert frame["code"].is_unique
    for code in ("BE", "MA", "TR", "PL", "RO", "CD", "AF", "NL", "FR", "DE", "GB", "HR", "NA",
                 "SY", "ER", "SO", "IQ", "UA", "RU", "BR", "CN", "AQ", "XK", "SS", "CW"):
        assert code in set(frame["code"])
    names = dict(zip(frame["code"], frame["name_nl"], strict=True))
    assert names["MA"] == "Marokko"
    assert names["TR"] == "Turkije"
    assert names["GE"] == "Georgië"  # Dutch labels, not the English name


def test_country_table_groups_on_dates():
    old = country_table("2012-01-01").set_index("code")
    new = country_table("2022-01-01").set_index("code")
    assert old.loc["HR", "group_vlaams"] == "Overig Europa"
    assert new.loc["HR", "group_vlaams"] == "EU13"
    assert old.loc["GB", "group_vlaams"] == "EU14 (zonder buurlanden)"
    assert new.loc["GB", "group_vlaams"] == "Overig Europa"
    assert old.loc["GB", "group_statbel"] == new.loc["GB", "group_statbel"] == "Buurlanden"
    assert new.loc["BI", "group_vlaams"] == "DR Congo, Burundi, Rwanda"
    assert new.loc["CD", "group_sid"] == "Congolees"
    assert new.loc["BE", "group_statbel"] == "België"


# --------------------------------------------------------------------------- codes


def _one(cur="BE", first="BE", fa="", mo=""):
    return pd.DataFrame({"cur": [cur], "first": [first], "fa": [fa], "mo": [mo]})


def test_unknown_codes_error_lists_all():
    df = pd.DataFrame({
        "cur": ["BE", "XX", "xx", "BE"],
        "first": ["BE", "ZZ", "BE", "QQ"],
        "fa": ["YY", "", "MA", None],
        "mo": ["BE", "BE", "BE", "MOR"],
    })
    with pytest.raises(InputError) as info:
        classify(df, fields=FIELDS)
    msg = str(info.value)
    for token in ("'XX' x2", "'ZZ' x1", "'QQ' x1", "'YY' x1", "'MOR' x1", "cur", "first", "fa",
                  "mo", "on_unknown"):
        assert token in msg
    assert "6 value(s)" in msg


def test_unknown_codes_fallback():
    df = pd.DataFrame({"cur": ["BE", "BE"], "first": ["BE", "BE"], "fa": ["XX", ""],
                       "mo": ["", "BE"]})
    with pytest.warns(OriginWarning, match="XX"):
        res = classify(df, fields=FIELDS, on_unknown="fallback")
    assert res["origin_country"].astype(str).tolist() == ["XX", "BE"]
    assert res["origin_group"].astype(str).tolist() == ["Overig", "Belgisch"]
    assert res["country_group"].astype(str).tolist() == ["Overig", "België"]
    assert res["foreign_origin"].tolist() == [True, False]
    assert res["decided_by"].astype(str).tolist() == ["father", "current"]
    with pytest.warns(OriginWarning):
        sb = classify(df, "statbel2021", fields=FIELDS, on_unknown="fallback")
    assert sb["country_group"].astype(str).tolist() == ["Niet-EU27", "België"]


def test_unknown_codes_missing():
    df = _one(fa="XX", mo="MA")
    with pytest.warns(OriginWarning):
        res = classify(df, fields=FIELDS, on_unknown="missing")
    assert res["origin_country"].astype(str).tolist() == ["MA"]
    assert res["decided_by"].astype(str).tolist() == ["mother"]


def test_on_unknown_value_checked():
    with pytest.raises(InputError, match="on_unknown"):
        classify(_one(), fields=FIELDS, on_unknown="ignore")


def test_numeric_code_is_unknown():
    df = pd.DataFrame({"cur": [1.0], "first": ["BE"], "fa": [""], "mo": [""]})
    with pytest.raises(InputError, match="'1.0'"):
        classify(df, fields=FIELDS)


def test_all_unknown_is_belgian_by_default():
    df = pd.DataFrame({"cur": [None, "", np.nan], "first": ["  ", None, ""],
                       "fa": [None, "", ""], "mo": [np.nan, None, ""]})
    res = classify(df, fields=FIELDS)
    assert res["foreign_origin"].tolist() == [False] * 3
    assert res["origin_country"].astype(str).tolist() == ["BE"] * 3
    assert res["decided_by"].astype(str).tolist() == ["default"] * 3
    assert res["generation"].isna().all()


def test_role_mapped_to_none_counts_as_unknown():
    df = pd.DataFrame({"cur": ["BE"], "first": ["BE"]})
    res = classify(df, fields={"current": "cur", "first": "first", "father": None, "mother": None})
    assert not res["foreign_origin"].iloc[0]
    assert res["origin_group"].iloc[0] == "Belgisch"


def test_default_sid_column_names_and_pandas_str_dtype():
    df = pd.DataFrame({"nat_huidig": ["BE", "TR"], "nat_eerste": ["BE", "TR"],
                       "nat_vader": ["MA", ""], "nat_moeder": ["", ""]}).astype("str")
    res = classify(df)
    assert res["origin_group"].astype(str).tolist() == ["Marokkaans", "Turks"]
    assert _gen_list(res["generation"]) == [2, 1]


def test_missing_columns_listed():
    df = pd.DataFrame({"nat_huidig": ["BE"]})
    with pytest.raises(InputError) as info:
        classify(df)
    msg = str(info.value)
    assert "first=nat_eerste" in msg and "father=nat_vader" in msg and "mother=nat_moeder" in msg


def test_unknown_role_and_rule():
    with pytest.raises(InputError, match="role"):
        classify(_one(), fields={**FIELDS, "grandfather": "fa"})
    with pytest.raises(CodebookError, match="vl2013"):
        classify(_one(), rule="vl2099", fields=FIELDS)


def test_bad_ref_date():
    with pytest.raises(InputError, match="ref_date"):
        classify(_one(), fields=FIELDS, ref_date="01/01/2022")


def test_birth_field_makes_first_generation():
    df = pd.DataFrame({"cur": ["BE", "BE", "BE"], "first": ["BE", "BE", "BE"],
                       "fa": ["MA", "MA", "BE"], "mo": ["", "", "BE"], "born": ["MA", "BE", "FR"]})
    with_birth = classify(df, fields={**FIELDS, "birth": "born"})
    assert _gen_list(with_birth["generation"]) == [1, 2, None]  # Belgian origin: no generation
    without = classify(df, fields=FIELDS)
    assert _gen_list(without["generation"]) == [2, 2, None]


def test_index_and_order_preserved():
    df = TABLE.set_index(pd.Index([f"r{i}" for i in range(len(TABLE))][::-1]))
    df = df[df["ref"] == "2022-01-01"]
    res = classify(df, fields=FIELDS, ref_date="2022-01-01")
    assert res.index.equals(df.index)
    shuffled = df.sample(frac=1.0, random_state=3)
    res2 = classify(shuffled, fields=FIELDS, ref_date="2022-01-01")
    pd.testing.assert_frame_equal(res2.loc[res.index].astype(str), res.astype(str))


def test_wave_input_accepted():
    from sid.io import make_wave

    wave = make_wave(pd.DataFrame({"nat_huidig": ["BE"], "nat_eerste": ["BE"],
                                   "nat_vader": ["PL"], "nat_moeder": [""]}))
    assert classify(wave)["origin_group"].iloc[0] == "Pools"


# --------------------------------------------------------------------------- frame mismatches


def test_origin_mismatches():
    df = pd.DataFrame({
        "respid": [101, 102, 103, 104, 105, 106],
        "herkomst_frame": [1.0, 2.0, 3.0, 4.0, 6.0, np.nan],
        "nat_huidig": ["BE", "BE", "BE", "PL", "BE", "BE"],
        "nat_eerste": ["BE", "BE", "TR", "PL", "BE", "BE"],
        "nat_vader": ["MA", "MA", "", "PL", "BE", "BE"],
        "nat_moeder": ["", "", "", "", "RW", ""],
    })
    out = origin_mismatches(df, "herkomst_frame", id_col="respid")
    assert list(out.columns) == list(MISMATCH_COLUMNS)
    assert out["id"].tolist() == [101, 105, 106]
    assert out["frame_group"].astype(object).tolist()[:2] == ["Belgisch", "Congolees"]
    assert pd.isna(out["frame_group"].iloc[2])
    assert [str(v) for v in out["derived_group"]] == ["Marokkaans", "Overig", "Belgisch"]
    assert [str(v) for v in out["origin_country"]] == ["MA", "RW", "BE"]
    assert [str(v) for v in out["decided_by"]] == ["father", "mother", "current"]


def test_origin_mismatches_labels_and_errors():
    df = pd.DataFrame({"f": ["B", "M"], "nat_huidig": ["BE", "MA"], "nat_eerste": ["BE", "MA"],
                       "nat_vader": ["", ""], "nat_moeder": ["", ""]})
    out = origin_mismatches(df, "f", {"B": "Belgisch", "M": "Marokkaans"})
    assert out.empty
    with pytest.raises(InputError, match="'M'"):
        origin_mismatches(df, "f", {"B": "Belgisch"})
    with pytest.raises(InputError, match="Marrokaans"):
        origin_mismatches(df, "f", {"B": "Belgisch", "M": "Marrokaans"})
    with pytest.raises(InputError, match="not in the data"):
        origin_mismatches(df, "frame")


# --------------------------------------------------------------------------- rule files


def test_shipped_rule_sets_load():
    assert {"vl2013", "statbel2021", "vesoc2014"} <= set(available_rules())
    for name in ("vl2013", "statbel2021", "vesoc2014"):
        rules = load_rules(name)
        assert rules.name == name
        assert rules.countries.version == "1"


BROKEN = """
name: broken
countries: countries_v1.csv
groupings: groupings.yaml
grouping: sid
country_grouping: nowhere
fields: [current, first, father, grandma]
colour: blue
classes:
  - category: x
    foreign_origin: true
    when: {field: current, is: foriegn}
  - category: y
    foreign_origin: maybe
  - category: z
    foreign_origin: false
    when: {field: uncle, in: [MA, QQ]}
take_country_from:
  - {field: father, is: foreign, region: [atlantis]}
  - {param: priority}
default_country: XY
generation:
  - {value: 0, when: {field: first, is: foreign}}
"""


def test_rule_yaml_validation_reports_all(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_rules(path)
    msg = str(info.value)
    assert str(path) in msg
    for token in ("country_grouping: 'nowhere'", "grandma", "colour",
                  "classes.0.when.is", "foriegn", "classes.1.foreign_origin", "classes.2: the last class",
                  "classes.2.when.field: 'uncle'", "'QQ'", "take_country_from.0.region",
                  "atlantis", "take_country_from.1.param", "default_country: 'XY'",
                  "generation.0.value"):
        assert token in msg, token
    # every problem carries file:line (schema and cross-reference problems alike)
    for token in (":6: country_grouping", ":8: colour: unknown key", ":12: classes.0.when.is",
                  ":17: classes.2.when.field", ":17: classes.2.when.in", ":23: generation.0.value"):
        assert f"{path}{token}" in msg, token


def test_rule_yaml_nested_lists_are_reported_not_a_crash(tmp_path):
    # a list inside 'in', 'region' or 'is' (e.g. [[MA], TR]) is a clear CodebookError naming
    # each place, not a TypeError (unhashable list) from building the code/region sets
    path = tmp_path / "nested.yaml"
    path.write_text("""
name: nested
countries: countries_v1.csv
groupings: groupings.yaml
grouping: sid
country_grouping: vlaams
fields: [current, first, father, mother]
classes:
  - category: x
    foreign_origin: true
    when: {any: [{field: current, in: [[MA], TR]}, {field: first, region: [[europe]]},
                 {field: father, is: [[foreign]]}]}
  - category: y
    foreign_origin: false
take_country_from:
  - {field: father, is: foreign}
default_country: BE
""", encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_rules(path)
    msg = str(info.value)
    for token in ("classes.0.when.any.0.in", "classes.0.when.any.1.region",
                  "classes.0.when.any.2.is"):
        assert token in msg, token
    assert f"{path}:11: classes.0.when.any.0.in" in msg


GROUPINGS_BAD = """
version: 1
groupings:
  sid:
    title: SID
    table: nowhere_v1.csv
    default: Overig
    order: [Belgisch, Overig]
  regions:
    rules:
      - {group: Europa, when: {field: current, region: europe}}
      - {group: EU, when: {in: [FR, NO, QQ]}}
      - {group: Rest, when: {is: known}}
    frame_codes: {Europa: 1, Azie: 2}
    colour: red
"""


def test_groupings_file_problems_are_reported_with_the_rule_set(tmp_path):
    (tmp_path / "groupings_bad.yaml").write_text(GROUPINGS_BAD, encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(BROKEN.replace("groupings: groupings.yaml", "groupings: groupings_bad.yaml")
                    .replace("country_grouping: nowhere", "country_grouping: regions"),
                    encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_rules(path)
    msg = str(info.value)
    where = f"{tmp_path / 'groupings_bad.yaml'}:"
    for token in ("6: groupings.sid.table: file not found",
                  "11: groupings.regions.rules.0.when.field: unknown key",
                  "12: groupings.regions.rules.1.when.in.1: YAML read this code as false",
                  "13: groupings.regions.rules.2: the last rule is the catch-all",
                  "14: groupings.regions.frame_codes: labels not in the grouping: 'Azie'",
                  "15: groupings.regions.colour: unknown key"):
        assert where + token in msg, token
    assert "classes.2.when.field: 'uncle'" in msg  # the rule set's own problems too


def test_rule_yaml_syntax_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(CodebookError, match="not valid YAML"):
        load_rules(path)


def test_custom_rule_set_from_yaml(tmp_path):
    # a new definition without code: foreign origin only through the parents
    path = tmp_path / "parents.yaml"
    path.write_text("""
name: parents
countries: countries_v1.csv
aliases: aliases_v1.csv
groupings: groupings.yaml
grouping: sid
country_grouping: statbel
fields: [current, first, father, mother]
classes:
  - category: ouder buitenlands
    foreign_origin: true
    when: {any: [{field: father, is: outside_eu}, {field: mother, is: outside_eu}]}
  - category: anders
    foreign_origin: false
take_country_from:
  - {field: mother, is: outside_eu}
  - {field: father, is: outside_eu}
default_country: BE
""", encoding="utf-8")
    df = _one(cur="MA", first="MA", fa="TR", mo="GB")
    res = classify(df, rule=path, fields=FIELDS, ref_date="2021-01-01")
    assert res["origin_country"].iloc[0] == "GB"  # UK outside the EU in 2021
    res = classify(df, rule=path, fields=FIELDS, ref_date="2019-01-01")
    assert res["origin_country"].iloc[0] == "TR"
    assert res["generation"].isna().all()  # no generation rules: none


def test_country_table_validation(tmp_path):
    (tmp_path / "c_v2.csv").write_text(
        "code,name_nl,name_en,region,eu15,eu_from,eu_to,note\n"
        "BE,België,Belgium,europe,1,1958-01-01,,\n"
        "be,x,x,mars,2,,,\n"
        "FR,Frankrijk,France,europe,1,1958-13-01,,\n"
        "FR,Frankrijk,France,europe,0,2000-01-01,1999-01-01,\n", encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        load_countries(tmp_path / "c_v2.csv", None)
    msg = str(info.value)
    for token in ("line 3", "two capital letters", "mars", "eu15 must be 0 or 1", "line 4",
                  "'1958-13-01'", "line 5", "eu_to must be after", "duplicate codes"):
        assert token in msg, token


# --------------------------------------------------------------------------- properties

CODE = st.sampled_from(["BE", "be ", "MA", "TR", "GB", "uk", "NL", "HR", "PL", "CD", "SY", "", None])
DATE = st.sampled_from(["2003-01-01", "2012-01-01", "2019-12-31", "2022-01-01"])


def _norm(v):
    if v is None or not v.strip():
        return None
    v = v.strip().upper()
    return "GB" if v == "UK" else v


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(CODE, CODE, CODE, CODE), min_size=1, max_size=30), day=DATE)
def test_properties(rows, day):
    df = pd.DataFrame(rows, columns=["cur", "first", "fa", "mo"], dtype=object)
    vl = classify(df, fields=FIELDS, ref_date=day)
    sb = classify(df, "statbel2021", fields=FIELDS, ref_date=day)
    ve = classify(df, "vesoc2014", fields=FIELDS, ref_date=day)
    norm = df.apply(lambda s: s.map(_norm))
    all_belgian = norm.apply(lambda s: s.isna() | (s == "BE")).all(axis=1)
    # vl2013: foreign origin iff some field is known and non-Belgian
    assert (vl["foreign_origin"] == ~all_belgian).all()
    # Statbel's foreign background is the same set of persons; niet-Belg iff current foreign
    assert (sb["foreign_origin"] == vl["foreign_origin"]).all()
    cur_foreign = norm["cur"].notna() & (norm["cur"] != "BE")
    assert ((sb["category"] == "niet-Belg") == cur_foreign).all()
    # a VESOC migration background implies foreign origin
    assert not (ve["foreign_origin"] & ~vl["foreign_origin"]).any()
    role_col = {"current": "cur", "first": "first", "father": "fa", "mother": "mo"}
    for res in (vl, sb, ve):
        for i in range(len(df)):
            by = res["decided_by"].iloc[i]
            want = "BE" if by == "default" else norm[role_col[by]].iloc[i]
            assert res["origin_country"].iloc[i] == want
        assert res.loc[~res["foreign_origin"], "generation"].isna().all()
    # vl2013: a foreign-origin person's country is never Belgian
    assert (vl.loc[vl["foreign_origin"], "origin_country"] != "BE").all()


def test_no_warnings_on_clean_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classify(TABLE[TABLE["ref"] == "2022-01-01"], fields=FIELDS)


# --------------------------------------------------------------------------- files and CLI


def test_read_origin_input_keeps_namibia(tmp_path):
    from sid.origin import read_origin_input

    path = tmp_path / "n.csv"
    path.write_text("id,nat_huidig,nat_eerste,nat_vader,nat_moeder\n1,NA,NA,,\n", encoding="utf-8")
    before = path.read_bytes()
    df = read_origin_input(path, ["id", "nat_huidig", "nat_eerste", "nat_vader", "nat_moeder"])
    assert df["nat_huidig"].tolist() == ["NA"]
    assert classify(df)["country_group"].iloc[0] == "Overig Afrika"
    assert path.read_bytes() == before
    with pytest.raises(InputError, match="'nat_x'"):
        read_origin_input(path, ["nat_x"])


def test_cli_origin(tmp_path):
    from click.testing import CliRunner

    from sid.cli import main

    src = tmp_path / "in.csv"
    src.write_text("respid,nh,ne,nv,nm\n7,BE,BE,MA,\n8,GB,GB,,\n9,BE,BE,,\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    runner = CliRunner()
    res = runner.invoke(main, ["origin", str(src), "-r", "statbel2021", "--ref-date", "2019-01-01",
                               "--fields", "current=nh,first=ne,father=nv,mother=nm",
                               "--param", "priority=self,mother,father", "--id", "respid",
                               "--out", str(out)])
    assert res.exit_code == 0, res.output
    back = pd.read_csv(out, keep_default_na=False)
    assert list(back.columns) == ["respid", *RESULT_COLUMNS]
    assert back["respid"].tolist() == [7, 8, 9]
    assert back["origin_country"].tolist() == ["MA", "GB", "BE"]
    assert back["category"].tolist() == ["Belg met buitenlandse achtergrond", "niet-Belg",
                                         "Belg met Belgische achtergrond"]
    assert back["decided_by"].tolist() == ["father", "first", "current"]
    res = runner.invoke(main, ["origin", str(src), "--fields", "current=nh,first=ne,father=nv"])
    assert res.exit_code == 2
    assert "nat_moeder" in res.output
    res = runner.invoke(main, ["origin", str(src), "--fields", "current=nh,first=ne,father=nv,mother=nm"])
    assert res.exit_code == 0
    assert "Marokkaans" in res.output


def test_empty_frame():
    df = pd.DataFrame({c: pd.Series([], dtype=object)
                       for c in ("nat_huidig", "nat_eerste", "nat_vader", "nat_moeder")})
    res = classify(df)
    assert list(res.columns) == list(RESULT_COLUMNS)
    assert len(res) == 0
