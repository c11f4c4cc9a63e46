"""sid.model: identities with sid.estimation, coding, domains, missing values and bad input.

The R goldens are in ``test_model_golden.py``; here the model is checked against the
toolkit's own estimators (an intercept-only model *is* a mean, a saturated logistic
model *is* the per-group proportions) and every bad-input path gives one clear line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sid.design import Design
from sid.errors import SidError
from sid.estimation import estimate
from sid.model import (
    COEF_COLUMNS,
    EXP_COLUMNS,
    TERM_COLUMNS,
    ModelError,
    fit,
    margins,
    term_tests,
)

DATA = Path(__file__).parent / "reference" / "data"


@pytest.fixture(scope="module")
def strat() -> Design:
    return Design(pd.read_csv(DATA / "estimate_apistrat.csv"), weight="pw", strata="stype",
                  fpc="fpc")


@pytest.fixture(scope="module")
def clus2() -> Design:
    return Design(pd.read_csv(DATA / "estimate_apiclus2.csv"), weight="pw", psu="dnum",
                  fpc="fpc1", psu2="snum", fpc2="fpc2")


@pytest.fixture(scope="module")
def jkn() -> Design:
    rs = pd.read_csv(DATA / "estimate_rep_jkn_rscales.csv").iloc[:, 0].tolist()
    return Design(pd.read_csv(DATA / "estimate_rep_jkn.csv"), weight="pw", repweights="^repw",
                  repmethod="jkn", rscales=rs)


@pytest.fixture(scope="module")
def strat_na() -> Design:
    return Design(pd.read_csv(DATA / "estimate_apistrat_na.csv"), weight="pw",
                  strata="stype", fpc="fpc")


def _one_line(exc: pytest.ExceptionInfo) -> str:
    assert isinstance(exc.value, SidError)
    text = exc.value.line()
    assert "\n" not in text
    return text


# --------------------------------------------------------------------------- identities


@pytest.mark.parametrize("name", ["strat", "clus2", "jkn", "strat_na"])
@pytest.mark.parametrize("where", [None, "sch_wide == 'Yes'"])
def test_intercept_only_gaussian_is_the_mean(request: pytest.FixtureRequest, name: str,
                                             where: str | None) -> None:
    design = request.getfixturevalue(name)
    model = fit(design, "api00 ~ 1", where=where)
    mean = estimate(design, "mean", "api00", where=where).iloc[0]
    assert model.coef[0] == pytest.approx(mean["estimate"], rel=1e-12)
    assert model.se[0] == pytest.approx(mean["se"], rel=1e-10)
    assert model.df_residual == mean["df"]
    assert model.n == mean["n"] and model.n_missing == mean["n_missing"]


@pytest.mark.parametrize("name", ["strat", "clus2", "jkn"])
def test_logistic_on_one_categorical_gives_group_proportions(request: pytest.FixtureRequest,
                                                             name: str) -> None:
    design = request.getfixturevalue(name)
    model = fit(design, "hiapi ~ stype", "binomial")
    share = estimate(design, "mean", "hiapi", by="stype")
    b = model.coef
    p = 1 / (1 + np.exp(-np.array([b[0], b[0] + b[1], b[0] + b[2]])))
    np.testing.assert_allclose(p, share["estimate"], rtol=1e-10)


@pytest.mark.parametrize("name", ["strat", "clus2", "jkn"])
@pytest.mark.parametrize("family,var", [("gaussian", "api00"), ("binomial", "hiapi"),
                                        ("poisson", "enroll")])
def test_margins_of_a_saturated_model_are_domain_means(request: pytest.FixtureRequest,
                                                       name: str, family: str, var: str) -> None:
    design = request.getfixturevalue(name)
    mg = margins(fit(design, f"{var} ~ stype", family), "stype")
    means = estimate(design, "mean", var, by="stype")
    assert list(mg.levels) == means["stype"].tolist()
    np.testing.assert_allclose(mg.estimate, means["estimate"], rtol=1e-9)
    # the predictions are constant within a group: all variance is the model's, and the
    # delta method on the linearised coefficients is the linearised mean's variance (a
    # replicate variance of a nonlinear link is not the delta method: gaussian only there)
    np.testing.assert_allclose(mg.mean_part, 0, atol=1e-20)
    if not design.is_replicate or family == "gaussian":
        np.testing.assert_allclose(mg.se, means["se"], rtol=1e-9)


def test_margins_of_a_variable_absent_from_the_formula_add_the_term(strat: Design) -> None:
    model = fit(strat, "hiapi ~ meals", "binomial")
    mg = margins(model, "awards")
    assert "awards" in mg.model.formula and mg.model.names[-1] == "awardsYes"
    con = mg.contrasts()
    assert con["reference"].eq("No").all() and con["awards"].tolist() == ["Yes"]
    assert con["estimate"].iloc[0] == pytest.approx(mg.estimate[1] - mg.estimate[0])
    with pytest.raises(ModelError, match="numeric"):
        margins(model, "meals")


def test_margins_contrast_reference_and_wald(strat: Design) -> None:
    mg = margins(fit(strat, "api00 ~ meals", ci="wald"), "stype", reference="M")
    con = mg.contrasts()
    assert con["reference"].eq("M").all() and con["stype"].tolist() == ["E", "H"]
    assert con["ci_high"].iloc[0] - con["estimate"].iloc[0] == pytest.approx(
        1.959963984540054 * con["se"].iloc[0])
    with pytest.raises(ModelError, match="reference level 'X' is not a level of 'stype'"):
        margins(mg.model, "stype", reference="X")


# --------------------------------------------------------------------------- tables


def test_coefficient_table_columns_and_intervals(strat: Design) -> None:
    g = fit(strat, "api00 ~ meals + stype")
    assert tuple(g.coefficients.columns) == COEF_COLUMNS
    b = fit(strat, "hiapi ~ meals + stype", "binomial", ci="wald", conf_level=0.9)
    table = b.coefficients
    assert tuple(table.columns) == COEF_COLUMNS + EXP_COLUMNS
    np.testing.assert_allclose(table["exp_ci_low"], np.exp(table["ci_low"]))
    z = 1.6448536269514722
    np.testing.assert_allclose(table["ci_high"] - table["estimate"], z * table["se"])
    t = b.coefficients if b.ci == "t" else fit(strat, "hiapi ~ meals + stype", "binomial").coefficients
    assert (t["ci_high"] - t["estimate"] > 1.96 * t["se"]).all()
    assert table["df"].eq(b.df_residual).all() and b.df_residual == 200 - 3 + 1 - 4


def test_term_tests_single_column_equal_t_squared(strat: Design) -> None:
    model = fit(strat, "api00 ~ meals + stype + meals:stype")
    tests = term_tests(model)
    assert tuple(tests.columns) == TERM_COLUMNS
    assert tests["term"].tolist() == ["meals", "stype", "meals:stype"]
    t = model.coefficients.set_index("term")
    assert tests.iloc[0]["statistic"] == pytest.approx(t.loc["meals", "statistic"] ** 2)
    assert tests.iloc[0]["p_value"] == pytest.approx(t.loc["meals", "p_value"])
    assert tests["df_num"].tolist() == [1, 2, 2]
    with pytest.raises(ModelError, match="did you mean"):
        term_tests(model, ["meal"])


def test_reference_level_reparametrises_the_same_model(strat: Design) -> None:
    a = fit(strat, "hiapi ~ meals + stype", "binomial")
    b = fit(strat, "hiapi ~ meals + stype", "binomial", reference={"stype": "M"})
    assert b.names == ("(Intercept)", "meals", "stypeE", "stypeH")
    assert b.coef[2] == pytest.approx(-a.coef[3], rel=1e-9)
    assert b.coef[3] == pytest.approx(a.coef[2] - a.coef[3], rel=1e-9)
    assert b.deviance == pytest.approx(a.deviance, rel=1e-12)
    with pytest.raises(ModelError, match="reference level 'X'"):
        fit(strat, "hiapi ~ stype", "binomial", reference={"stype": "X"})


def test_integer_codes_are_categorical_when_declared(strat: Design) -> None:
    numeric = fit(strat, "api00 ~ mealcat")
    assert numeric.names == ("(Intercept)", "mealcat")
    coded = fit(strat, "api00 ~ mealcat", categorical=["mealcat"])
    assert coded.names == ("(Intercept)", "mealcat2", "mealcat3")
    assert fit(strat, "api00 ~ C(mealcat)").names == ("(Intercept)", "C(mealcat)2", "C(mealcat)3")

    class Codebook:  # the part of sid.codebook.Codebook that the model reads
        names = ("mealcat",)

        def __init__(self, reference: float | None = None) -> None:
            self.reference = reference

        def definition(self, name: str):  # type: ignore[no-untyped-def]
            if name != "mealcat":
                raise KeyError(name)
            return type("V", (), {"type": "ordinal", "reference": self.reference})()

    assert fit(strat, "api00 ~ mealcat", codebook=Codebook()).names == coded.names
    # a reference category declared in the codebook is the default; reference= wins
    assert fit(strat, "api00 ~ mealcat", codebook=Codebook(3.0)).names == (
        "(Intercept)", "mealcat1", "mealcat2")
    assert fit(strat, "api00 ~ mealcat", codebook=Codebook(3.0),
               reference={"mealcat": 2}).names == ("(Intercept)", "mealcat1", "mealcat3")


def test_missing_values_are_a_counted_domain(strat_na: Design) -> None:
    model = fit(strat_na, "api00 ~ meals + awards")
    data = strat_na.data
    miss = data["api00"].isna() | data["awards"].isna()
    assert model.n_missing == int(miss.sum()) and model.n == int((~miss).sum())
    assert model.frame is not None and len(model.frame.rows) == model.n
    # the same as deleting those rows from the data but keeping the design's PSUs
    zero = data.assign(pw=np.where(miss, 0.0, data["pw"]))
    ref = fit(Design(zero, weight="pw", strata="stype", fpc="fpc"),
              "api00 ~ meals + awards", where=~miss.to_numpy())
    np.testing.assert_allclose(model.coef, ref.coef, rtol=1e-12)
    np.testing.assert_allclose(model.vcov, ref.vcov, rtol=1e-10)


def test_result_is_immutable(strat: Design) -> None:
    model = fit(strat, "api00 ~ meals")
    with pytest.raises(AttributeError):
        model.coef = np.zeros(2)  # type: ignore[misc]
    assert model.converged and model.iterations <= 3  # a solve, then refinement


# --------------------------------------------------------------------------- bad input


def test_unknown_variable_suggests_close_names(strat: Design) -> None:
    with pytest.raises(ModelError) as exc:
        fit(strat, "api00 ~ meels + stype")
    assert "meels (did you mean meals?)" in _one_line(exc)


def test_binomial_outcome_outside_zero_one(strat: Design) -> None:
    with pytest.raises(ModelError) as exc:
        fit(strat, "mealcat ~ meals", "binomial")
    assert "outside {0, 1}" in _one_line(exc) and "2, 3" in _one_line(exc)


def test_perfect_separation_names_the_term(strat: Design) -> None:
    # yr_rnd = Yes and hiapi: 18 zeros, 3 ones, all three at low meals
    with pytest.raises(ModelError) as exc:
        fit(strat, "hiapi ~ meals * yr_rnd + stype", "binomial")
    line = _one_line(exc)
    assert "perfect separation" in line and "yr_rndYes" in line
    data = pd.DataFrame({"y": [0, 0, 0, 1, 1, 1.0], "x": [1, 2, 3, 4, 5, 6.0], "w": 1.0})
    with pytest.raises(ModelError, match="separation.*terms x"):
        fit(Design(data, weight="w"), "y ~ x", "binomial")


def test_collinear_terms_are_named(strat: Design) -> None:
    data = strat.data.assign(meals2=2 * strat.data["meals"] + 1)
    with pytest.raises(ModelError) as exc:
        fit(Design(data, weight="pw", strata="stype", fpc="fpc"), "api00 ~ meals + meals2")
    line = _one_line(exc)
    assert "collinear" in line and "meals2 = a combination of (Intercept), meals" in line


def test_categorical_with_one_level_in_the_domain(strat: Design) -> None:
    with pytest.raises(ModelError) as exc:
        fit(strat, "api00 ~ meals + stype", where="stype == 'E'")
    assert "'stype' has a single level in the domain" in _one_line(exc)


@pytest.mark.parametrize("formula,column", [("api00 ~ meals + (stype", 17),
                                            ("api00 ~ meals +", 15)])
def test_formula_syntax_error_gives_the_column(strat: Design, formula: str, column: int) -> None:
    with pytest.raises(ModelError) as exc:
        fit(strat, formula)
    line = _one_line(exc)
    assert "syntax error" in line and f"column {column}" in line


def test_other_bad_input(strat: Design) -> None:
    with pytest.raises(ModelError, match="family"):
        fit(strat, "api00 ~ meals", "gamma")
    with pytest.raises(ModelError, match="needs a response"):
        fit(strat, "~ meals")
    with pytest.raises(ModelError, match="negative"):
        fit(strat.__class__(strat.data.assign(d=strat.data["api00"] - 700), weight="pw"),
            "d ~ meals", "poisson")
    with pytest.raises(ModelError, match="unknown CI"):
        fit(strat, "api00 ~ meals", ci="logit")
    with pytest.raises(ModelError, match="unknown function.*nofunction"):
        fit(strat, "api00 ~ nofunction(meals)")
    with pytest.raises(ModelError, match="non-finite"):
        fit(strat, "api00 ~ np.log(meals)")


def test_crude_and_adjusted_side_by_side(strat_na: Design) -> None:
    from sid.model import ADJUSTED_COLUMNS, crude_and_adjusted

    model = fit(strat_na, "hiapi ~ meals + awards", "binomial")
    table = crude_and_adjusted(model, "sch_wide")
    assert tuple(table.columns) == ("sch_wide", *ADJUSTED_COLUMNS)
    rows = np.zeros(strat_na.n, dtype=bool)
    assert model.frame is not None
    rows[model.frame.rows] = True
    rows &= strat_na.data["sch_wide"].notna().to_numpy()
    crude = estimate(strat_na, "mean", "hiapi", by="sch_wide", where=rows, ci="t")
    np.testing.assert_allclose(table["crude"], crude["estimate"], rtol=1e-9)
    np.testing.assert_allclose(table["crude_se"], crude["se"], rtol=1e-7)
    assert table["n"].tolist() == crude["n"].tolist()
    adjusted = margins(model, "sch_wide")
    np.testing.assert_allclose(table["adjusted"], adjusted.estimate)
    assert table["adjusted_diff"].iloc[0] == 0 and np.isnan(table["adjusted_diff_p"].iloc[0])
    assert table["adjusted_diff"].iloc[1] == pytest.approx(adjusted.estimate[1]
                                                           - adjusted.estimate[0])


def test_replicate_refit_failure_is_one_line() -> None:
    data = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6, 7, 8], "g": list("aabbccdd"),
                         "w": 1.0, "r1": [1.0, 1, 1, 1, 1, 1, 0, 0], "r2": 1.0,
                         "r3": [0.0, 0, 1, 1, 1, 1, 1, 1]})
    design = Design(data, weight="w", repweights="^r[0-9]", repmethod="jk1")
    with pytest.raises(ModelError) as exc:
        fit(design, "y ~ g")
    assert "replicate 1 of 3 (r1)" in _one_line(exc)


def test_benchmark_script_agrees_with_plain_numpy_irls() -> None:
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "scripts" / "bench_model.py"
    run = subprocess.run([sys.executable, str(script), "--repeat", "1", "--sizes", "800"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1].split()[:2] == ["800", "20"]


def test_margins_with_an_interaction_set_the_group_everywhere(strat: Design) -> None:
    model = fit(strat, "api00 ~ stype * meals")
    mg = margins(model, "stype")
    b = dict(zip(model.names, model.coef, strict=True))
    meals = strat.data["meals"].to_numpy()
    w = strat.w
    for level, est in zip(mg.levels, mg.estimate, strict=True):
        shift = b.get(f"stype{level}", 0.0)
        slope = b["meals"] + b.get(f"stype{level}:meals", 0.0)
        pred = b["(Intercept)"] + shift + slope * meals
        assert est == pytest.approx(np.sum(w * pred) / np.sum(w), rel=1e-12)
    assert (mg.model_part.diagonal() > 0).all() and (mg.mean_part.diagonal() > 0).all()
