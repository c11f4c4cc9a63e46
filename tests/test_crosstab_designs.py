"""Crosstabs on calibrated, replicate and lonely-PSU designs against R's survey (golden numbers).

The numbers come from ``tests/reference/crosstab_designs.R`` (R's ``svychisq``,
``svytotal``, ``svymean`` and ``svyby``), compared at relative tolerance 1e-9.
Cases with convention ``domain`` are a calibrated design restricted to a domain:
there sid's Rao-Scott test uses the domain's N and PSUs, and the R script
recomputes svychisq's formulas with the domain's N and design df (see the script
and docs/tables.md); the cells are R's own in every case.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sid.design import Design, PostStratification
from sid.tables import crosstab

REF = Path(__file__).parent / "reference"
RTOL = 1e-9

# read at import: a missing reference file fails the run, it never skips
CASES = pd.read_csv(REF / "crosstab_designs_cases.csv", keep_default_na=False)
GOLD = pd.read_csv(REF / "crosstab_designs_golden.csv", keep_default_na=False)


def _design(case: pd.Series) -> Design:
    data = pd.read_csv(REF / "data" / case["data"])
    args: dict[str, object] = dict(part.split("=", 1) for part in case["design"].split(";"))
    if args.pop("calibration", None) == "ps":
        args["calibration"] = (PostStratification(data["ps_cell"].to_numpy(),
                                                  data["ps_w"].to_numpy(),
                                                  data["ps_oldw"].to_numpy()),)
    if "rscales" in args:
        args["rscales"] = pd.read_csv(REF / "data" / str(args["rscales"]))["rscales"].to_numpy()
    if "scale" in args:
        args["scale"] = float(str(args["scale"]))
    if case["singleton"]:
        args["singleton"] = case["singleton"]
    return Design(data, **args)  # type: ignore[arg-type]


def _gold(case: str, quantity: str) -> pd.Series:
    g = GOLD[(GOLD["case"] == case) & (GOLD["quantity"] == quantity)]
    assert len(g), f"no golden {quantity} for {case}"
    if g["row"].iloc[0] == "":
        return pd.Series([float(g["value"].iloc[0])])
    g = g.assign(row=g["row"].astype(float), col=g["col"].astype(float))
    return g.sort_values(["row", "col"])["value"].astype(float).reset_index(drop=True)


@pytest.fixture(scope="module", params=list(CASES["case"]))
def case(request: pytest.FixtureRequest) -> pd.Series:
    row = CASES.set_index("case").loc[request.param].copy()
    row["case"] = request.param
    return row


def test_every_kind_of_design_is_covered() -> None:
    kinds = set(CASES["data"])
    assert {"crosstab_ps_apiclus1.csv", "crosstab_rep_jkn.csv", "crosstab_rep_boot.csv",
            "crosstab_lonely.csv"} <= kinds
    assert set(CASES["singleton"]) - {""} == {"adjust", "average", "remove", "certainty"}
    assert "domain" in set(CASES["convention"])


def test_rao_scott_matches_r(case: pd.Series) -> None:
    res = crosstab(_design(case), case["row"], case["col"], where=case["where"] or None)
    f = res.tests.set_index("test").loc["F"]
    x = res.tests.set_index("test").loc["Chisq"]
    name = case["case"]
    for got, q in ((f.statistic, "F"), (f.df_num, "F_ndf"), (f.df_den, "F_ddf"),
                   (f.p_value, "F_p"), (x.statistic, "X2"), (x.df_num, "X2_df"),
                   (x.p_value, "X2_p")):
        assert got == pytest.approx(_gold(name, q)[0], rel=RTOL), q


@pytest.mark.parametrize(("percent", "quantity"), [("row", "rowpct"), ("col", "colpct"),
                                                   ("cell", "cell")])
def test_cells_match_r(case: pd.Series, percent: str, quantity: str) -> None:
    res = crosstab(_design(case), case["row"], case["col"], where=case["where"] or None,
                   percent=percent)
    name = case["case"]
    np.testing.assert_allclose(res.cells["estimate"], _gold(name, quantity), rtol=RTOL)
    np.testing.assert_allclose(res.cells["se"], _gold(name, f"{quantity}_se"), rtol=RTOL)
    np.testing.assert_allclose(res.cells["count"], _gold(name, "total"), rtol=RTOL)
    np.testing.assert_allclose(res.cells["count_se"], _gold(name, "total_se"), rtol=RTOL)


def test_calibrated_domain_uses_the_domains_n_and_psus() -> None:
    """apiclus1 post-stratified on stype, domain dnum > 400: sid's ddf is d0 * 9 (the
    domain's 10 PSUs minus 1), where R 4.1.1's svychisq gives d0 * 14 (all 15 PSUs)."""
    case = CASES.set_index("case").loc["ps_mealcat_awards_dnum400"]
    design = _design(case)
    res = crosstab(design, case["row"], case["col"], where=case["where"])
    f = res.tests.set_index("test").loc["F"]
    dom = design.data["dnum"] > 400
    assert res.n_total == int(dom.sum()) < design.n
    psus = design.data.loc[dom, "dnum"].nunique()
    assert psus == 10
    assert f.df_den == pytest.approx(f.df_num * (psus - 1), rel=1e-12)
