"""sid.plan: formulas against R (tests/reference/plan_golden.R), achieved precision
against estimate(), allocation properties, the planning book and the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import EXACT_CSV

from sid.errors import PlanError
from sid.plan import formulas, rmath

REF = Path(__file__).parent / "reference"


def _golden(name: str) -> pd.DataFrame:
    path = REF / name
    assert path.is_file(), f"golden file {path} is missing: run Rscript tests/reference/plan_golden.R"
    return pd.read_csv(path, **EXACT_CSV)  # the doubles are compared bit for bit


def _opt(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


# --------------------------------------------------------------------------- R's building blocks


def test_rmath_bit_for_bit() -> None:
    """qnorm/pnorm equal R's doubles exactly (same algorithm, same operation order)."""
    g = _golden("plan_rmath.csv")
    funs = {"qnorm_lower": lambda x: rmath.qnorm(x), "qnorm_upper": lambda x: rmath.qnorm(x, False),
            "pnorm_lower": lambda x: rmath.pnorm(x), "pnorm_upper": lambda x: rmath.pnorm(x, False)}
    bad = [(r.fun, r.x, r.value, funs[r.fun](r.x)) for r in g.itertuples()
           if funs[r.fun](r.x) != r.value]
    assert len(g) > 100 and not bad


# --------------------------------------------------------------------------- closed forms


def test_n_for_moe_matches_r() -> None:
    g = _golden("plan_moe.csv")
    assert len(g) > 5000
    wrong_int, wrong_val = [], []
    for r in g.itertuples():
        res = formulas.n_for_moe(r.p, r.moe, deff=r.deff, population=_opt(r.population),
                                 response_rate=_opt(r.response_rate), conf_level=r.conf_level)
        gross = None if pd.isna(r.n_gross) else int(r.n_gross)
        if (res.n_net, res.n_gross) != (int(r.n_net), gross):
            wrong_int.append(r.Index)
        if not (math.isclose(res.n0, r.n0, rel_tol=1e-9) and math.isclose(res.n, r.n, rel_tol=1e-9)
                and math.isclose(res.z, r.z, rel_tol=1e-9)):
            wrong_val.append(r.Index)
    assert not wrong_int, f"integers differ from R in rows {wrong_int[:10]}"
    assert not wrong_val, f"values differ from R in rows {wrong_val[:10]}"


def test_n_for_moe_doubles_are_rs_doubles() -> None:
    """Not just close: the doubles R ceilings are the same doubles (so no ceiling can flip)."""
    g = _golden("plan_moe.csv")
    same = [formulas.n_for_moe(r.p, r.moe, deff=r.deff, population=_opt(r.population),
                               conf_level=r.conf_level).n == r.n for r in g.itertuples()]
    assert all(same)


def test_n_for_difference_matches_power_prop_test() -> None:
    g = _golden("plan_power.csv")
    assert len(g) > 2000
    wrong_int, wrong_val = [], []
    for r in g.itertuples():
        res = formulas.n_for_difference(r.p, r.p2, power=r.power, alpha=r.alpha, deff=r.deff)
        if res.n_net != int(r.n_net):
            wrong_int.append(r.Index)
        if not (math.isclose(res.n_ppt, r.n_ppt, rel_tol=1e-9)
                and math.isclose(res.n_closed, r.n_closed, rel_tol=1e-9)):
            wrong_val.append(r.Index)
    assert not wrong_int, f"integers differ from R in rows {wrong_int[:10]}"
    assert not wrong_val, f"values differ from R in rows {wrong_val[:10]}"
    # on this grid the closed form and uniroot never round to different integers
    assert (g["n_net"] == g["n_net_closed"]).all()


def test_power_n_is_uniroots_double() -> None:
    """uniroot stops at tol 1.2e-4: sid follows its iterates, not the exact root."""
    g = _golden("plan_power.csv").head(300)
    assert all(formulas.power_prop_n(r.p, r.p2, r.power, r.alpha) == r.n_ppt for r in g.itertuples())
    assert any(formulas.power_closed_n(r.p, r.p2, r.power, r.alpha) != r.n_ppt for r in g.itertuples())


def test_gross_and_half_width_invert() -> None:
    assert formulas.gross_n(750, 0.5) == 1500
    assert formulas.gross_n(751, 0.5) == 1502
    res = formulas.n_for_moe(0.3, 0.03, deff=1.7, population=12000)
    e = formulas.half_width(res.n, 0.3, 1.7, 12000)
    assert math.isclose(e, 0.03, rel_tol=1e-12)
    assert formulas.half_width(res.n_net, 0.3, 1.7, 12000) <= 0.03
    assert formulas.half_width(res.n_net - 1, 0.3, 1.7, 12000) > 0.03


@pytest.mark.parametrize("kwargs, where", [
    ({"p": 0, "moe": 0.03}, "p"), ({"p": 1, "moe": 0.03}, "p"), ({"p": 1.2, "moe": 0.03}, "p"),
    ({"p": 0.5, "moe": 0}, "moe"), ({"p": 0.5, "moe": 0.5}, "moe"), ({"p": 0.5, "moe": -0.1}, "moe"),
    ({"p": 0.5, "moe": 0.03, "deff": 0}, "deff"), ({"p": 0.5, "moe": 0.03, "deff": -1}, "deff"),
    ({"p": 0.5, "moe": 0.03, "response_rate": 0}, "response_rate"),
    ({"p": 0.5, "moe": 0.03, "response_rate": 1.01}, "response_rate"),
    ({"p": 0.5, "moe": 0.03, "conf_level": 1}, "conf_level"),
])
def test_moe_bad_input(kwargs: dict, where: str) -> None:
    with pytest.raises(PlanError) as err:
        formulas.n_for_moe(**kwargs)
    assert err.value.where == where and "\n" not in err.value.line()


@pytest.mark.parametrize("kwargs, where", [
    ({"p1": 0.3, "p2": 0.3}, "p2"), ({"p1": 0.3, "p2": 1}, "p2"), ({"p1": 0, "p2": 0.3}, "p"),
    ({"p1": 0.3, "p2": 0.35, "power": 1}, "power"), ({"p1": 0.3, "p2": 0.35, "power": 0}, "power"),
    ({"p1": 0.3, "p2": 0.35, "alpha": 0}, "alpha"), ({"p1": 0.3, "p2": 0.35, "alpha": 1.5}, "alpha"),
    ({"p1": 0.3, "p2": 0.35, "deff": 0}, "deff"),
])
def test_power_bad_input(kwargs: dict, where: str) -> None:
    with pytest.raises(PlanError) as err:
        formulas.n_for_difference(**kwargs)
    assert err.value.where == where and "\n" not in err.value.line()


# --------------------------------------------------------------------------- on the synthetic wave

from click.testing import CliRunner  # noqa: E402

from sid.cli import main  # noqa: E402
from sid.resources import DATA_DIR  # noqa: E402

SPEC = DATA_DIR / "tables" / "sid_kerntabellen.yaml"


@pytest.fixture(scope="module")
def weighted(synthetic_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2022 synthetic wave weighted with the shipped spec (sid weight)."""
    from sid.cli import main

    out = tmp_path_factory.mktemp("plan") / "sid2022_gewogen.sav"
    result = CliRunner().invoke(main, [
        "weight", str(synthetic_dir / "sid2022.sav"), "--spec",
        str(DATA_DIR / "weighting" / "sid2022.yaml"), "--gross",
        str(synthetic_dir / "sid2022_gross.sav"), "--margins",
        str(synthetic_dir / "population_margins.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def planned(weighted: Path):  # noqa: ANN201
    """Design, indicators and precision as sid plan builds them."""
    from dataclasses import replace

    from sid.harmonise import load
    from sid.io import read_wave
    from sid.plan.indicators import indicators_from_spec
    from sid.plan.precision import achieved_precision
    from sid.tables import read_spec, stacked_design

    data = load({"2022": weighted}, DATA_DIR / "sid.yaml")
    frame, inds = indicators_from_spec(read_spec(SPEC).tables, data)
    w = read_wave(weighted, columns=["final_wt"]).data["final_wt"].to_numpy()
    data = replace(data, data=frame.assign(final_wt=w))
    design = stacked_design(data, weight="final_wt")
    return data, design, inds, achieved_precision(design, inds, "herkomst")


def test_precision_se_is_estimates(planned) -> None:  # noqa: ANN001
    from sid.estimation import estimate

    _, design, inds, prec = planned
    assert len(inds) >= 10 and set(prec["group"]) == {1.0, 2, 3, 4, 5, 6, 7}
    z = formulas.z_value(0.95)
    for ind in inds:
        ci = "wald" if ind.stat == "proportion" else "t"
        est = estimate(design, ind.stat, ind.column, by="herkomst", where=ind.where, deff=True,
                       ci=ci)
        default = estimate(design, ind.stat, ind.column, by="herkomst", where=ind.where)
        if ind.stat == "proportion":
            est = est[est["category"] == "1"]
            default = default[default["category"] == "1"]
        mine = prec[prec["indicator"] == ind.id]
        assert np.array_equal(mine["se"].to_numpy(), est["se"].to_numpy())
        # the logit path sums the same scores in another order: equal to rounding
        assert np.allclose(mine["se"], default["se"], rtol=1e-12, atol=0)
        assert np.array_equal(mine["n"].to_numpy(), est["n"].to_numpy())
        assert np.allclose(mine["deff"], est["deff"], rtol=1e-12, equal_nan=True)
        assert np.array_equal(mine["half_width"].to_numpy(), z * est["se"].to_numpy())


def test_precision_kish_and_base_share(planned) -> None:  # noqa: ANN001
    data, design, inds, prec = planned
    ind = next(i for i in inds if i.id == "werk_niet_correct")
    f = data.data
    member = f["werksituatie"].isin([1, 2]) & f[ind.column].notna() & (f["final_wt"] > 0)
    for g, sub in f[member].groupby("herkomst"):
        w = sub["final_wt"].to_numpy()
        row = prec[(prec["indicator"] == ind.id) & (prec["group"] == g)].iloc[0]
        assert math.isclose(row["deff_w"], len(w) * (w ** 2).sum() / w.sum() ** 2, rel_tol=1e-12)
        n_group = int(((f["herkomst"] == g) & (f["final_wt"] > 0)).sum())
        assert row["n"] == len(w) and row["n_group"] == n_group
        assert math.isclose(row["base_share"], len(w) / n_group, rel_tol=1e-15)
        assert math.isclose(row["n_eff"], row["n"] / row["deff"], rel_tol=1e-15)


def test_precision_matches_the_table_book(planned) -> None:  # noqa: ANN001
    """Identity across layers: the indicator column gives the table book's SE."""
    from sid.tables import build_tables, read_spec

    data, _, _, prec = planned
    book = read_spec(SPEC)
    book = type(book)(spec=book.spec.model_copy(update={"tables": [book.tables[0]]}), path=None)
    table = build_tables(book, data, weight="final_wt")[0].frame
    mine = prec[prec["indicator"] == book.tables[0].id].set_index("group")
    assert len(table) == 7
    for row in table.itertuples():
        assert math.isclose(row.se / 100, mine.loc[float(row.group), "se"], rel_tol=1e-9)
        assert row.n == mine.loc[float(row.group), "n"]


def test_requirements_follow_the_formulas(planned, synthetic_dir: Path) -> None:  # noqa: ANN001
    from sid.io import read_wave
    from sid.plan.gross import group_populations, response_rates
    from sid.plan.targets import requirements, summary

    _, _, _, prec = planned
    rates = response_rates(read_wave(synthetic_dir / "sid2022_gross.sav").data, "herkomst_frame")
    pops = group_populations(pd.read_csv(synthetic_dir / "population_margins.csv"))
    req = requirements(prec, pops, rates, moe=0.03, power=0.8, delta=0.05)
    assert set(req["target"]) == {"moe", "power"} and 1.0 not in set(req[req.target == "power"].group)
    rr = rates.set_index("group")["response_rate"]
    for r in req.sample(40, random_state=1).itertuples():
        if r.target == "moe":
            n_base = formulas.n_for_moe(r.p, 0.03, r.deff, r.base_population).n_net
        else:
            n_base = formulas.n_for_difference(r.p, r.p2, 0.8, 0.05, r.deff).n_net
        assert r.n_base == n_base
        assert r.n_net == (math.ceil(n_base / r.base_share) if r.base_share < 1 else n_base)
        assert r.n_gross == math.ceil(r.n_net / rr.loc[r.group]) and r.n_draw == r.n_gross
    s = summary(req, prec, pops, rates)
    worst = s[s.target == "moe"].set_index("group")
    assert (worst["n_net_max"] >= worst["n_net_p50"]).all()


def test_gross_rates(synthetic_dir: Path) -> None:
    from sid.io import read_wave
    from sid.plan.gross import check_groups, group_populations, response_rates

    g = read_wave(synthetic_dir / "sid2022_gross.sav").data
    rates = response_rates(g, "herkomst_frame").set_index("group")
    for grp, sub in g.groupby("herkomst_frame"):
        assert rates.loc[grp, "n_drawn"] == len(sub)
        assert rates.loc[grp, "response_rate"] == (sub["respons"] == 1).sum() / len(sub)
    g2 = g.assign(eligible=np.where((g["respons"] == 0) & (g.index % 10 == 0), 0, 1))
    r2 = response_rates(g2, "herkomst_frame", eligible="eligible").set_index("group")
    sub = g2[g2["herkomst_frame"] == 2]
    assert r2.loc[2.0, "eligibility_rate"] == sub["eligible"].mean()
    assert r2.loc[2.0, "response_rate"] == (sub["respons"] == 1).sum() / sub["eligible"].sum()
    bad = g.assign(respons=g["respons"].where(g.index != 4, 7))
    with pytest.raises(PlanError, match="rows 5"):
        response_rates(bad, "herkomst_frame")
    pops = group_populations(pd.read_csv(synthetic_dir / "population_margins.csv"))
    assert pops.loc[2.0] == 300000  # sid.synthetic POP_SIZE for 2022
    with pytest.raises(PlanError, match="not in the gross sample: 9; not in the margins: 9"):
        check_groups([1, 9], response_rates(g, "herkomst_frame"), pops)
    none = g.assign(respons=np.where(g["herkomst_frame"] == 3, 0, g["respons"]))
    with pytest.raises(PlanError, match=r"response rate 0\): Turks"):
        check_groups([1, 3], response_rates(none, "herkomst_frame"), pops, {3.0: "Turks"})


# --------------------------------------------------------------------------- allocation

GROUPS = pd.DataFrame({"group": [1.0, 2, 3, 4, 5], "p": [0.5, 0.3, 0.5, 0.2, 0.5],
                       "deff": [1.0, 1.4, 1.1, 2.0, 0.9],
                       "population": [4.3e6, 3e5, 1.7e5, 9e4, 2000],
                       "response_rate": [0.57, 0.5, 0.52, 0.49, 0.43]})


def test_allocation_properties() -> None:
    from sid.plan.allocation import allocate

    budget = 3751
    a = allocate(GROUPS, budget, moe=0.03)
    sums = a.groupby("scenario")["n_net"].sum()
    assert sums["equal"] == sums["proportional"] == sums["minimax"] == budget
    eq = a[a.scenario == "equal"]["n_net"]
    assert eq.max() - eq.min() <= 1
    prop = a[a.scenario == "proportional"]["n_net"].to_numpy()
    quota = budget * GROUPS["population"] / GROUPS["population"].sum()
    assert np.all(np.abs(prop - quota) < 1)
    worst = a.groupby("scenario")["half_width"].max()
    assert worst["minimax"] <= worst["equal"] and worst["minimax"] <= worst["proportional"]
    # minimax is optimal: staying below its largest half-width everywhere costs more than the budget
    mm = a[a.scenario == "minimax"]
    top = mm["half_width"].max()
    need = 0
    for r, n in zip(GROUPS.itertuples(), mm["n_net"], strict=True):
        k = int(n)
        while k > 1 and formulas.half_width(k - 1, r.p, r.deff, r.population) < top:
            k -= 1
        while formulas.half_width(k, r.p, r.deff, r.population) >= top:
            k += 1
        need += k
    assert need > budget
    # cheapest: each group meets the target, one interview fewer would not
    ch = a[a.scenario == "cheapest"]
    assert ch["meets_target"].all()
    for r, n in zip(GROUPS.itertuples(), ch["n_net"], strict=True):
        assert formulas.half_width(n - 1, r.p, r.deff, r.population) > 0.03
    assert (a["n_gross"] == np.ceil(a["n_net"] / a["response_rate"])).all()


def test_allocation_bad_budget() -> None:
    from sid.plan.allocation import allocate

    for budget in (3, 10.5, 10 ** 9):
        with pytest.raises(PlanError):
            allocate(GROUPS, budget)
    with pytest.raises(PlanError, match="cheapest"):
        allocate(GROUPS, 4000)


def test_what_if() -> None:
    from sid.plan.whatif import what_if

    w = what_if("Syrisch", p=0.4, deff=1.6, response_rate=0.3, population=30000,
                eligibility_rate=0.9, n_planned=750)
    ref = formulas.n_for_moe(0.4, 0.03, 1.6, 30000, 0.3)
    assert (w.n_net, w.n_gross) == (ref.n_net, ref.n_gross)
    assert w.n_draw == math.ceil(ref.n_gross / 0.9)
    assert w.half_width_planned == formulas.half_width(750, 0.4, 1.6, 30000)


# --------------------------------------------------------------------------- CLI


def _run(args: list[str]):  # noqa: ANN202
    return CliRunner().invoke(main, ["plan", *args])


def test_cli_calculator_csv() -> None:
    r = _run(["--p", "0.5", "--moe", "0.03", "--deff", "1.5", "--population", "20000",
              "--response-rate", "0.4", "--format", "csv"])
    res = formulas.n_for_moe(0.5, 0.03, 1.5, 20000, 0.4)
    assert r.exit_code == 0 and r.stdout == f"n_net,n_gross\n{res.n_net},{res.n_gross}\n"
    r = _run(["--p", "0.5", "--moe", "0.05", "--conf-level", "0.99", "--format", "csv"])
    assert r.stdout == f"n_net,n_gross\n{formulas.n_for_moe(0.5, 0.05, conf_level=0.99).n_net},\n"
    r = _run(["--p", "0.3", "--p2", "0.35", "--power", "0.9", "--alpha", "0.01", "--deff", "1.2",
              "--format", "csv"])
    assert r.exit_code == 0
    assert r.stdout == f"n_net\n{formulas.n_for_difference(0.3, 0.35, 0.9, 0.01, 1.2).n_net}\n"
    r = _run(["--p", "0.3", "--p2", "0.35"])
    assert r.exit_code == 0 and "netto n per groep" in r.stdout


@pytest.mark.parametrize("args, where", [
    (["--p", "0", "--moe", "0.03"], "p"), (["--p", "1.5", "--moe", "0.03"], "p"),
    (["--p", "abc", "--moe", "0.03"], "p"),
    (["--p", "0.5", "--moe", "0"], "moe"), (["--p", "0.5", "--moe", "0.5"], "moe"),
    (["--p", "0.5", "--moe", "0.03", "--deff", "0"], "deff"),
    (["--p", "0.5", "--moe", "0.03", "--response-rate", "0"], "response_rate"),
    (["--p", "0.5", "--moe", "0.03", "--response-rate", "1.2"], "response_rate"),
    (["--p", "0.5", "--moe", "0.03", "--conf-level", "1"], "conf_level"),
    (["--p", "0.3", "--p2", "0.3"], "p2"), (["--p", "0.3", "--p2", "0.35", "--power", "1"], "power"),
    (["--p", "0.3", "--p2", "0.35", "--alpha", "0"], "alpha"),
    (["--p", "0.3", "--p2", "0.35", "--deff", "-1"], "deff"),
    (["--p", "0.5"], "sid plan"), ([], "sid plan"),
])
def test_cli_bad_input_one_line(args: list[str], where: str) -> None:
    r = _run(args)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {where}: "), r.stderr
    assert "Traceback" not in r.output


def test_cli_book(weighted: Path, synthetic_dir: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from sid.io import file_sha256

    out = tmp_path / "plan.xlsx"
    gross, margins = synthetic_dir / "sid2022_gross.sav", synthetic_dir / "population_margins.csv"
    r = _run([str(weighted), "--spec", str(SPEC), "--gross", str(gross), "--margins",
              str(margins), "--power", "0.8", "--delta", "0.05", "--budget", "5250",
              "--what-if", "Syrisch:p=0.5,deff=1.5,rr=0.3,N=30000,n=750", "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["Overzicht", "Precisie", "Benodigde steekproef", "Allocatie",
                             "Grafiek", "Wat als", "Toelichting", "Herkomst van de cijfers"]
    ov = wb["Overzicht"]
    assert ov.cell(4, 1).value == "Herkomstgroep" and ov.cell(5, 1).value == "Belgisch"
    assert [ov.cell(i, 1).value for i in range(5, 12)] == [
        "Belgisch", "Marokkaans", "Turks", "Pools", "Roemeens", "Congolees", "Afghaans"]
    n_p50 = formulas.n_for_moe(0.5, 0.03, ov.cell(6, 6).value, 300000).n_net
    assert ov.cell(6, 7).value == n_p50 and ov.cell(6, 7).number_format == "#,##0"
    assert ov.cell(6, 8).value == math.ceil(n_p50 / ov.cell(6, 4).value)
    assert all(ws.page_setup.orientation == "landscape" for ws in wb.worksheets)
    assert len(wb["Grafiek"]._charts) == 1
    al = wb["Allocatie"]
    assert sum(al.cell(i, 3).value for i in range(5, 12)) == 5250
    prov = {wb["Herkomst van de cijfers"].cell(i, 2).value: wb["Herkomst van de cijfers"].cell(i, 3).value
            for i in range(1, 40)}
    for f in (weighted, SPEC, gross, margins):
        assert prov[str(f)] == file_sha256(f)
    assert wb["Wat als"].cell(5, 8).value == formulas.n_for_moe(0.5, 0.03, 1.5, 30000).n_net


def test_cli_book_refuses_to_overwrite_an_input(weighted: Path, synthetic_dir: Path) -> None:
    from sid.io import file_sha256

    gross, margins = synthetic_dir / "sid2022_gross.sav", synthetic_dir / "population_margins.csv"
    before = file_sha256(margins)
    r = _run([str(weighted), "--spec", str(SPEC), "--gross", str(gross), "--margins",
              str(margins), "--out", str(margins)])
    assert r.exit_code == 2 and "would overwrite an input" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and file_sha256(margins) == before


def test_cli_book_group_absent_from_margins(weighted: Path, synthetic_dir: Path,
                                            tmp_path: Path) -> None:
    margins = pd.read_csv(synthetic_dir / "population_margins.csv")
    cut = tmp_path / "margins.csv"
    margins[margins["herkomst"] != 7].to_csv(cut, index=False)
    r = _run([str(weighted), "--spec", str(SPEC), "--gross", str(synthetic_dir / "sid2022_gross.sav"),
              "--margins", str(cut), "--out", str(tmp_path / "p.xlsx")])
    assert r.exit_code == 2 and "not in the margins: Afghaans" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "p.xlsx").exists()


def test_cli_registered_in_the_sid_group() -> None:
    """`sid plan` is a command of the sid group: csv output, and bad input in one line, exit 2."""
    r = CliRunner().invoke(main, ["plan", "--p", "0.5", "--moe", "0.03", "--format", "csv"])
    assert r.exit_code == 0 and r.stdout == f"n_net,n_gross\n{formulas.n_for_moe(0.5, 0.03).n_net},\n"
    r = CliRunner().invoke(main, ["plan", "--p", "0.5", "--moe", "0.6"])
    assert r.exit_code == 2 and r.stderr.startswith("error: moe: ")


@pytest.mark.parametrize("args, match", [
    (["--what-if", "Syrisch:p=0.5"], "--what-if"),
    (["--what-if", "Syrisch:p=0.5,rr=0.3,x=1"], "--what-if"),
    (["--budget", "12.5"], "budget"),
    (["--moe", "0"], "moe"),
])
def test_cli_book_bad_options(weighted: Path, synthetic_dir: Path, tmp_path: Path,
                              args: list[str], match: str) -> None:
    r = _run([str(weighted), "--spec", str(SPEC), "--gross", str(synthetic_dir / "sid2022_gross.sav"),
              "--margins", str(synthetic_dir / "population_margins.csv"),
              "--out", str(tmp_path / "p.xlsx"), *args])
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {match}")
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "p.xlsx").exists()
