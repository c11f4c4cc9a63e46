"""sid.estimate against R's survey package (golden numbers in tests/reference/).

Every case of ``tests/reference/estimate_cases.yaml`` (made by
``tests/reference/estimate_golden.R``; each case's ``r`` field holds the R call)
is run through :func:`sid.estimate.estimate` and compared with
``estimate_golden.csv`` at relative tolerance 1e-9. Identity tests check what
no single golden number would (domain mean == ratio, zero-weighting ==
deleting rows for estimates, proportions sum to 1).
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sid.design import Design
from sid.errors import EstimationError
from sid.estimate import COLUMNS, compare, estimate, label

REF = Path(__file__).parent / "reference"
DATA = REF / "data"
REL = 1e-9


@cache
def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, keep_default_na=False, na_values=[""])


def _cases(name: str) -> list[dict]:
    path = REF / name
    if not path.exists():
        return []
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


CASES = _cases("estimate_cases.yaml")
CONTRASTS = _cases("estimate_contrasts.yaml")


def _design(case: dict) -> Design:
    spec = dict(case["design"])
    if isinstance(spec.get("rscales"), str):
        spec["rscales"] = pd.read_csv(DATA / spec["rscales"]).iloc[:, 0].to_numpy()
    return Design.from_mapping(_data(case["data"]), spec)


def _close(got: float, want: float, rel: float = REL) -> bool:
    if isinstance(want, str) or want is None or (isinstance(want, float) and math.isnan(want)):
        return isinstance(got, float) and math.isnan(got)
    if math.isinf(want):
        return got == want
    return math.isclose(got, want, rel_tol=rel, abs_tol=1e-12 * max(1.0, abs(want)) if want == 0
                        else 0.0)


def _run(case: dict) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimate(
            _design(case), case["stat"], case["var"], by=case.get("by"), where=case.get("where"),
            ci=case.get("ci"), conf_level=case.get("conf_level", 0.95),
            deff=bool(case.get("deff", False)), q=case.get("q"),
        )


@pytest.mark.skipif(not CASES, reason="no golden catalogue")
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case: dict) -> None:
    golden = pd.read_csv(REF / "estimate_golden.csv", keep_default_na=False, dtype=str)
    want = golden[golden["case"] == case["id"]]
    assert len(want), "no golden rows"
    got = _run(case)
    by = case.get("by") or []
    keys = (got[by].apply(lambda r: "|".join(label(v) for v in r), axis=1) if by
            else pd.Series([""] * len(got)))
    got = got.assign(by_key=keys.to_numpy())
    assert len(got) == len(want), (got[["by_key", "category"]], want[["by_key", "category"]])
    for _, w in want.iterrows():
        row = got[(got["by_key"] == w["by_key"]) & (got["category"] == w["category"])]
        assert len(row) == 1, f"no result for by={w['by_key']!r} category={w['category']!r}"
        row = row.iloc[0]
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "deff"):
            if col == "deff" and w[col] == "NA":
                continue
            wv = float(w[col]) if w[col] != "NA" else float("nan")
            assert _close(float(row[col]), wv), (
                f"{case['id']} [{w['by_key']}|{w['category']}] {col}: got {row[col]!r}, R {wv!r}")


@pytest.mark.skipif(not CONTRASTS, reason="no contrast catalogue")
@pytest.mark.parametrize("case", CONTRASTS, ids=[c["id"] for c in CONTRASTS])
def test_golden_contrasts(case: dict) -> None:
    golden = pd.read_csv(REF / "estimate_contrasts.csv", keep_default_na=False, dtype=str)
    want = golden[golden["case"] == case["id"]]
    got = compare(_design(case), case["stat"], case["var"], by=case["by"],
                  reference=case["reference"], where=case.get("where"))
    assert len(got) == len(want)
    for _, w in want.iterrows():
        by = case["by"][0] if isinstance(case["by"], list) else case["by"]
        row = got[got[by].map(label) == w["group"]].iloc[0]
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "p_value"):
            assert _close(float(row[col]), float(w[col])), (case["id"], w["group"], col)


# --------------------------------------------------------------------------- identities


@pytest.fixture(scope="module")
def strat() -> Design:
    return Design(_data("estimate_apistrat.csv"), weight="pw", strata="stype", fpc="fpc")


def test_schema_fixed(strat: Design) -> None:
    out = estimate(strat, "mean", "api00", by="stype")
    assert tuple(out.columns) == ("stype", *COLUMNS)
    assert out["ci_method"].eq("t").all()
    assert out["n"].sum() == 200


def test_domain_mean_equals_ratio(strat: Design) -> None:
    """R's tests/domain.R: a domain mean is the ratio of y*I(domain) to I(domain)."""
    data = strat.data.assign(ind=(strat.data["stype"] == "E").astype(float))
    data["y_e"] = data["api00"] * data["ind"]
    d2 = Design(data, weight="pw", strata="stype", fpc="fpc")
    m = estimate(d2, "mean", "api00", where="stype == 'E'")
    r = estimate(d2, "ratio", "y_e/ind")
    assert m["estimate"].iloc[0] == pytest.approx(r["estimate"].iloc[0], rel=1e-12)
    assert m["se"].iloc[0] == pytest.approx(r["se"].iloc[0], rel=1e-10)


def test_where_equals_by_row(strat: Design) -> None:
    by = estimate(strat, "proportion", "awards", by="stype")
    wh = estimate(strat, "proportion", "awards", where=strat.data["stype"].eq("H").to_numpy())
    sub = by[by["stype"] == "H"].reset_index(drop=True)
    for col in ("estimate", "se", "ci_low", "ci_high", "df"):
        np.testing.assert_allclose(sub[col], wh[col], rtol=1e-12)


def test_proportions_sum_to_one(strat: Design) -> None:
    out = estimate(strat, "proportion", "mealcat", by="awards", ci="xlogit")
    sums = out.groupby("awards")["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    # logit: svyciprop's estimate expit(coef) keeps glm's convergence error (< 1e-7)
    lg = estimate(strat, "proportion", "mealcat", by="awards")
    np.testing.assert_allclose(lg.groupby("awards")["estimate"].sum(), 1.0, rtol=1e-7)
    np.testing.assert_allclose(lg["estimate"], out["estimate"], rtol=1e-7)
    np.testing.assert_array_equal(lg["se"], out["se"])  # svyciprop's var is svymean's


# --------------------------------------------------------------------------- logit (svyglm)


def test_logit_stops_where_glm_stops(strat: Design) -> None:
    """R's IRLS stops per domain at |dev - devold| / (|dev| + 0.1) < 1e-8: the logit CI
    differs from the exact fixed point (the closed form, xlogit) by more than 1e-9 in the
    small H domain, and one more Newton step lands on the fixed point."""
    from sid.estimate import _irls, svyglm_logit
    from sid.variance import LinearForm

    h = strat.data["stype"].eq("H").to_numpy()
    lg = estimate(strat, "proportion", "mealcat", where=h)
    xl = estimate(strat, "proportion", "mealcat", where=h, ci="xlogit")
    rel = np.abs(lg["ci_low"] - xl["ci_low"]) / xl["ci_low"]
    assert rel.max() > 1e-9 and rel.max() < 1e-7
    rows = np.flatnonzero(h)
    y = (strat.data["mealcat"].to_numpy()[rows] == 3).astype(float)
    form = LinearForm(rows, np.zeros(len(rows), dtype=np.int64), y, np.ones(len(rows)), 1)
    fit = svyglm_logit(strat, form)
    assert fit.converged.all() and fit.iterations[0] == 4  # R: svyglm(...)$iter == 4
    p = np.sum(strat.w[rows] * y) / np.sum(strat.w[rows])
    assert abs(fit.coef[0] - np.log(p / (1 - p))) > 1e-9
    a = strat.w[rows] / strat.w[rows].mean()
    assert _irls(y, a, np.zeros(len(y), dtype=np.int64), 1).coef[0] == fit.coef[0]


def test_logit_domains_fit_independently(strat: Design) -> None:
    """All domains and categories are fitted at once, each stopping at its own iteration:
    the same numbers as fitting one domain at a time."""
    by = estimate(strat, "proportion", "mealcat", by="stype")
    for g in ("E", "H", "M"):
        one = estimate(strat, "proportion", "mealcat", where=strat.data["stype"].eq(g).to_numpy())
        sub = by[by["stype"] == g].reset_index(drop=True)
        for col in ("estimate", "ci_low", "ci_high"):
            np.testing.assert_allclose(sub[col], one[col], rtol=1e-14, err_msg=f"{g} {col}")


def test_zero_weight_rows_do_not_change_estimates() -> None:
    """Extra rows with weight 0 inside existing PSUs change neither estimate nor SE nor df."""
    data = _data("estimate_apiclus1.csv")
    d1 = Design(data, weight="pw", psu="dnum", fpc="fpc")
    extra = data.iloc[:5].assign(pw=0.0, api00=9999.0)
    d2 = Design(pd.concat([data, extra], ignore_index=True), weight="pw", psu="dnum", fpc="fpc")
    a = estimate(d1, "mean", "api00", by="awards")
    b = estimate(d2, "mean", "api00", by="awards")
    for col in ("estimate", "se", "df", "n"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-12)


def test_missing_counted_and_outside_domain() -> None:
    d = Design(_data("estimate_apistrat_na.csv"), weight="pw", strata="stype", fpc="fpc")
    out = estimate(d, "mean", "api00")
    n_na = int(d.data["api00"].isna().sum())
    assert out["n_missing"].iloc[0] == n_na
    assert out["n"].iloc[0] == len(d.data) - n_na


def test_empty_domain_warns(strat: Design) -> None:
    data = strat.data.assign(y=np.where(strat.data["stype"] == "H", np.nan, strat.data["api00"]))
    d = Design(data, weight="pw", strata="stype", fpc="fpc")
    with pytest.warns(UserWarning, match="empty domain"):
        out = estimate(d, "mean", "y", by="stype")
    h = out[out["stype"] == "H"].iloc[0]
    assert h["n"] == 0 and math.isnan(h["estimate"])


def test_bad_ci_for_mean(strat: Design) -> None:
    with pytest.raises(EstimationError, match="proportions only"):
        estimate(strat, "mean", "api00", ci="logit")


def test_unknown_variable(strat: Design) -> None:
    with pytest.raises(EstimationError, match="not in the data"):
        estimate(strat, "mean", "nope")


def test_compare_matches_difference(strat: Design) -> None:
    est = estimate(strat, "mean", "api00", by="stype")
    cmp = compare(strat, "mean", "api00", by="stype", reference="E")
    e = est.set_index("stype")["estimate"]
    got = cmp.set_index("stype")["estimate"]
    assert got["H"] == pytest.approx(e["H"] - e["E"], rel=1e-12)
    # strata are independent: var(diff) = var(H) + var(E)
    s = est.set_index("stype")["se"]
    assert cmp.set_index("stype")["se"]["M"] == pytest.approx(
        math.sqrt(s["M"] ** 2 + s["E"] ** 2), rel=1e-10)


def test_cli_csv_matches_golden(tmp_path: Path) -> None:
    """`sid estimate --format csv` gives the fixed schema and R's numbers."""
    from click.testing import CliRunner

    from sid.cli import main

    case = next(c for c in CASES if c["id"] == "strat_mean_api00_by_stype_deff")
    design = tmp_path / "design.yaml"
    design.write_text(yaml.safe_dump(case["design"]), encoding="utf-8")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(main, ["estimate", str(DATA / case["data"]), "--design", str(design),
                                    "--mean", "api00", "--by", "stype", "--deff",
                                    "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, keep_default_na=False)
    assert tuple(got.columns) == ("stype", *COLUMNS)
    golden = pd.read_csv(REF / "estimate_golden.csv", keep_default_na=False, dtype=str)
    want = golden[golden["case"] == case["id"]].set_index("by_key")
    for _, row in got.iterrows():
        for col in ("estimate", "se", "ci_low", "ci_high", "df", "deff"):
            assert _close(float(row[col]), float(want.loc[row["stype"], col])), col


def test_cli_bad_input_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sid.cli import main

    res = CliRunner().invoke(main, ["estimate", str(DATA / "estimate_apistrat.csv"),
                                    "--weight", "pw", "--strata", "nope", "--mean", "api00"])
    assert res.exit_code == 2
    assert "strata variable 'nope' is not in the data" in res.output
    res = CliRunner().invoke(main, ["estimate", str(DATA / "estimate_apistrat.csv"),
                                    "--weight", "pw", "--mean", "api00", "--total", "enroll"])
    assert res.exit_code == 2 and "exactly one statistic" in res.output


def test_compare_waves_independent() -> None:
    """Two waves stacked with wave-specific strata: the change has var = var_a + var_b."""
    a = _data("estimate_apistrat.csv").assign(wave=2017)
    b = _data("estimate_apistrat_na.csv").assign(wave=2022)
    both = pd.concat([a, b], ignore_index=True)
    both["h"] = both["wave"].astype(str) + both["stype"]
    d = Design(both, weight="pw", strata="h", fpc="fpc")
    cmp = compare(d, "mean", "api00", by="wave", reference=2017, within="awards")
    est = estimate(d, "mean", "api00", by=["awards", "wave"]).set_index(["awards", "wave"])
    for _, row in cmp.iterrows():
        hi, lo = est.loc[(row["awards"], 2022)], est.loc[(row["awards"], 2017)]
        assert row["estimate"] == pytest.approx(hi["estimate"] - lo["estimate"], rel=1e-12)
        # strata nested in waves: the full covariance already has no cross-wave term
        assert row["se"] == pytest.approx(math.hypot(hi["se"], lo["se"]), rel=1e-10)
    ind = compare(d, "mean", "api00", by="wave", reference=2017, within="awards",
                  independent=True)
    np.testing.assert_allclose(ind["se"], cmp["se"], rtol=1e-12)


def test_cli_sid_wave_workplace_item(tmp_path: Path) -> None:
    """The issue's check: the workplace item by origin group, base those in work, logit CIs."""
    synthetic = pytest.importorskip("sid.synthetic")
    from click.testing import CliRunner

    from sid.cli import main
    from sid.io import write_wave

    wave = synthetic.make_wave_frame(3000, wave=2022)
    path = tmp_path / "sid2022.sav"
    write_wave(wave, path)
    res = CliRunner().invoke(main, [
        "estimate", str(path), "--weight", "base_wt", "--strata", "stratum", "--psu", "psu",
        "--prop", "werkbeh", "--by", "herkomst_frame", "--where", "werksituatie in [1, 2]",
        "--format", "csv"])
    assert res.exit_code == 0, res.output
    got = pd.read_csv(__import__("io").StringIO(res.output))
    assert set(got["ci_method"]) == {"logit"}
    assert sorted(got["herkomst_frame"].unique()) == [1, 2, 3, 4, 5, 6, 7]
    assert set(got["category"]) == {1, 2, 3}  # WN/GA (-8/-9) and NVT (-1) are missing
    # the same numbers as the Python API on the same design and base
    design = Design(wave, weight="base_wt", strata="stratum", psu="psu")
    api = estimate(design, "proportion", "werkbeh", by="herkomst_frame",
                   where="werksituatie in [1, 2]")
    np.testing.assert_allclose(got["estimate"], api["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["ci_low"], api["ci_low"], rtol=1e-12)
    assert (got["n"] > 0).all() and (got["ci_low"] < got["estimate"]).all()
