"""Tests for sid.weighting: golden numbers from R's survey package, invariants, bad input.

The golden numbers come from ``tests/reference/weighting_golden.R`` (R 4.x,
survey 4.1-1) on the ``api`` data (apiclus1: one-stage cluster sample of
school districts; apistrat: stratified by school type). R code per case::

    ps_clus1_stype     postStratify(dclus1, ~stype, pop_table("stype"))
    ps_strat_cross     postStratify(dstrat, ~stype + sch.wide, pop_table(c("stype", "sch.wide")))
    rake_clus1         rake(dclus1, list(~stype, ~sch.wide, ~awards), ..., control = tight)
    rake_strat_cross   rake(dstrat, list(~stype + awards, ~comp.imp), ..., control = tight)
    rake_within        rake(dstrat, list(~stype + awards, ~stype + sch.wide), ..., control = tight)
    cal_linear         calibrate(dclus1, ~stype + api99, pop)
    cal_linear_bounded calibrate(..., calfun = "linear", bounds = c(0.5, 1.6))
    cal_raking_cont    calibrate(..., calfun = "raking")
    cal_raking_bounded calibrate(..., calfun = "raking", bounds = c(0.5, 1.6))
    cal_logit          calibrate(..., calfun = "logit", bounds = c(0.5, 1.6))
    cal_raking_cat     calibrate(dclus1, ~stype + sch.wide + awards, popcat, calfun = "raking")
    cal_strat_linear   calibrate(dstrat, ~cell + meals, popsx)   # cell = stype x sch.wide
    trim_upper         trimWeights(dvar, upper = 36)              # dvar: weights of cal_linear
    trim_both          trimWeights(dvar, upper = 36, lower = 31)
    trim_strict        trimWeights(dvar, upper = 36, lower = 31, strict = TRUE)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sid import design as design_mod
from sid import variance as variance_mod
from sid import weighting as wt
from sid.errors import WeightingError
from sid.weighting.replicates import as_replicate_weights

REF = Path(__file__).parent / "reference"


# --------------------------------------------------------------------------- fixtures


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / "data" / f"weighting_{name}.csv")


@pytest.fixture(scope="module")
def clus1() -> pd.DataFrame:
    return _data("apiclus1")


@pytest.fixture(scope="module")
def strat() -> pd.DataFrame:
    return _data("apistrat")


@pytest.fixture(scope="module")
def golden_weights() -> pd.DataFrame:
    return pd.read_csv(REF / "weighting_weights.csv")


@pytest.fixture(scope="module")
def targets_table() -> pd.DataFrame:
    return pd.read_csv(REF / "weighting_targets.csv", keep_default_na=False)


def _margins(targets: pd.DataFrame, case: str) -> dict:
    """Targets of one case as {var or (vars): {category: total} or total}."""
    out: dict = {}
    for margin, block in targets[targets["case"] == case].groupby("margin", sort=False):
        variables = tuple(margin.split("+"))
        if block["category"].iloc[0] == "":
            out[margin] = float(block["total"].iloc[0])
            continue
        cats = [tuple(c.split("|")) for c in block["category"]]
        key = variables[0] if len(variables) == 1 else variables
        out[key] = {
            (c[0] if len(c) == 1 else c): float(t) for c, t in zip(cats, block["total"], strict=True)
        }
    return out


def _expected(golden: pd.DataFrame, case: str) -> np.ndarray:
    block = golden[golden["case"] == case].sort_values("row")
    return block["weight"].to_numpy(dtype=float)


def _close(actual, expected, rel=1e-8):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=rel, atol=0)


# --------------------------------------------------------------------------- golden: weights


def test_poststratify_matches_r(clus1, golden_weights, targets_table):
    m = _margins(targets_table, "ps_clus1_stype")
    res = wt.poststratify(clus1, "pw", m)
    _close(res.weights, _expected(golden_weights, "ps_clus1_stype"))


def test_poststratify_full_cross_matches_r(strat, golden_weights, targets_table):
    m = _margins(targets_table, "ps_strat_cross")
    res = wt.poststratify(strat, "pw", m)
    _close(res.weights, _expected(golden_weights, "ps_strat_cross"))
    # final/base weight is constant within each cell
    ratio = res.weights / strat["pw"]
    spread = ratio.groupby([strat["stype"], strat["sch.wide"]]).agg(lambda s: s.max() - s.min())
    assert (spread.abs() < 1e-12 * ratio.max()).all()
    assert ratio.nunique() > 1


def test_poststratify_accepts_r_style_table(strat, golden_weights, targets_table):
    block = targets_table[targets_table["case"] == "ps_strat_cross"]
    parts = block["category"].str.split("|", expand=True)
    frame = pd.DataFrame({"stype": parts[0], "sch.wide": parts[1], "Freq": block["total"]})
    res = wt.poststratify(strat, "pw", frame)
    _close(res.weights, _expected(golden_weights, "ps_strat_cross"))


@pytest.mark.parametrize(
    ("case", "dataset"),
    [("rake_clus1", "apiclus1"), ("rake_strat_cross", "apistrat"), ("rake_within", "apistrat")],
)
def test_rake_matches_r(case, dataset, golden_weights, targets_table):
    data = _data(dataset)
    res = wt.rake(data, "pw", _margins(targets_table, case))
    _close(res.weights, _expected(golden_weights, case))
    assert res.record.converged and res.record.max_gap <= 1e-10


def test_rake_within_groups_equals_crossed_margins(strat, golden_weights, targets_table):
    crossed = _margins(targets_table, "rake_within")
    per_group: dict = {}
    for (s, a), total in crossed[("stype", "awards")].items():
        per_group.setdefault(s, {}).setdefault("awards", {})[a] = total
    for (s, c), total in crossed[("stype", "sch.wide")].items():
        per_group[s].setdefault("sch.wide", {})[c] = total
    res = wt.rake(strat, "pw", per_group, within="stype")
    _close(res.weights, _expected(golden_weights, "rake_within"))


@pytest.mark.parametrize(
    ("case", "dataset", "method", "bounds"),
    [
        ("cal_linear", "apiclus1", "linear", None),
        ("cal_linear_bounded", "apiclus1", "linear", (0.5, 1.6)),
        ("cal_raking_cont", "apiclus1", "raking", None),
        ("cal_raking_bounded", "apiclus1", "raking", (0.5, 1.6)),
        ("cal_logit", "apiclus1", "logit", (0.5, 1.6)),
        ("cal_raking_cat", "apiclus1", "raking", None),
        ("cal_strat_linear", "apistrat", "linear", None),
    ],
)
def test_calibrate_matches_r(case, dataset, method, bounds, golden_weights, targets_table):
    data = _data(dataset)
    res = wt.calibrate(data, "pw", _margins(targets_table, case), method=method, bounds=bounds)
    _close(res.weights, _expected(golden_weights, case))
    if bounds is not None:
        g = res.weights / data["pw"]
        assert g.min() >= bounds[0] * (1 - 1e-12) and g.max() <= bounds[1] * (1 + 1e-12)


@pytest.mark.parametrize("method", ["linear", "raking", "logit"])
def test_calibrate_rescaled_matches_r(method, clus1, targets_table):
    """Unit weights, population totals: R rescales the weights by mean(population/sample)
    (over R's model-matrix columns) and applies the bounds after rescaling. Before the fix
    the bounds check ran on the unscaled weights and refused (weighting_rescale.R)."""
    cat = _margins(targets_table, "cal_raking_cat")
    margins = {"stype": cat["stype"], "sch.wide": cat["sch.wide"]}
    golden = pd.read_csv(REF / "weighting_rescale.csv")
    res = wt.calibrate(clus1, np.ones(len(clus1)), margins, method=method, bounds=(0.6, 1.5))
    _close(res.weights, _expected(golden, f"rescaled_{method}"))
    scale = res.record.params["rescaled_by"]
    assert scale is not None and scale > 20
    g = res.weights.to_numpy() / scale
    assert g.min() >= 0.6 * (1 - 1e-12) and g.max() <= 1.5 * (1 + 1e-12)
    if method != "logit":  # logit only approaches its bounds
        assert g.max() > 1.5 * (1 - 1e-9)  # the upper bound binds: the scale matters


def test_rake_equals_calibrate_raking(clus1, targets_table):
    m = _margins(targets_table, "rake_clus1")
    a = wt.rake(clus1, "pw", m).weights
    b = wt.calibrate(clus1, "pw", m, method="raking").weights
    _close(a, b.to_numpy(), rel=1e-9)


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("trim_upper", {"upper": 36}),
        ("trim_both", {"upper": 36, "lower": 31}),
        ("trim_strict", {"upper": 36, "lower": 31, "strict": True}),
    ],
)
def test_trim_matches_r(case, kwargs, golden_weights):
    base = _expected(golden_weights, "trim_base")
    res = wt.trim(base, **kwargs)
    _close(res.weights, _expected(golden_weights, case))
    assert res.weights.sum() == pytest.approx(base.sum(), rel=1e-12)


# --------------------------------------------------------------------------- golden: SEs



@pytest.fixture(scope="module")
def golden_se() -> pd.DataFrame:
    return pd.read_csv(REF / "weighting_se.csv")


def _estimates(data: pd.DataFrame, weights, dataset: str, calibration) -> dict:
    """Mean and total (estimate, SE) of api00 and enroll on the design of the R script."""
    frame = data.assign(final_wt=np.asarray(weights, dtype=float))
    if dataset == "apiclus1":
        design = design_mod.Design(frame, weight="final_wt", psu="dnum", fpc="fpc",
                                   calibration=calibration)
    else:
        # integer stratum codes: sid.design (pandas 3 string columns) is not our concern here
        frame["stratum"] = pd.factorize(frame["stype"])[0].astype(float)
        design = design_mod.Design(frame, weight="final_wt", strata="stratum", fpc="fpc",
                                   calibration=calibration)
    n = len(frame)
    out = {}
    for var in ("api00", "enroll"):
        y = frame[var].to_numpy(dtype=float)
        rows = np.arange(n)
        for stat, den in (("mean", np.ones(n)), ("total", None)):
            form = variance_mod.LinearForm(rows, np.zeros(n, dtype=np.int64), y, den, 1)
            theta = form.estimate(design.w)
            v = variance_mod.vcov(design, form, theta)
            out[(stat, var)] = (float(theta[0]), float(np.sqrt(v[0, 0])))
    return out


SE_CASES = [
    ("ps_clus1_stype", "apiclus1", "poststratify", {}),
    ("ps_strat_cross", "apistrat", "poststratify", {}),
    ("rake_clus1", "apiclus1", "rake", {}),
    ("rake_strat_cross", "apistrat", "rake", {}),
    ("rake_within", "apistrat", "rake", {}),
    ("cal_linear", "apiclus1", "calibrate", {"method": "linear"}),
    ("cal_linear_bounded", "apiclus1", "calibrate", {"method": "linear", "bounds": (0.5, 1.6)}),
    ("cal_raking_cont", "apiclus1", "calibrate", {"method": "raking"}),
    ("cal_raking_bounded", "apiclus1", "calibrate", {"method": "raking", "bounds": (0.5, 1.6)}),
    ("cal_logit", "apiclus1", "calibrate", {"method": "logit", "bounds": (0.5, 1.6)}),
    ("cal_raking_cat", "apiclus1", "calibrate", {"method": "raking"}),
    ("cal_strat_linear", "apistrat", "calibrate", {"method": "linear"}),
]


@pytest.mark.parametrize(("case", "dataset", "func", "kwargs"), SE_CASES)
def test_standard_errors_after_weighting_match_r(case, dataset, func, kwargs, golden_se,
                                                 targets_table):
    data = _data(dataset)
    res = getattr(wt, func)(data, "pw", _margins(targets_table, case), **kwargs)
    got = _estimates(data, res.weights, dataset, wt.design_calibration(res))
    block = golden_se[golden_se["case"] == case]
    assert len(block) == 4
    for row in block.itertuples():
        est, se = got[(row.statistic, row.variable)]
        assert est == pytest.approx(row.estimate, rel=1e-9), (row.statistic, row.variable)
        assert se == pytest.approx(row.se, rel=1e-9), (row.statistic, row.variable)


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("trim_base", {}),
        ("trim_upper", {"upper": 36}),
        ("trim_both", {"upper": 36, "lower": 31}),
        ("trim_strict", {"upper": 36, "lower": 31, "strict": True}),
    ],
)
def test_standard_errors_after_trimming_match_r(case, kwargs, clus1, golden_weights, golden_se):
    base = _expected(golden_weights, "trim_base")
    weights = wt.trim(base, **kwargs).weights if kwargs else base
    got = _estimates(clus1, weights, "apiclus1", ())
    for row in golden_se[golden_se["case"] == case].itertuples():
        est, se = got[(row.statistic, row.variable)]
        assert est == pytest.approx(row.estimate, rel=1e-9)
        assert se == pytest.approx(row.se, rel=1e-9)


def test_fixed_weights_overstate_the_raking_se(clus1, targets_table, golden_se):
    res = wt.rake(clus1, "pw", _margins(targets_table, "rake_clus1"))
    fixed = _estimates(clus1, res.weights, "apiclus1", ())
    raked = _estimates(clus1, res.weights, "apiclus1", wt.design_calibration(res))
    assert fixed[("mean", "api00")][1] > raked[("mean", "api00")][1]


# --------------------------------------------------------------------------- invariants


def _toy(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "sex": rng.integers(1, 3, n).astype(float),
        "age": rng.integers(1, 5, n).astype(float),
        "reg": rng.integers(1, 3, n).astype(float),
        "grp": rng.integers(1, 4, n).astype(float),
        "w": rng.uniform(1, 5, n),
        "y": rng.normal(size=n),
    })


TOY_MARGINS = {
    "sex": {1: 5200.0, 2: 4800.0},
    ("age", "reg"): {(a, r): 10000.0 / 8 + (a - 2.5) * 100 * (1 if r == 1 else -1)
                     for a in range(1, 5) for r in (1, 2)},
}


def test_rake_invariants():
    d = _toy()
    res = wt.rake(d, "w", TOY_MARGINS)
    w = res.weights
    assert w.sum() == pytest.approx(10000.0, rel=1e-10)
    assert w.groupby(d["sex"]).sum().to_dict() == pytest.approx({1.0: 5200.0, 2.0: 4800.0},
                                                                 rel=1e-10)
    assert w.nunique() > 1
    assert res.record.max_gap <= 1e-10
    assert res.record.after.sum == pytest.approx(10000.0)
    assert len(res.record.gaps) == 2 + 8
    gaps = res.record.gaps_frame()
    assert (gaps["achieved"] - gaps["target"]).abs().max() < 1e-6
    assert res.record.before.n == len(d)
    assert w.index.equals(d.index)


def test_rake_does_not_modify_input():
    d = _toy()
    before = d.copy()
    wt.rake(d, "w", TOY_MARGINS)
    pd.testing.assert_frame_equal(d, before)


def test_string_and_integer_categories_match_float_codes():
    d = _toy()
    as_text = {"sex": {"1": 5200, "2": 4800}}
    a = wt.poststratify(d, "w", as_text).weights
    b = wt.poststratify(d, "w", {"sex": {1.0: 5200, 2.0: 4800}}).weights
    _close(a, b.to_numpy(), rel=1e-15)


def test_summary_and_ess():
    w = np.array([1.0, 1.0, 2.0, 4.0])
    s = wt.weight_summary(w)
    assert s.ess == pytest.approx(64 / 22)
    assert s.deff_w == pytest.approx(4 * 22 / 64)
    assert s.sum == 8 and s.min == 1 and s.max == 4
    table = wt.summary_table(w, groups=[1, 1, 2, 2])
    assert list(table["group"]) == ["totaal", "1", "2"]
    assert table["ess"].iloc[1] == pytest.approx(2.0)


def test_design_and_frame_weights():
    d = pd.DataFrame({"p": [0.5, 0.25, 0.25], "h": [1.0, 2.0, 2.0]})
    assert wt.design_weights(d, "p").weights.tolist() == [2.0, 4.0, 4.0]
    fw = wt.frame_weights(d, "h", {1: 10, 2: 30}).weights
    assert fw.tolist() == [10.0, 15.0, 15.0]


def test_nonresponse_adjustment_keeps_class_totals():
    g = pd.DataFrame({"w": [2.0, 2.0, 3.0, 1.0, 1.0], "r": [1, 0, 1, 1, 1], "c": [1, 1, 1, 2, 2]})
    res = wt.nonresponse_adjust(g, "w", "r", "c")
    w = res.weights.to_numpy()
    assert w[1] == 0
    assert w[[0, 1, 2]].sum() == pytest.approx(7.0)
    assert w[0] / 2.0 == pytest.approx(w[2] / 3.0)
    assert res.record.params["response_rate"]["1"] == pytest.approx(2 / 3)


def test_margins_from_long():
    t = pd.DataFrame({
        "ref_date": ["2022-01-01"] * 4 + ["2017-01-01"],
        "h": [1, 1, 2, 2, 1], "s": [1, 2, 1, 2, 1], "count": [10, 20, 30, 40, 99],
    })
    m = wt.margins_from_long(t, ["s"], within="h", filters={"ref_date": "2022-01-01"})
    assert m == {1: {"s": {1: 10.0, 2: 20.0}}, 2: {"s": {1: 30.0, 2: 40.0}}}


def test_trim_rake_holds_margins_and_bounds():
    d = _toy()
    res = wt.trim_rake(d, "w", TOY_MARGINS, upper=50.0)
    assert res.weights.max() <= 50.0 * (1 + 1e-6)
    assert res.record.max_gap <= 1e-10
    untrimmed = wt.rake(d, "w", TOY_MARGINS).weights
    assert untrimmed.max() > 50.0  # the test case does need trimming


def test_proportional_trimming_keeps_total():
    w = np.array([1.0, 2.0, 3.0, 10.0])
    res = wt.trim(w, upper=5, redistribute="proportional")
    assert res.weights.sum() == pytest.approx(16.0)
    assert res.weights[3] == 5
    assert res.weights[1] / res.weights[0] == pytest.approx(2.0)


# --------------------------------------------------------------------------- bad input


def _err(func, *args, **kwargs) -> str:
    with pytest.raises(WeightingError) as info:
        func(*args, **kwargs)
    return str(info.value)


def test_error_margins_disagree():
    d = _toy()
    msg = _err(wt.rake, d, "w", {"sex": {1: 5000, 2: 5000}, "reg": {1: 6000, 2: 5000}})
    assert "disagree" in msg and "sex" in msg and "reg" in msg


def test_error_within_groups_disagree():
    d = _toy()
    m = {"sex": {(g, s): 100.0 for g in (1, 2, 3) for s in (1, 2)},
         ("grp", "reg"): {(g, r): 100.0 + (g == 2) * 5 for g in (1, 2, 3) for r in (1, 2)}}
    m = {("grp", "sex"): m["sex"], ("grp", "reg"): m[("grp", "reg")]}
    msg = _err(wt.rake, d, "w", m)
    assert "grp = 2" in msg


def test_error_target_category_without_respondents():
    d = _toy()
    msg = _err(wt.rake, d, "w", {"sex": {1: 5000, 2: 4000, 3: 1000}})
    assert "no respondents" in msg and "3" in msg


def test_error_sample_category_without_target():
    d = _toy()
    msg = _err(wt.poststratify, d, "w", {"age": {1: 1, 2: 1, 3: 1}})
    assert "without a target" in msg and "4" in msg and "rows" in msg


def test_error_missing_value_in_margin_variable():
    d = _toy()
    d.loc[[3, 7], "sex"] = np.nan
    msg = _err(wt.rake, d, "w", TOY_MARGINS)
    assert "missing" in msg and "3, 7" in msg


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_error_bad_base_weights(bad):
    d = _toy()
    d.loc[5, "w"] = bad
    for func in (wt.rake, wt.calibrate):
        msg = _err(func, d, "w", TOY_MARGINS)
        assert "base weight" in msg and "rows 5" in msg


def test_error_infeasible_bounds_names_constraint():
    d = _toy()
    m = {"sex": {1: 9000, 2: 1000}}
    msg = _err(wt.calibrate, d, "w", m, method="logit", bounds=(0.5, 1.5))
    assert "infeasible" in msg and "sex, category" in msg


def test_error_logit_needs_finite_bounds():
    msg = _err(wt.calibrate, _toy(), "w", TOY_MARGINS, method="logit")
    assert "finite bounds" in msg


def test_error_non_convergence_reports_worst_margin():
    d = _toy()
    msg = _err(wt.rake, d, "w", TOY_MARGINS, max_iter=1)
    assert "did not converge" in msg and "worst margin" in msg and "relative gap" in msg


def test_error_structural_zero_never_returns_bad_weights():
    # cell (sex 2, reg 2) is empty: margins are consistent but cannot be met jointly
    d = pd.DataFrame({"sex": [1.0, 1.0, 2.0], "reg": [1.0, 2.0, 1.0], "w": [1.0, 1.0, 1.0]})
    m = {"sex": {1: 10, 2: 90}, "reg": {1: 10, 2: 90}}
    msg = _err(wt.rake, d, "w", m)
    assert "did not converge" in msg
    msg = _err(wt.calibrate, d, "w", m, method="raking")
    assert "did not converge" in msg or "no finite" in msg


def test_error_trim_bounds_cannot_hold_total():
    msg = _err(wt.trim, np.array([1.0, 2.0, 3.0]), upper=1.5)
    assert "cannot hold" in msg


def test_error_nonresponse_class_without_respondents():
    g = pd.DataFrame({"w": [1.0, 1.0, 1.0], "r": [1, 0, 0], "c": [1, 2, 2]})
    msg = _err(wt.nonresponse_adjust, g, "w", "r", "c")
    assert "fewer than 1" in msg and "2 (0 of 2)" in msg


def test_error_reports_all_problems_at_once():
    d = _toy()
    d.loc[0, "reg"] = np.nan
    msg = _err(wt.rake, d, "w", {"sex": {1: 1, 2: 1, 9: 1}, "reg": {1: 1, 2: 1}})
    assert "2 problem(s)" in msg


# --------------------------------------------------------------------------- property-based

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    shares_a=st.lists(st.floats(0.1, 1.0), min_size=2, max_size=4),
    shares_b=st.lists(st.floats(0.1, 1.0), min_size=2, max_size=3),
    total=st.floats(1e3, 1e7),
    method=st.sampled_from(["rake", "linear", "raking"]),
)
def test_random_consistent_margins_hold(seed, shares_a, shares_b, total, method):
    rng = np.random.default_rng(seed)
    n = 300
    d = pd.DataFrame({
        "a": rng.integers(0, len(shares_a), n).astype(float),
        "b": rng.integers(0, len(shares_b), n).astype(float),
        "w": rng.uniform(0.5, 3.0, n),
    })
    # every category must be present (the generator may miss one in rare draws)
    if d["a"].nunique() < len(shares_a) or d["b"].nunique() < len(shares_b):
        return
    ma = {k: total * s / sum(shares_a) for k, s in enumerate(shares_a)}
    mb = {k: total * s / sum(shares_b) for k, s in enumerate(shares_b)}
    margins = {"a": ma, "b": mb}
    try:
        res = (wt.rake(d, "w", margins) if method == "rake"
               else wt.calibrate(d, "w", margins, method=method))
    except WeightingError as exc:  # a failure must be an explicit, explained error
        assert "did not converge" in str(exc)
        return
    w = res.weights
    assert w.sum() == pytest.approx(total, rel=1e-9)
    for var, m in margins.items():
        got = w.groupby(d[var]).sum()
        for k, t in m.items():
            assert got[float(k)] == pytest.approx(t, rel=1e-9)
    assert w.nunique() > 1
    if method != "linear":
        assert (w > 0).all()


# --------------------------------------------------------------------------- spec and CLI


def test_cli_weight_writes_wave_and_report(tmp_path):
    from click.testing import CliRunner

    from sid.cli import main
    from sid.io import make_wave, read_wave, write_wave

    rng = np.random.default_rng(3)
    n = 600
    gross = pd.DataFrame({
        "respid": np.arange(n, dtype=float),
        "stratum": rng.integers(1, 3, n).astype(float) * 10 + 1,
        "geslacht": rng.integers(1, 3, n).astype(float),
        "lft": rng.integers(15, 86, n).astype(float),
        "respons": (rng.random(n) < 0.6).astype(float),
    })
    gross["herkomst_frame"] = gross["stratum"] // 10
    gross["base_wt"] = np.where(gross["herkomst_frame"] == 1, 100.0, 10.0)
    write_wave(make_wave(gross), tmp_path / "gross.sav")
    resp = gross[gross["respons"] == 1].drop(columns="respons").reset_index(drop=True)
    write_wave(make_wave(resp, labels={"geslacht": "Geslacht"},
                         value_labels={"geslacht": {1: "man", 2: "vrouw"}}), tmp_path / "w.sav")
    rows = [{"ref_date": "2022-01-01", "herkomst": h, "geslacht": s, "leeftijdsgroep": a,
             "count": 1000 * h + 10 * s + a} for h in (1, 2) for s in (1, 2) for a in (1, 2)]
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    (tmp_path / "spec.yaml").write_text(
        "id: respid\ndesign: {base_weight: base_wt}\n"
        "nonresponse: {respondent: respons, classes: [stratum, geslacht]}\n"
        "margins:\n  filter: {ref_date: '2022-01-01'}\n  within: herkomst\n"
        "  variables: {herkomst: herkomst_frame, geslacht: geslacht,"
        " leeftijdsgroep: {from: lft, breaks: [50]}}\n"
        "  margins: [[geslacht], [leeftijdsgroep]]\nmethod: rake\n", encoding="utf-8")
    result = CliRunner().invoke(main, [
        "weight", str(tmp_path / "w.sav"), "--spec", str(tmp_path / "spec.yaml"),
        "--gross", str(tmp_path / "gross.sav"), "--margins", str(tmp_path / "m.csv"),
        "--out", str(tmp_path / "out.sav"), "--report", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 0, result.output
    back = read_wave(tmp_path / "out.sav")
    assert back.meta.variable("geslacht").value_labels == {1.0: "man", 2.0: "vrouw"}
    w = back.data["final_wt"]
    assert w.sum() == pytest.approx(sum(r["count"] for r in rows), rel=1e-9)
    by = w.groupby([back.data["herkomst_frame"], back.data["geslacht"]]).sum()
    assert by[(2.0, 1.0)] == pytest.approx(2011 + 2012, rel=1e-9)
    sheets = pd.ExcelFile(tmp_path / "r.xlsx").sheet_names
    assert {"Stappen", "Per herkomst", "Marges", "Spec"} <= set(sheets)
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("# Wegingsrapport")
    # a bad spec gives one clear line and exit code 2
    (tmp_path / "bad.yaml").write_text("design: {}\nmargins: {}\nmethod: foo\n", encoding="utf-8")
    bad = CliRunner().invoke(main, [
        "weight", str(tmp_path / "w.sav"), "--spec", str(tmp_path / "bad.yaml"),
        "--margins", str(tmp_path / "m.csv"), "--out", str(tmp_path / "x.sav")])
    assert bad.exit_code == 2 and "method" in bad.output


# --------------------------------------------------------------------------- replicate weights
# Golden numbers from tests/reference/weighting_replicates.R: JK1 and bootstrap replicate
# designs on apiclus1 (no fpc), JKn on 20 schools per type of apistrat; each case runs R's
# rake / postStratify / calibrate on the replicate design (R code in the `call` column).

REP_CASES = {
    # case: (starting design, data, chain on (frame, weights), targets case)
    "jk1_rake": ("jk1", "rake", {}, "rake_clus1", ("stype", "sch.wide")),
    "jk1_ps": ("jk1", "poststratify", {}, "ps_clus1_stype", None),
    "jk1_linear": ("jk1", "calibrate", {"method": "linear"}, "cal_linear", None),
    "jk1_raking": ("jk1", "calibrate", {"method": "raking"}, "cal_linear", None),
    "boot_rake": ("boot", "rake", {}, "rake_clus1", ("stype", "sch.wide")),
    "boot_linear": ("boot", "calibrate", {"method": "linear"}, "cal_linear", None),
    "boot_logit": ("boot", "calibrate", {"method": "logit", "bounds": (0.2, 5)}, "cal_linear", None),
    "jkn_rake": ("jkn", "rake", {}, ("ps_clus1_stype", "rake_strat_cross"), ("stype", "comp.imp")),
    "jkn_ps": ("jkn", "poststratify", {}, "ps_strat_cross", None),
}
REP_METHOD = {"jk1": "jk1", "boot": "bootstrap", "jkn": "jkn"}


@pytest.fixture(scope="module")
def rep_golden() -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(REF / f"weighting_rep_{name}.csv")
            for name in ("start", "final", "se", "designs")}


def _rep_data(design: str, rows: np.ndarray) -> pd.DataFrame:
    data = _data("apiclus1" if design in ("jk1", "boot") else "apistrat")
    return data.set_index("row").loc[rows].reset_index()


def _wide(block: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    return block.pivot(index="row", columns="rep", values="weight").loc[rows].to_numpy()


def _start(rep_golden, design: str) -> tuple[pd.DataFrame, wt.ReplicateWeights]:
    block = rep_golden["start"][rep_golden["start"]["design"] == design]
    rows = block["row"].unique()
    data = _rep_data(design, rows)
    info = rep_golden["designs"][rep_golden["designs"]["design"] == design]
    reps = as_replicate_weights(_wide(block, rows), REP_METHOD[design], info["scale"].iloc[0],
                          info["rscales"].to_numpy(), data.index)
    return data, reps


@pytest.mark.parametrize("design", ["jk1", "jkn"])
def test_jackknife_replicate_weights_match_r(design, rep_golden):
    data, golden = _start(rep_golden, design)
    kw = {"psu": "dnum"} if design == "jk1" else {"strata": "stype"}
    reps = wt.replicate_weights(data, design, weight="pw", **kw)
    _close(reps.weights, golden.weights)
    assert reps.scale == pytest.approx(golden.scale, rel=1e-12)
    _close(reps.rscales, golden.rscales, rel=1e-12)


def test_bootstrap_replicate_weights_are_rao_wu_multiplicities(rep_golden):
    data, golden = _start(rep_golden, "boot")
    reps = wt.replicate_weights(data, "bootstrap", weight="pw", psu="dnum", replicates=20, seed=7)
    assert reps.scale == pytest.approx(golden.scale, rel=1e-12)  # R's bootweights scale
    mult = reps.weights / data["pw"].to_numpy()[:, None]
    assert np.allclose(mult, np.round(mult)) and (mult >= 0).all()
    # constant within a PSU, and n_PSU draws per replicate (15 districts)
    per_psu = pd.DataFrame(mult).groupby(data["dnum"].to_numpy())
    assert (per_psu.nunique() == 1).all().all()
    assert (per_psu.first().sum(axis=0) == 15).all()
    again = wt.replicate_weights(data, "bootstrap", weight="pw", psu="dnum", replicates=20, seed=7)
    assert np.array_equal(again.weights, reps.weights)


@pytest.mark.parametrize("case", list(REP_CASES))
def test_chain_on_replicates_matches_r(case, rep_golden, targets_table):
    from sid.estimation import estimate

    design, func, kwargs, tcase, keep = REP_CASES[case]
    data, start = _start(rep_golden, design)
    margins = {}
    for one in (tcase,) if isinstance(tcase, str) else tcase:
        margins |= _margins(targets_table, one)
    if keep:
        margins = {k: v for k, v in margins.items() if k in keep}

    def chain(frame, w):
        return getattr(wt, func)(frame, w, margins, **kwargs)

    final = wt.apply_chain_to_replicates(data, start, chain)
    full = chain(data, data["pw"].to_numpy())
    block = rep_golden["final"][rep_golden["final"]["case"] == case]
    expected = _wide(block, data["row"].to_numpy())
    _close(full.weights.to_numpy(), expected[:, 0])
    _close(final.weights, expected[:, 1:])
    frame = pd.concat([data.assign(final_wt=full.weights.to_numpy()), final.frame()], axis=1)
    des = design_mod.Design(frame, weight="final_wt", **final.design_kwargs())
    se = rep_golden["se"][rep_golden["se"]["case"] == case]
    assert len(se) == 4
    for row in se.itertuples():
        got = estimate(des, row.statistic, row.variable)
        assert got["estimate"].iloc[0] == pytest.approx(row.estimate, rel=1e-9)
        assert got["se"].iloc[0] == pytest.approx(row.se, rel=1e-9), (case, row.statistic)


def test_replicate_chain_failure_names_the_replicate(clus1):
    reps = wt.replicate_weights(clus1, "jk1", weight="pw", psu="dnum")
    # a category present in one district only cannot be raked in the replicate dropping it
    lone = clus1["dnum"] == clus1["dnum"].iloc[0]
    data = clus1.assign(flag=np.where(lone, 1.0, 2.0))
    margins = {"flag": {1.0: 100.0, 2.0: 6094.0}}
    msg = _err(wt.apply_chain_to_replicates, data, reps, lambda f, w: wt.rake(f, w, margins))
    assert "replicate 1 of 15" in msg and "flag" in msg


def test_replicate_weights_bad_input(clus1, strat):
    assert "JK1" in _err(wt.replicate_weights, strat, "jk1", weight="pw", strata="stype")
    one = clus1.assign(s=np.where(clus1["dnum"] == clus1["dnum"].iloc[0], 1.0, 2.0))
    assert "single PSU" in _err(wt.replicate_weights, one, "jkn", strata="s", psu="dnum")
    assert "unknown replicate method" in _err(wt.replicate_weights, clus1, "brr")
    assert "not in the data" in _err(wt.replicate_weights, clus1, "jk1", psu="nope")


def test_cli_weight_writes_replicate_weights_with_the_chain_per_replicate(tmp_path, synthetic_dir):
    """sid weight with a replicates key: every replicate runs nonresponse, raking within origin
    and trimming, so every replicate holds the margins; progress goes to stderr."""
    from click.testing import CliRunner

    from sid.cli import main
    from sid.io import read_wave

    spec = (Path(__file__).parents[1] / "sid" / "data" / "weighting" / "sid2022.yaml").read_text(
        encoding="utf-8")
    spec += "replicates: {method: bootstrap, replicates: 10, seed: 1, strata: stratum, psu: psu}\n"
    (tmp_path / "spec.yaml").write_text(spec, encoding="utf-8")
    result = CliRunner().invoke(main, [
        "weight", str(synthetic_dir / "sid2022.sav"), "--spec", str(tmp_path / "spec.yaml"),
        "--gross", str(synthetic_dir / "sid2022_gross.sav"),
        "--margins", str(synthetic_dir / "population_margins.csv"),
        "--out", str(tmp_path / "out.sav"), "--report", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("replicaatgewichten:") == 10
    back = read_wave(tmp_path / "out.sav").data
    cols = [f"repw_{k:03d}" for k in range(1, 11)]
    assert set(cols) <= set(back.columns)
    reps = back[cols].to_numpy()
    assert (reps >= 0).all() and (reps == 0).any()  # PSUs not drawn keep weight 0
    table = pd.read_csv(synthetic_dir / "population_margins.csv")
    table = table[table["ref_date"].astype(str) == "2022-01-01"]
    target = table.groupby(["herkomst", "geslacht"])["count"].sum()
    for k in range(10):
        got = pd.Series(reps[:, k]).groupby([back["herkomst_frame"], back["geslacht"]]).sum()
        got.index.names = ["herkomst", "geslacht"]
        _close(got.sort_index().to_numpy(), target.sort_index().to_numpy(), rel=1e-8)
    # a replicate differs from the full-sample weights, and the report names the method
    assert not np.allclose(reps[:, 0], back["final_wt"].to_numpy())
    rep_sheet = pd.read_excel(tmp_path / "r.xlsx", sheet_name="Replicaten")
    assert rep_sheet["methode"].iloc[0] == "bootstrap"
    assert "bootstrap" in (tmp_path / "r.md").read_text(encoding="utf-8")


def test_fixed_final_weights_overstate_the_se_on_synthetic_sid(synthetic_dir):
    """Share in work (werksituatie 1 or 2) after raking the SID 2022 design weights on sex,
    age band, origin and province: treating the final weights as fixed overstates the SE
    (issue 5). The bootstrap with the chain re-run per replicate agrees with the
    calibrated linearisation, not with the fixed-weight SE."""
    from sid.estimation import estimate
    from sid.io import read_wave
    from sid.synthetic import age_band, make_population

    wave = read_wave(synthetic_dir / "sid2022.sav")
    work = wave.data["werksituatie"].where(~wave.user_missing_mask("werksituatie"))
    data = wave.data.assign(
        werk=np.where(work.isna(), np.nan, work.isin([1, 2]).astype(float)),
        lftgrp=age_band(wave.data["lft"].to_numpy()))
    pop = make_population(2022)
    pop["lftgrp"] = age_band(pop["leeftijd"].to_numpy())
    margins = {var: pop.groupby(col)["persons"].sum().astype(float).to_dict()
               for var, col in (("geslacht", "geslacht"), ("lftgrp", "lftgrp"),
                                ("herkomst_frame", "herkomst"), ("provincie", "provincie"))}
    res = wt.rake(data, "base_wt", margins)
    frame = data.assign(final_wt=res.weights.to_numpy())
    taylor = {"weight": "final_wt", "strata": "stratum", "psu": "psu"}
    calibrated = estimate(design_mod.Design(frame, **taylor,
                                            calibration=wt.design_calibration(res)), "mean", "werk")
    fixed = estimate(design_mod.Design(frame, **taylor), "mean", "werk")
    assert fixed["estimate"].iloc[0] == pytest.approx(calibrated["estimate"].iloc[0], rel=1e-12)
    se_cal, se_fixed = calibrated["se"].iloc[0], fixed["se"].iloc[0]
    assert se_fixed > 1.1 * se_cal  # measured: 1.31 with the default synthetic seed
    reps = wt.replicate_weights(data, "bootstrap", weight="base_wt", strata="stratum", psu="psu",
                                replicates=100, seed=1)
    final = wt.apply_chain_to_replicates(data, reps, lambda f, w: wt.rake(f, w, margins))
    boot = estimate(design_mod.Design(pd.concat([frame, final.frame()], axis=1),
                                      weight="final_wt", **final.design_kwargs()), "mean", "werk")
    se_boot = boot["se"].iloc[0]
    assert abs(se_boot - se_cal) < abs(se_boot - se_fixed)


def test_replicate_weights_from_a_design_equal_those_from_columns(clus1):
    des = design_mod.Design(clus1, weight="pw", psu="dnum")
    a = wt.replicate_weights(des, "bootstrap", replicates=5, seed=3)
    b = wt.replicate_weights(clus1, "bootstrap", weight="pw", psu="dnum", replicates=5, seed=3)
    assert np.array_equal(a.weights, b.weights) and a.scale == b.scale
    assert a.names()[:2] == ["repw_001", "repw_002"]


def test_spec_with_jk1_replicates_runs_the_chain_per_replicate():
    data = _toy(300, seed=5).assign(psu=lambda f: np.arange(len(f)) % 12)
    spec = {"design": {"base_weight": "w"}, "margins": {
        "variables": {"sex": "sex", "age": "age"}, "margins": ["sex", "age"]},
        "method": "rake", "replicates": {"method": "jk1", "psu": "psu"}}
    table = pd.DataFrame([{"sex": s, "age": a, "count": 100.0 * s + a}
                          for s in (1, 2) for a in (1, 2, 3, 4)])
    chain = wt.run_spec(spec, data, margins_table=table)
    reps = chain.replicates
    assert reps.method == "jk1" and reps.replicates == 12
    assert reps.scale == pytest.approx(11 / 12)
    for r in range(12):
        dropped = data["psu"].to_numpy() == r
        assert (reps.weights[dropped, r] == 0).all() and (reps.weights[~dropped, r] > 0).all()
        expected = wt.rake(data[~dropped], data["w"].to_numpy()[~dropped] * 12 / 11,
                           {"sex": {1: 410.0, 2: 810.0},
                            "age": {a: 300.0 + 2 * a for a in (1, 2, 3, 4)}})
        _close(reps.weights[~dropped, r], expected.weights.to_numpy(), rel=1e-12)


def test_replicate_that_cannot_hold_trim_bounds_keeps_raked_weights_with_a_note():
    # sex 2: four rows in PSU 0 and one in PSU 1; dropping PSU 0 (JK1 replicate 1) leaves one
    # row that must carry 100 > 50 * 10/9: trimming and raking cannot both hold there
    sex = np.r_[np.ones(95), np.full(5, 2.0)]
    psu = np.r_[np.arange(95) % 10, [0, 0, 0, 0, 1]].astype(float)
    data = pd.DataFrame({"sex": sex, "psu": psu, "w": 1.0})
    spec = {"design": {"base_weight": "w"},
            "margins": {"variables": {"sex": "sex"}, "margins": ["sex"]}, "method": "rake",
            "trim": {"upper": 50, "relative_to": "absolute"},
            "replicates": {"method": "jk1", "psu": "psu"}}
    table = pd.DataFrame({"sex": [1, 2], "count": [900.0, 100.0]})
    chain = wt.run_spec(spec, data, margins_table=table)
    reps = chain.replicates
    assert chain.weights.max() <= 50
    assert len(reps.notes) == 1 and reps.notes[0].startswith("1 of 10 replicates")
    for r in range(reps.replicates):  # every replicate holds the margins
        got = pd.Series(reps.weights[:, r]).groupby(sex).sum().to_numpy()
        _close(got, np.array([900.0, 100.0]), rel=1e-9)
    assert reps.weights[:, 0].max() == pytest.approx(100.0)  # raked, not trimmed
    assert reps.weights[:, 1:].max() <= 50 * 10 / 9 * (1 + 1e-6)  # the others are trimmed
    assert "1 of 10" in wt.report_tables(chain)["Replicaten"]["opmerking"].iloc[0]


def test_summary_table_names_groups_by_their_labels() -> None:
    table = wt.summary_table([1.0, 2.0, 3.0, 5.0], [2, 1, 2, 3], labels={1.0: "Belgisch", 2: "Marokkaans"})
    assert table["group"].tolist() == ["totaal", "1 Belgisch", "2 Marokkaans", "3"]
    assert table["sum"].tolist() == [11.0, 2.0, 4.0, 5.0]


# --------------------------------------------------------------------------- spec schema

SHIPPED_SPECS = sorted((Path(__file__).parents[1] / "sid" / "data" / "weighting").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_SPECS, ids=lambda p: p.name)
def test_shipped_specs_load_unchanged(path):
    import yaml

    spec = wt.load_spec(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert spec.source == str(path)
    assert spec.method == raw["method"] and spec.margins.within == (raw["margins"]["within"],)
    assert spec.trim is not None and spec.trim.relative_to == raw["trim"]["relative_to"]
    assert [list(c) for c in spec.margins.crosses] == raw["margins"]["margins"]
    assert spec.as_dict()["margins"]["variables"] == raw["margins"]["variables"] | {
        "leeftijdsgroep": {"from": raw["margins"]["variables"]["leeftijdsgroep"]["from"],
                           "breaks": [25.0, 35.0, 45.0, 55.0, 65.0]}}
    assert len(SHIPPED_SPECS) == 2


_SPEC_2022 = SHIPPED_SPECS[-1].read_text(encoding="utf-8") if SHIPPED_SPECS else ""

# (name, change to the shipped 2022 spec, line, path, what the one problem says)
BAD_SPECS = [
    ("trim_relative_to", ("relative_to: median", "relative_to: medain"), 32, "trim.relative_to",
     "'absolute', 'median' or 'mean' (got 'medain')"),
    ("within_unknown_in_list", ("within: herkomst ", "within: [herkomst, regio]"), 16,
     "margins.within", "'regio' not among margins.variables"),
    ("within_not_a_name", ("within: herkomst ", "within: 3"), 16, "margins.within",
     "give a name or a list of names"),
    ("replicates_text", (None, 'replicates: {replicates: "x"}'), 39, "replicates.replicates",
     "valid integer (got 'x')"),
    ("replicates_fraction", (None, "replicates: {replicates: 2.5}"), 39,
     "replicates.replicates", "valid integer (got 2.5)"),
    ("replicates_key", (None, "replicates: {replicate: 5}"), 39, "replicates.replicate",
     "did you mean 'replicates'?"),
    ("trim_key", ("upper: 5 ", "uper: 5 "), 30, "trim.uper", "did you mean 'upper'?"),
    ("trim_upper_text", ("upper: 5 ", "upper: veel "), 30, "trim.upper", "valid number"),
    ("variable_number", ("geslacht: geslacht\n", "geslacht: 3\n"), 19,
     "margins.variables.geslacht", "give a wave column"),
    ("breaks_text", ("breaks: [25, 35, 45, 55, 65]", "breaks: [25, x]"), 21,
     "margins.variables.leeftijdsgroep.breaks.1", "valid number"),
    ("margin_typo", ("- [gewest]", "- [gewset]"), 22, "margins.margins",
     "'gewset' (did you mean 'gewest'?)"),
    ("classes_mapping", ("classes: [stratum, geslacht]", "classes: {a: 1}"), 11,
     "nonresponse.classes", "give a name or a list of names"),
    ("nonresponse_flag", ("nonresponse:\n", "nonresponse: yes\nx_nr:\n"), 9, "nonresponse",
     "give a mapping with keys respondent, classes"),
    ("logit_without_bounds", ("method: rake", "method: logit"), 28, "method",
     "logit calibration needs bounds"),
    ("bounds_text", ("method: rake", "method: linear\nbounds: [a, 2]"), 29, "bounds.0",
     "valid number"),
    ("two_designs", ("base_weight: base_wt", "base_weight: base_wt\n  incl_prob: p"), 7,
     "design", "exactly one of base_weight, incl_prob and frame_counts"),
    ("filter_list", ('filter: {ref_date: "2022-01-01"}', "filter: {ref_date: [1, 2]}"), 14,
     "margins.filter.ref_date", "give a single value"),
    ("count_list", ("count: count", "count: [a, b]"), 15, "margins.count", "valid string"),
]


def _bad_spec(tmp_path: Path, change: tuple[str | None, str]) -> Path:
    old, new = change
    if old is None:
        text = _SPEC_2022 + new + "\n"
    else:
        assert _SPEC_2022.count(old) == 1, old
        text = _SPEC_2022.replace(old, new)
    if "x_nr:" in text:  # the nonresponse block's keys now belong to a dropped section
        text = text.replace("x_nr:\n  respondent: respons", "#").replace(
            "  classes: [stratum, geslacht]", "#")
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "change", "line", "where", "says"), BAD_SPECS,
                         ids=[c[0] for c in BAD_SPECS])
def test_bad_spec_is_one_problem_line(tmp_path, name, change, line, where, says):
    from sid.errors import CodebookError

    path = _bad_spec(tmp_path, change)
    with pytest.raises(CodebookError) as info:
        wt.load_spec(path)
    problems = info.value.problems
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:{line}: {where}: "), problems[0]
    assert says in problems[0]


def test_bad_spec_in_the_cli_is_one_line_and_exit_2(tmp_path):
    from click.testing import CliRunner

    from sid.cli import main

    path = _bad_spec(tmp_path, ("relative_to: median", "relative_to: medain"))
    result = CliRunner().invoke(main, ["weight", str(tmp_path / "w.sav"), "--spec", str(path),
                                       "--out", str(tmp_path / "o.sav")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{path}:32: trim.relative_to" in result.output


def test_every_problem_of_a_spec_at_once(tmp_path):
    from sid.errors import CodebookError

    path = tmp_path / "spec.yaml"
    path.write_text(_SPEC_2022.replace("relative_to: median", "relative_to: medain")
                    .replace("method: rake", "method: rakes") + "replicates: {seed: x}\n",
                    encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        wt.load_spec(path)
    assert len(info.value.problems) == 3


def test_run_spec_checks_a_mapping_like_a_file():
    from sid.errors import CodebookError

    spec = {"design": {"base_weight": "w"}, "margins": {"variables": {"sex": "sex"},
                                                        "margins": ["sex"], "within": "sx"}}
    with pytest.raises(CodebookError) as info:
        wt.run_spec(spec, _toy(), margins_table=pd.DataFrame({"sex": [1, 2], "count": [1, 1]}))
    assert len(info.value.problems) == 1
    assert "margins.within" in info.value.problems[0] and "'sx'" in info.value.problems[0]


# --------------------------------------------------------------------------- spec chain


def _within_table() -> pd.DataFrame:
    return pd.DataFrame([{"sex": s, "reg": r, "age": a, "count": 100.0 + 10 * s + 3 * r + a}
                         for s in (1, 2) for r in (1, 2) for a in (1, 2, 3, 4)])


def test_within_list_is_the_cross_of_its_groups():
    """within: [sex, reg] rakes (and trims relative to the median) per sex x reg group,
    exactly as one combined group variable does."""
    data = _toy(800, seed=11).assign(sr=lambda f: 10 * f["sex"] + f["reg"])
    trim = {"upper": 1.6, "lower": 0.7, "relative_to": "median"}
    two = {"design": {"base_weight": "w"}, "method": "rake", "trim": trim,
           "margins": {"variables": {"sex": "sex", "reg": "reg", "age": "age"},
                       "within": ["sex", "reg"], "margins": ["age"]}}
    table = _within_table()
    a = wt.run_spec(two, data, margins_table=table)
    one = {"design": {"base_weight": "w"}, "method": "rake", "trim": trim,
           "margins": {"variables": {"sr": "sr", "age": "age"}, "within": "sr",
                       "margins": ["age"]}}
    b = wt.run_spec(one, data, margins_table=table.assign(sr=10 * table["sex"] + table["reg"]))
    _close(a.weights.to_numpy(), b.weights.to_numpy(), rel=1e-12)
    assert a.steps[-1][0] == "trimmen"
    raked = wt.run_spec({k: v for k, v in two.items() if k != "trim"}, data, margins_table=table)
    ref = raked.weights.groupby([data["sex"], data["reg"]]).transform("median")
    assert (raked.weights / ref).max() > 1.6  # trimming has work to do
    ratio = a.weights / ref  # the bounds are relative to the raked weights' group median
    assert ratio.max() <= 1.6 * (1 + 1e-6) and ratio.min() >= 0.7 * (1 - 1e-6)
    assert a.group is not None and a.group.nunique() == 4


def test_trim_rake_conflict_is_a_typed_error():
    sex = np.r_[np.ones(95), np.full(5, 2.0)]
    data = pd.DataFrame({"sex": sex, "w": 1.0})
    with pytest.raises(wt.TrimBoundsConflict) as info:
        wt.trim_rake(data, "w", {"sex": {1: 900.0, 2: 100.0}}, upper=15.0, max_rounds=5)
    assert isinstance(info.value, WeightingError) and info.value.rounds == 5
    assert info.value.worst > 0


def test_calibration_record_holds_the_design_types(clus1, targets_table):
    """One set of calibration types: the record carries sid.design's entries directly."""
    ps = wt.poststratify(clus1, "pw", _margins(targets_table, "ps_clus1_stype"))
    rk = wt.rake(clus1, "pw", _margins(targets_table, "rake_clus1"))
    cal = wt.calibrate(clus1, "pw", _margins(targets_table, "cal_linear"))
    assert isinstance(ps.record.calibration[0], design_mod.PostStratification)
    assert isinstance(rk.record.calibration[0], design_mod.Raking)
    greg = cal.record.calibration[0]
    assert isinstance(greg, design_mod.GregCalibration)
    assert greg.aux.shape == (len(clus1), len(cal.record.params["columns"]))
    assert wt.design_calibration(ps, rk, cal) == (*ps.record.calibration,
                                                  *rk.record.calibration,
                                                  *cal.record.calibration)
    for old in ("PostStratInfo", "RakingInfo", "GregInfo"):
        assert not hasattr(wt, old)


# --------------------------------------------------------------------------- weights onto waves


def _harmonised(synthetic_dir):
    from sid.codebook import load_codebook
    from sid.harmonise import load
    from sid.resources import shipped

    cb = load_codebook(shipped("sid.yaml"))
    return load([str(synthetic_dir / "sid2022.sav")], cb), cb


def test_merge_weights_refuses_duplicate_ids_and_missing_respondents(synthetic_dir):
    from sid.io import read_wave
    from sid.weighting.apply import WeightFile, merge_weights

    data, cb = _harmonised(synthetic_dir)
    wave = read_wave(synthetic_dir / "sid2022.sav").data
    base = frozenset(wave.columns)
    good = wave.assign(final_wt=np.arange(len(wave), dtype=float) + 1)
    merged, name = merge_weights(data, cb, [WeightFile("2022", Path("w.sav"), good, base)], None)
    assert name == "_w_final_wt"
    assert merged.data[name].tolist() == good["final_wt"].tolist()  # same respondent order
    dup = pd.concat([good, good.iloc[:2]], ignore_index=True)
    msg = _err(merge_weights, data, cb, [WeightFile("2022", Path("w.sav"), dup, base)], None)
    assert "not unique in the weights file" in msg
    short = good.iloc[3:]
    msg = _err(merge_weights, data, cb, [WeightFile("2022", Path("w.sav"), short, base)], None)
    assert "3 respondent(s) of wave 2022 have no weight" in msg
    from sid.errors import InputError

    with pytest.raises(InputError, match="cannot tell which column"):
        merge_weights(data, cb, [WeightFile("2022", Path("w.sav"), good.assign(x=1.0), base)], None)


def test_weighted_wave_refuses_to_overwrite_a_column(synthetic_dir):
    from sid.errors import InputError
    from sid.io import read_wave
    from sid.weighting.apply import weighted_wave

    wave = read_wave(synthetic_dir / "sid2022.sav")
    spec = {"design": {"base_weight": "base_wt"}, "output": {"weight": "base_wt"},
            "margins": {"variables": {"geslacht": "geslacht"}, "margins": ["geslacht"]}}
    table = pd.DataFrame({"geslacht": [1, 2], "count": [500.0, 510.0]})
    chain = wt.run_spec(spec, wave.data, margins_table=table)
    with pytest.raises(InputError, match="already has column"):
        weighted_wave(wave, chain, where="w.sav")
    spec["output"] = {"weight": "eind"}
    out = weighted_wave(wave, wt.run_spec(spec, wave.data, margins_table=table))
    assert out.meta.variable("eind").label == "Eindgewicht (weging)"
    assert out.data["eind"].sum() == pytest.approx(1010.0)


# --------------------------------------------------------------------------- margins as data

_MARGIN_ROWS = [{"ref_date": d, "h": h, "s": s, "count": 100 * h + 10 * s + (d == "2022-01-01")}
                for d in ("2017-01-01", "2022-01-01") for h in (1, 2) for s in (1, 2)]


def _margins_csv(tmp_path: Path, edit=None, *, sep: str = ",", encoding: str = "utf-8",
                 header: str = "ref_date,h,s,count") -> Path:
    """The toy population CSV (two reference dates) with ``edit(lines)`` applied."""
    lines = [header] + [f"{r['ref_date']},{r['h']},{r['s']},{r['count']}" for r in _MARGIN_ROWS]
    if edit is not None:
        lines = edit(lines)
    if sep != ",":
        lines = [line.replace(",", sep) for line in lines]
    path = tmp_path / "margins.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _set_count(line_no: int, value: str):
    def edit(lines: list[str]) -> list[str]:
        out = list(lines)
        out[line_no - 1] = out[line_no - 1].rsplit(",", 1)[0] + "," + value
        return out
    return edit


def _table_problems(path: Path) -> tuple[str, ...]:
    from sid.weighting.population import PopulationTableError, read_population_csv

    with pytest.raises(PopulationTableError) as info:
        wt.margins_from_long(read_population_csv(path), ["s"], within="h",
                             filters={"ref_date": "2022-01-01"})
    assert all("\n" not in p for p in info.value.problems)
    return info.value.problems


def test_margins_csv_read_as_text_and_summed_as_numbers(tmp_path):
    from sid.weighting.population import read_population_csv

    table = read_population_csv(_margins_csv(tmp_path))
    assert table.index.tolist() == list(range(2, 10))  # line numbers of the file
    m = wt.margins_from_long(table, ["s"], within="h", filters={"ref_date": "2022-01-01"})
    assert m == {1: {"s": {1: 111.0, 2: 121.0}}, 2: {"s": {1: 211.0, 2: 221.0}}}


def test_text_count_in_a_filtered_row_is_an_error_naming_line_column_and_value(tmp_path):
    # line 2 is a 2017 row, which the 2022 filter drops: it is checked all the same
    problems = _table_problems(_margins_csv(tmp_path, _set_count(2, "veel")))
    assert problems == ("column 'count': not a number in 1 row(s): line 2: 'veel'",)


@pytest.mark.parametrize(("value", "says"), [
    ("", "blank (a missing count is not 0)"),
    ("NaN", "missing (NaN/NA"),
    ("NA", "missing (NaN/NA"),
    ("1e400", "too large"),
    ("9" * 400, "too large"),
    ("1e16", "too large"),
    ("inf", "too large"),
    ("-5", "negative"),
    ('"1,234"', "thousands separator"),
    ("1 234", "thousands separator"),
    ("12abc", "not a number"),
    ('"12,5"', "decimal comma in a ','-separated file"),
])
def test_every_bad_count_is_one_line(tmp_path, value, says):
    problems = _table_problems(_margins_csv(tmp_path, _set_count(7, value)))
    assert len(problems) == 1
    assert problems[0].startswith(f"column 'count': {says}"), problems[0]
    assert "line 7" in problems[0]


def test_all_problems_of_a_margins_file_at_once(tmp_path):
    def edit(lines):
        lines = _set_count(3, "")(lines)
        lines = _set_count(4, "x")(lines)
        lines = _set_count(5, "-1")(lines)
        return [*lines, lines[8]]  # line 10 repeats line 9
    path = _margins_csv(tmp_path, edit)
    from sid.weighting.population import PopulationTableError, read_population_csv

    with pytest.raises(PopulationTableError) as info:
        wt.margins_from_long(read_population_csv(path), ["s"], within="h")
    problems = info.value.problems
    assert [p.split(":")[1].strip().split(" ")[0] for p in problems[:3]] == [
        "blank", "not", "negative"]
    # a duplicated cell is reported once the counts are right
    good = _margins_csv(tmp_path, lambda lines: [*lines, lines[8]])
    problems = _table_problems(good)
    assert problems == ("the same cell (ref_date, h, s) is given twice: line 9 and line 10; "
                        "keep one row per cell",)


def test_wrong_headers_are_one_line_each(tmp_path):
    problems = _table_problems(_margins_csv(tmp_path, header="ref_date,h,s,cuont"))
    assert len(problems) == 1
    assert "column 'count' is not in the table (did you mean 'cuont'?)" in problems[0]
    from sid.weighting.population import PopulationTableError, read_population_csv

    for header, says in (("ref_date,h,,count", "have no name"),
                         ("ref_date,h,h,count", "given twice"),
                         ("2017,1,2,110", "no header row")):
        path = _margins_csv(tmp_path, header=header)
        with pytest.raises(PopulationTableError) as info:
            read_population_csv(path)
        assert len(info.value.problems) == 1 and says in info.value.problems[0]


def test_dutch_excel_csv_is_read_with_its_decimal_comma(tmp_path):
    from sid.weighting.population import read_population_csv

    plain = read_population_csv(_margins_csv(tmp_path))
    expect = wt.margins_from_long(plain, [("h", "s")])
    def dutch(value: str) -> Path:
        lines = _margins_csv(tmp_path, sep=";").read_text(encoding="utf-8").splitlines()
        lines[1] = lines[1].rsplit(";", 1)[0] + ";" + value  # line 2: 2017, h 1, s 1
        path = tmp_path / "dutch.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    got = wt.margins_from_long(read_population_csv(dutch("110,5")), [("h", "s")])
    assert got[("h", "s")][(1, 1)] == expect[("h", "s")][(1, 1)] + 0.5
    assert got[("h", "s")][(2, 2)] == expect[("h", "s")][(2, 2)]
    # a thousands separator in a Dutch file is refused, with that diagnosis
    problems = _table_problems(dutch("1.234"))
    assert len(problems) == 1 and "thousands separator" in problems[0] and "line 2" in problems[0]


@pytest.mark.parametrize(("content", "says"), [
    (b"", "file is empty"),
    (b"\n \n", "file is empty"),
    (b"ref_date,h,s,count\n2022-01-01,1,1,5,9\n", "different number of fields"),
    ("ref_date,h,s,count,bron\n2022-01-01,1,1,5,Statbel é\n".encode("latin-1"), "not UTF-8"),
    (b'ref_date,h,s,count\n"2022-01-01,1,1,5\n', "not valid CSV"),
])
def test_empty_ragged_or_latin1_margins_file_is_one_line(tmp_path, content, says):
    from sid.errors import SidError
    from sid.weighting.population import read_population_csv

    path = tmp_path / "m.csv"
    path.write_bytes(content)
    with pytest.raises(SidError) as info:
        read_population_csv(path)
    assert says in str(info.value)
    assert len(getattr(info.value, "problems", ())) <= 1


def test_margins_dataframe_with_text_count_never_gives_weights():
    """Today's defect: a text cell made the targets concatenated digits (weights 2.6e71)."""
    from sid.weighting.population import PopulationTableError

    table = pd.DataFrame(_MARGIN_ROWS).rename(columns={"h": "sex", "s": "reg"})
    spec = {"design": {"base_weight": "w"}, "margins": {
        "variables": {"sex": "sex", "reg": "reg"}, "margins": [["sex", "reg"]],
        "filter": {"ref_date": "2022-01-01"}}}
    table["count"] = table["count"].astype(str)  # numbers as text are read as numbers ...
    summed = wt.run_spec(spec, _toy(), margins_table=table).weights.sum()
    assert summed == pytest.approx(111 + 121 + 211 + 221, rel=1e-12)  # ... not concatenated
    table.loc[0, "count"] = "veel"  # text, in a row the filter drops
    with pytest.raises(PopulationTableError, match="not a number in 1 row"):
        wt.run_spec(spec, _toy(), margins_table=table)
    table.loc[0, "count"] = np.nan  # a blank is not 0
    with pytest.raises(PopulationTableError, match="missing"):
        wt.run_spec(spec, _toy(), margins_table=table)
    table.loc[0, "count"] = "110"
    w = wt.run_spec(spec, _toy(), margins_table=table).weights
    assert w.sum() == pytest.approx(111 + 121 + 211 + 221, rel=1e-12)


def test_cli_refuses_bad_margins_in_one_line_and_writes_nothing(tmp_path, synthetic_dir):
    from click.testing import CliRunner

    from sid.cli import main
    from sid.resources import shipped

    lines = (synthetic_dir / "population_margins.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0] + ",veel"  # a 2017 row: the 2022 filter drops it
    bad = tmp_path / "m.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = bad.read_bytes()
    result = CliRunner().invoke(main, [
        "weight", str(synthetic_dir / "sid2022.sav"), "--spec", str(shipped("weighting/sid2022.yaml")),
        "--gross", str(synthetic_dir / "sid2022_gross.sav"), "--margins", str(bad),
        "--out", str(tmp_path / "o.sav")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "line 2: 'veel'" in result.output
    assert not (tmp_path / "o.sav").exists() and bad.read_bytes() == before


# --------------------------------------------------------------------------- weights meet targets


def test_check_gaps_refuses_weights_off_their_targets():
    from sid.weighting.records import MarginGap, check_gaps

    good = (MarginGap("sex", "1", 100.0, 100.0 + 1e-9, 1e-11),)
    check_gaps(np.array([1.0, 2.0]), good, 1e-10, "here")
    with pytest.raises(WeightingError, match="miss 1 margin category"):
        check_gaps(np.array([1.0]), (MarginGap("sex", "1", 100.0, 101.0, 0.01),), 1e-10, "here")
    with pytest.raises(WeightingError, match="not finite"):
        check_gaps(np.array([1.0, np.inf]), good, 1e-10, "here")
    with pytest.raises(WeightingError, match="miss"):  # a NaN gap is a miss
        check_gaps(np.array([1.0]), (MarginGap("s", "1", 1.0, np.nan, np.nan),), 1e-10, "here")


def test_chain_refuses_to_return_weights_that_miss_a_margin(monkeypatch):
    """run_spec recomputes the margins from the final weights itself: a step that returned
    weights off target (simulated) is caught before the weights reach the user."""
    import sid.weighting.chain as chain_mod

    spec = {"design": {"base_weight": "w"}, "margins": {"variables": {"sex": "sex"},
                                                        "margins": ["sex"]}}
    table = pd.DataFrame({"sex": [1, 2], "count": [5200.0, 4800.0]})
    ok = wt.run_spec(spec, _toy(), margins_table=table)
    assert ok.weights.groupby(_toy()["sex"]).sum().tolist() == pytest.approx([5200, 4800],
                                                                              rel=1e-12)
    real = chain_mod.calibration_step

    def off_target(plan, sub, w):
        res = real(plan, sub, w)
        return wt.WeightingResult(res.weights * (1 + 1e-6), res.record)

    monkeypatch.setattr(chain_mod, "calibration_step", off_target)
    with pytest.raises(WeightingError, match="final weights.*miss 2 margin categories"):
        wt.run_spec(spec, _toy(), margins_table=table)


# --------------------------------------------------------------------------- collapsing


@pytest.mark.parametrize(("n", "targets", "min_n", "classes"), [
    ([50, 40, 30, 0], [1, 1, 1, 1], 5, [[0], [1], [2, 3]]),
    ([0, 40, 30, 20], [1, 1, 1, 1], 5, [[0, 1], [2], [3]]),
    ([30, 2, 10, 40], [1, 1, 1, 1], 5, [[0], [1, 2], [3]]),  # the smaller neighbour
    ([10, 2, 10, 40], [1, 1, 1, 1], 5, [[0, 1], [2], [3]]),  # a tie: the lower one
    ([1, 1, 1], [1, 1, 1], 5, [[0, 1, 2]]),  # everything merges, still thin: left as is
    ([50, 0, 30], [1, 0, 1], 5, [[0], [1], [2]]),  # a target of 0 needs no respondents
    ([50, 4, 30], [1, 1, 1], 5, [[0], [1, 2]]),
])
def test_merge_adjacent_rule(n, targets, min_n, classes):
    from sid.weighting.collapse import merge_adjacent

    assert merge_adjacent(n, targets, min_n) == classes


def _collapse_case(n_old_women: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Two groups x sex x 3 age bands; group 2's women have ``n_old_women`` in band 3."""
    rng = np.random.default_rng(5)
    rows = []
    for g in (1, 2):
        for s in (1, 2):
            for a in (1, 2, 3):
                k = n_old_women if (g, s, a) == (2, 2, 3) else 30
                rows += [{"g": g, "sex": s, "age": 20 * a, "reg": rng.integers(1, 3),
                          "w": rng.uniform(1, 3)} for _ in range(k)]
    data = pd.DataFrame(rows).astype(float)
    table = pd.DataFrame([{"g": g, "sex": s, "band": a, "reg": r, "count": 100 * g + 10 * a + 3 * r + s}
                          for g in (1, 2) for s in (1, 2) for a in (1, 2, 3) for r in (1, 2)])
    spec = {"design": {"base_weight": "w"}, "method": "rake",
            "margins": {"variables": {"g": "g", "sex": "sex", "reg": "reg",
                                      "band": {"from": "age", "breaks": [30, 50]}},
                        "within": "g", "margins": [["sex", "band"], ["reg"]],
                        "collapse": {"variables": ["band"], "min_n": 5}},
            "trim": {"upper": 4, "lower": 0.25, "relative_to": "median"}}
    return data, table, spec


def test_empty_margin_cell_is_collapsed_with_its_neighbour_and_recorded():
    """Seed 84's failure in small: no respondent in one group's oldest women."""
    data, table, spec = _collapse_case(0)
    no_rule = {**spec, "margins": {k: v for k, v in spec["margins"].items() if k != "collapse"}}
    with pytest.raises(WeightingError, match="target categories with no respondents"):
        wt.run_spec(no_rule, data, margins_table=table)
    chain = wt.run_spec(spec, data, margins_table=table)
    (cell,) = chain.collapsed
    assert (cell.margin, cell.variable, cell.categories, cell.label) == (
        "g x sex x band", "band", (2, 3), "2+3")
    assert cell.at == (("g", 2), ("sex", 2)) and cell.respondents == (30, 0)
    merged_target = sum(100 * 2 + 10 * a + 3 * r + 2 for a in (2, 3) for r in (1, 2))
    assert sum(cell.targets) == merged_target
    rec = dict(chain.steps)["rake"]
    assert rec.params["collapsed"][0]["label"] == "2+3"
    assert any("merged into 2+3" in note for note in rec.notes)
    gaps = rec.gaps_frame()
    row = gaps[gaps["category"] == "2 x 2 x 2+3"]
    assert row["target"].item() == merged_target
    w = chain.weights
    women2 = (data["g"] == 2) & (data["sex"] == 2) & (data["age"] >= 30)
    assert w[women2].sum() == pytest.approx(merged_target, rel=1e-9)
    assert w.sum() == pytest.approx(table["count"].sum(), rel=1e-12)


def test_collapse_leaves_well_filled_margins_unchanged():
    data, table, spec = _collapse_case(30)
    no_rule = {**spec, "margins": {k: v for k, v in spec["margins"].items() if k != "collapse"}}
    a = wt.run_spec(spec, data, margins_table=table)
    b = wt.run_spec(no_rule, data, margins_table=table)
    assert a.collapsed == ()
    assert a.weights.tolist() == b.weights.tolist()


def test_collapse_spec_is_checked():
    from sid.errors import CodebookError

    data, table, spec = _collapse_case(30)
    for collapse, says in (({"variables": ["bnad"], "min_n": 5}, "'bnad' not among"),
                           ({"variables": ["g"], "min_n": 5}, "is a within group"),
                           ({"variables": "band", "min_n": 0}, "greater than or equal to 1"),
                           ({"variables": "band", "min_n": "5"}, "valid integer"),
                           ({"variables": "band"}, "min_n")):
        bad = {**spec, "margins": {**spec["margins"], "collapse": collapse}}
        with pytest.raises(CodebookError) as info:
            wt.run_spec(bad, data, margins_table=table)
        assert len(info.value.problems) == 1 and says in info.value.problems[0], info.value.problems


# --------------------------------------------------------------------------- bounded trimming


def test_trimming_meets_bounds_and_margins_and_is_the_nearest_such_weights():
    """Bounded calibration solves min sum w log(w/d) - w + d subject to the margins and the
    bounds: compared with a general-purpose optimiser on a small problem."""
    from scipy.optimize import minimize

    from sid.weighting.bounded import bounded_rake

    rng = np.random.default_rng(2)
    n = 40
    data = pd.DataFrame({"a": rng.integers(1, 3, n).astype(float),
                         "b": rng.integers(1, 4, n).astype(float)})
    d = np.exp(rng.normal(0, 0.8, n)) * 10
    margins = {"a": {1: 300.0, 2: 250.0}, "b": {1: 200.0, 2: 180.0, 3: 170.0}}
    raked = wt.rake(data, d, margins).weights.to_numpy()
    lo, hi = 0.3 * np.median(raked), 3.3 * np.median(raked)
    assert raked.max() > hi  # trimming has work to do
    res = bounded_rake(data, raked, margins, lower=lo, upper=hi)
    w = res.weights.to_numpy()
    assert res.record.params["widened"] == 0 and not res.record.params["untrimmed"]
    assert w.max() <= hi * (1 + 1e-12) and w.min() >= lo * (1 - 1e-12)
    for var, targets in margins.items():
        got = pd.Series(w).groupby(data[var].to_numpy()).sum()
        assert got.to_dict() == pytest.approx({float(k): v for k, v in targets.items()},
                                              rel=1e-10)

    def dist(v):
        return float(np.sum(v * np.log(v / raked) - v + raked))

    cons = [{"type": "eq", "fun": lambda v, var=var, k=k, t=t: v[data[var].to_numpy() == k].sum() - t}
            for var, targets in margins.items() for k, t in targets.items()][:-1]  # independent
    ref = minimize(dist, np.clip(raked, lo, hi), bounds=[(lo, hi)] * n, constraints=cons,
                   method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    assert ref.success
    assert dist(w) <= dist(ref.x) * (1 + 1e-6)
    np.testing.assert_allclose(w, ref.x, rtol=1e-4)


def test_trimming_keeps_weights_already_within_the_bounds():
    from sid.weighting.bounded import bounded_rake

    d = _toy()
    raked = wt.rake(d, "w", TOY_MARGINS).weights.to_numpy()
    res = bounded_rake(d, raked, TOY_MARGINS, lower=raked.min() / 2, upper=raked.max() * 2)
    assert res.weights.tolist() == raked.tolist()
    assert res.record.iterations == 0


def test_trimming_that_cannot_hold_with_the_margins_widens_the_bounds_and_says_so():
    """Seeds 180 and 220 in small: trim-and-rerake cycles, bounded calibration terminates."""
    from sid.weighting.bounded import bounded_rake

    sex = np.r_[np.ones(95), np.full(5, 2.0)]
    data = pd.DataFrame({"sex": sex, "w": 1.0})
    margins = {"sex": {1: 900.0, 2: 100.0}}
    with pytest.raises(wt.TrimBoundsConflict):
        wt.trim_rake(data, "w", margins, upper=15.0, max_rounds=50)
    res = bounded_rake(data, "w", margins, upper=12.0)
    p = res.record.params
    assert p["widened"] == 2 and p["bounds_factor"] == pytest.approx(2.25)  # 12 x 2.25 >= 20
    assert "widened to lower / 2.25 and upper x 2.25" in res.record.notes[0]
    w = res.weights
    assert w[sex == 2].tolist() == pytest.approx([20.0] * 5, rel=1e-10)
    assert w.groupby(sex).sum().tolist() == pytest.approx([900.0, 100.0], rel=1e-12)
    # nothing can hold a bound below the mean weight: the calibrated weights are kept, stated
    raked = wt.rake(data, "w", margins).weights
    res = bounded_rake(data, raked, margins, upper=1.0, max_widen=1)
    assert res.record.params["untrimmed"] and res.weights.tolist() == raked.tolist()
    assert "kept untrimmed" in res.record.notes[0]


def test_chain_trims_with_bounded_calibration_within_groups():
    data, table, spec = _collapse_case(30)
    spec = {**spec, "trim": {"upper": 1.5, "lower": 0.6, "relative_to": "median"}}
    chain = wt.run_spec(spec, data, margins_table=table)
    label, rec = chain.steps[-1]
    assert label == "trimmen" and rec.method == "bounded_rake"
    assert rec.params["outside_given"] > 0 and rec.params["widened"] == 0  # work to do ...
    ref = wt.run_spec({k: v for k, v in spec.items() if k != "trim"}, data,
                      margins_table=table).weights.groupby(data["g"]).transform("median")
    ratio = chain.weights / ref
    assert ratio.max() <= 1.5 * (1 + 1e-9) and ratio.min() >= 0.6 * (1 - 1e-9)  # ... done
    assert chain.weights.groupby([data["g"], data["reg"]]).sum().tolist() == pytest.approx(
        table.groupby(["g", "reg"])["count"].sum().tolist(), rel=1e-10)


def test_redistribute_in_a_spec_is_refused_with_the_reason():
    from sid.errors import CodebookError

    data, table, spec = _collapse_case(30)
    bad = {**spec, "trim": {**spec["trim"], "redistribute": "additive"}}
    with pytest.raises(CodebookError, match="bounded calibration"):
        wt.run_spec(bad, data, margins_table=table)


# --------------------------------------------------------------------------- spec: wrong types


def _spec_variants() -> list[dict]:
    """The shipped 2022 spec, plus one with every optional section (replicates, frame counts,
    calibration bounds) so that every key of the schema is exercised."""
    import yaml

    base = yaml.safe_load(_SPEC_2022)
    full = {**base, "replicates": {"method": "bootstrap", "replicates": 20, "seed": 1,
                                   "strata": "stratum", "psu": "psu", "mse": False,
                                   "prefix": "repw_"},
            "design": {"frame_counts": {"file": "f.csv", "strata": ["stratum"], "count": "n"}},
            "method": "logit", "bounds": [0.5, 2.0], "output": {"weight": "w"}}
    return [base, full]


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
        yield path, node
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield from _leaves(value, (*path, k))
        yield path, node
    else:
        yield path, node


def test_every_wrong_type_anywhere_in_a_spec_is_one_line_at_its_place(tmp_path):
    """A mapping where a value belongs, a list or a number where a mapping belongs, at every
    place of the schema: one problem each, ``file:line: dotted.path: message``, never a
    traceback (the outside campaign found 27 such places ending in a traceback)."""
    import copy
    import re

    import yaml

    from sid.errors import CodebookError

    checked = 0
    for variant in _spec_variants():
        for path, value in list(_leaves(variant)):
            if not path:
                continue
            wrong_values = [[1, 2], 3] if isinstance(value, dict) else [{"a": 1}]
            for wrong in wrong_values:
                doc = copy.deepcopy(variant)
                node = doc
                for part in path[:-1]:
                    node = node[part]
                node[path[-1]] = wrong
                spec_file = tmp_path / "spec.yaml"
                spec_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
                with pytest.raises(CodebookError) as info:
                    wt.load_spec(spec_file)
                problems = info.value.problems
                dotted = ".".join(str(p) for p in path)
                assert len(problems) >= 1 and all("\n" not in p for p in problems), problems
                assert any(re.match(rf"{re.escape(str(spec_file))}:\d+: {re.escape(dotted)}\b", p)
                           for p in problems), (dotted, wrong, problems)
                checked += 1
    assert checked > 100


@pytest.mark.parametrize(("change", "says"), [
    ({"replicates": {"replicates": 10**30}}, "less than or equal to 10000"),
    ({"trim": {"upper": float("inf")}}, "finite number"),
    ({"trim": {"upper": float("nan")}}, "finite number"),
    ({"margins": {"variables": {"leeftijdsgroep": {"from": "lft", "breaks": [25, float("nan")]}}}},
     "finite numbers"),
    ({"trim": {"upper": 5, "lower": 0.2, "relative_to": "median", "redistribute": "additive"}},
     "no longer applies"),
    # pandas refused a repeated name with a traceback ("Grouper ... not 1-dimensional")
    ({"nonresponse": {"respondent": "respons", "classes": ["stratum", "stratum"]}},
     "'stratum' given twice"),
])
def test_spec_values_that_would_hurt_later_are_refused_on_loading(tmp_path, change, says):
    import yaml

    from sid.errors import CodebookError

    doc = yaml.safe_load(_SPEC_2022)
    for key, value in change.items():
        doc[key] = {**doc.get(key, {}), **value} if key == "margins" else value
    if "margins" in change:
        doc["margins"]["variables"] = {**yaml.safe_load(_SPEC_2022)["margins"]["variables"],
                                       **change["margins"]["variables"]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(CodebookError) as info:
        wt.load_spec(path)
    assert len(info.value.problems) == 1 and says in info.value.problems[0], info.value.problems


def test_margins_with_points_as_thousands_separators_are_refused(tmp_path: Path) -> None:
    """4.042 in a file whose every count with a point reads 1.234 or 1.234.567 is Dutch for
    4042: refused with the diagnosis, never taken as four."""
    from sid.errors import SidError
    from sid.weighting.population import check_population_table, read_population_csv

    path = tmp_path / "m.csv"
    path.write_text("herkomst,geslacht,count\n1,1,4.042\n1,2,3.981\n2,1,12.004.510\n",
                    encoding="utf-8")
    with pytest.raises(SidError) as info:
        check_population_table(read_population_csv(path), count="count",
                               columns=["herkomst", "geslacht"])
    assert "thousands separator" in info.value.line() and "3 row(s)" in info.value.line()
    path.write_text("herkomst,geslacht,count\n1,1,4.5\n1,2,3.981\n", encoding="utf-8")
    ok = check_population_table(read_population_csv(path), count="count",
                                columns=["herkomst", "geslacht"])
    assert ok["count"].tolist() == [4.5, 3.981]  # real decimals elsewhere: a decimal point


def test_package_names_load_their_module_on_first_use() -> None:
    """sid.weighting's names are loaded on first use (PEP 562), so `sid tables` merges
    weights and reads lineage without the spec's pydantic models, the chain or the report
    (issue 14, start-up); every public name still resolves, to its module's object."""
    import importlib
    import subprocess
    import sys

    code = ("import sys, sid.weighting.apply, sid.weighting.lineage\n"
            "print(sorted(m for m in sys.modules if m in ('sid.weighting.spec', "
            "'sid.weighting.chain', 'sid.weighting.report', 'sid.weighting.raking')))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
    import sid.weighting as package

    for name in package.__all__:
        home = importlib.import_module(f"sid.weighting.{package._HOME[name]}")
        assert getattr(package, name) is getattr(home, name), name
    assert sorted(dir(package)) == sorted(package.__all__)
    assert set(package._HOME) == set(package.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        package.nosuch  # noqa: B018
