"""sid.plan: formulas against R (tests/reference/plan_golden.R), achieved precision
against estimate(), allocation properties, the planning book and the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from sid.errors import PlanError
from sid.plan import formulas, rmath

REF = Path(__file__).parent / "reference"


def _golden(name: str) -> pd.DataFrame:
    path = REF / name
    assert path.is_file(), f"golden file {path} is missing: run Rscript tests/reference/plan_golden.R"
    return pd.read_csv(path)


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
