"""Tests of sid.tables: crosstabs against R's survey (golden numbers), specs, suppression."""

from __future__ import annotations

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
