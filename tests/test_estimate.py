"""sid.estimation against R's survey package (golden numbers in tests/reference/).

Every case of ``tests/reference/estimate_cases.yaml`` (made by
``tests/reference/estimate_golden.R``; each case's ``r`` field holds the R call)
is run through :func:`sid.estimation.estimate` and compared with
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
from conftest import golden_params
from hypothesis import given, settings
from hypothesis import strategies as st

from sid.design import Design
from sid.errors import EstimationError
from sid.estimation import COLUMNS, compare, estimate, label

REF = Path(__file__).parent / "reference"
DATA = REF / "data"
REL = 1e-9


@cache
def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, keep_default_na=False, na_values=[""])


def _cases(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


# A missing catalogue gives one failing case (conftest.golden_params), never a skip.
CASES = golden_params("estimate_cases.yaml", _cases, lambda c: c["id"])
CONTRASTS = golden_params("estimate_contrasts.yaml", _cases, lambda c: c["id"])


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
            ci=case.get("ci"),
            conf_level=case.get("conf_level", 0.95),
            deff=bool(case.get("deff", False)), q=case.get("q"),
        )


@pytest.mark.parametrize("case", CASES)
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


@pytest.mark.parametrize("case", CONTRASTS)
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
    # svyciprop's var is svymean's (for logit it comes out of the fit's own engine call:
    # equal up to rounding)
    np.testing.assert_allclose(lg["se"], out["se"], rtol=1e-12)


# --------------------------------------------------------------------------- logit (svyglm)


def test_logit_stops_where_glm_stops(strat: Design) -> None:
    """R's IRLS stops per domain at |dev - devold| / (|dev| + 0.1) < 1e-8: the logit CI
    differs from the exact fixed point (the closed form, xlogit) by more than 1e-9 in the
    small H domain, and one more Newton step lands on the fixed point."""
    from sid.estimation.logit import _irls, svyglm_logit
    from sid.variance import LinearForm

    h = strat.data["stype"].eq("H").to_numpy()
    lg = estimate(strat, "proportion", "mealcat", where=h, ci="logit")
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


def _glm_fit_rowwise(y: np.ndarray, a: np.ndarray, cols: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A literal row-level transcription of R's glm.fit (binomial()$initialize, C logit
    link/linkinv/mu.eta with clamps, binomial_dev_resids, IRLS with the deviance test),
    every column stopping at its own iteration. Returns coef, iterations, working weights."""
    eps = np.finfo(float).eps

    def linkinv(eta):
        tmp = np.where(eta < -30, eps, np.where(eta > 30, 1 / eps, np.exp(np.clip(eta, -30, 30))))
        return tmp / (1 + tmp)

    def mu_eta(eta):
        ex = np.exp(np.clip(eta, -30, 30))
        return np.where(np.abs(eta) > 30, eps, ex / (1 + ex) ** 2)

    def dev(y, mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = np.where(y != 0, y * np.log(y / mu), 0.0)
            t0 = np.where(y != 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
        return np.bincount(cols, weights=2 * a * (t1 + t0), minlength=k)

    mu = (a * y + 0.5) / (a + 1)
    eta = np.log(mu / (1 - mu))
    mu = linkinv(eta)
    devold = dev(y, mu)
    coef = np.full(k, np.nan)
    work = np.zeros(len(y))
    iters = np.zeros(k, dtype=np.int64)
    active = np.ones(k, dtype=bool)
    for it in range(1, 26):
        on = active[cols]
        me = mu_eta(eta)
        ww = np.where(a > 0, a * me**2 / (mu * (1 - mu)), 0.0)
        z = eta + (y - mu) / me
        beta = (np.bincount(cols, weights=ww * z, minlength=k)
                / np.bincount(cols, weights=ww, minlength=k))
        work = np.where(on, ww, work)
        coef = np.where(active, beta, coef)
        iters = np.where(active, it, iters)
        eta = np.where(on, coef[cols], eta)
        mu = np.where(on, linkinv(eta), mu)
        d = dev(y, mu)
        done = np.abs(d - devold) / (0.1 + np.abs(d)) < 1e-8
        active &= ~done
        devold = np.where(active, d, devold)
        if not active.any():
            break
    return coef, iters, work


def _random_props(seed: int, n: int = 3000, n_dom: int = 12, n_cat: int = 4):
    """A stratified cluster design and a proportion form with domains of very different
    sizes (3 rows to hundreds), p from 0 to 1 (an absent and an all-in category) and
    zero weights."""
    from sid.variance import LinearForm

    rng = np.random.default_rng(seed)
    dom = np.minimum(rng.geometric(0.25, n) - 1, n_dom - 1)
    probs = rng.dirichlet(np.full(n_cat, 0.6), n_dom)
    cat = (rng.random(n)[:, None] > np.cumsum(probs, 1)[dom]).sum(1)
    cat = np.minimum(cat, n_cat - 1)
    cat[dom == n_dom - 1] = 0  # domain where category 0 is everything (p = 1 and p = 0)
    w = rng.lognormal(3, 0.8, n)
    w[rng.random(n) < 0.02] = 0.0
    data = pd.DataFrame({"h": rng.integers(0, 6, n), "psu": rng.integers(0, 8, n), "w": w})
    design = Design(data, weight="w", strata="h", psu="psu")
    rows = np.repeat(np.arange(n), n_cat)
    cats = np.tile(np.arange(n_cat), n)
    cols = dom[rows] * n_cat + cats
    form = LinearForm(rows, cols, (cat[rows] == cats).astype(float), np.ones(len(rows)),
                      n_dom * n_cat)
    return design, form, np.repeat(np.arange(n_dom), n_cat)


def _assert_coef(got: np.ndarray, want: np.ndarray, coef: np.ndarray | None = None,
                 rtol: float = 1e-12, rtol_sat: float = 1e-9) -> None:
    """Agreement at ``rtol``, except in saturated columns (a category with every or no
    row of its domain: glm runs to |eta| ~ 26, mu within 1e-11 of 0 or 1) where each step
    is built on the rounding of 1 - mu (one ulp of mu is ~4e-5 of 1 - mu), so R's own
    result is only defined to ``rtol_sat`` there."""
    sat = np.abs(want if coef is None else coef) > 20
    np.testing.assert_allclose(got[~sat], want[~sat], rtol=rtol)
    np.testing.assert_allclose(got[sat], want[sat], rtol=rtol_sat)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aggregated_irls_is_glm_fit(seed: int) -> None:
    """The column-sum IRLS stops at glm.fit's iteration with glm.fit's coefficient, for
    binary and for fractional y (the general first step)."""
    from sid.estimation.logit import _irls

    design, form, _ = _random_props(seed)
    k, cols = form.k, form.cols
    w = design.w[form.rows]
    mean_w = np.bincount(cols, weights=w, minlength=k) / np.bincount(cols, minlength=k)
    a = w / mean_w[cols]
    y = np.where(a == 0, 0.0, form.num)
    for yy in (y, np.where(a == 0, 0.0, 0.3 * y + 0.2 * (form.rows % 3 == 0))):
        want, want_it, _ = _glm_fit_rowwise(yy, a, cols, k)
        got = _irls(yy, a, cols, k)
        np.testing.assert_array_equal(got.iterations, want_it)
        _assert_coef(got.coef, want)
        assert (want_it > 3).any()


@pytest.mark.parametrize("seed", [1, 2])
def test_svyglm_domain_path_equals_general_path(seed: int) -> None:
    """domain_of (first step per domain row, one small engine call) gives the same fit,
    logit variance and share covariance as the general path and the plain share vcov,
    including an all-in category (p = 1: share variance exactly 0)."""
    from sid.estimation import svyglm_logit
    from sid.variance import vcov

    design, form, dom_of = _random_props(seed)
    fast = svyglm_logit(design, form, domain_of=dom_of)
    slow = svyglm_logit(design, form)
    np.testing.assert_array_equal(fast.iterations, slow.iterations)
    _assert_coef(fast.coef, slow.coef)
    assert (np.abs(slow.coef) > 20).any()
    _assert_coef(fast.var, slow.var, slow.coef, rtol=1e-9, rtol_sat=1e-6)
    share = vcov(design, form, form.estimate(design.w))
    np.testing.assert_allclose(fast.share_cov, share, rtol=1e-9, atol=1e-15)
    last = form.k - 4  # the last domain's category 0 holds every row
    assert fast.share_cov[last, last] == 0.0 and np.isfinite(fast.var[last])
    # R's svy.varcoef from glm.fit's own working weights and residuals (row level)
    from sid.variance import LinearForm

    k, cols = form.k, form.cols
    w = design.w[form.rows]
    mean_w = np.bincount(cols, weights=w, minlength=k) / np.bincount(cols, minlength=k)
    a = w / mean_w[cols]
    y = np.where(a == 0, 0.0, form.num)
    coef, _, work = _glm_fit_rowwise(y, a, cols, k)
    eta = coef[cols]
    mu = np.exp(eta) / (1 + np.exp(eta))
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(work > 0, work / w * (y - mu) / (mu * (1 - mu))
                     / np.bincount(cols, weights=work, minlength=k)[cols], 0.0)
    want = np.diag(vcov(design, LinearForm(form.rows, cols, u, None, k)))
    ok = np.abs(coef) < 15  # svy.varcoef's scores lose digits at |logit| ~ 25 (p = 0 or 1)
    np.testing.assert_allclose(fast.var[ok], want[ok], rtol=1e-9)


def test_svyglm_domain_path_with_present_lonely_psu() -> None:
    """singleton="average" with a one-PSU stratum: the domain path carries ``present`` to
    its extra domain columns, so both paths (and the plain share vcov) still agree."""
    import scipy.sparse as sp

    from sid.estimation import svyglm_logit
    from sid.variance import vcov

    design, form, dom_of = _random_props(4)
    data = design.data.copy()
    data.loc[data["h"] == 5, "psu"] = 0  # stratum 5 keeps one PSU
    dom = form.cols[::4] // 4
    data.loc[dom == 2, "h"] = np.where(np.arange((dom == 2).sum()) % 2, 0, 5)
    data.loc[(dom == 2) & (data["h"] == 5), "psu"] = 0  # domain 2: strata 0 and lonely 5
    d2 = Design(data, weight="w", strata="h", psu="psu", singleton="average")
    pres = sp.coo_matrix((np.ones(len(form.rows)), (form.rows, form.cols)),
                         shape=(d2.n, form.k))
    fast = svyglm_logit(d2, form, present=pres, domain_of=dom_of)
    slow = svyglm_logit(d2, form, present=pres)
    share = vcov(d2, form, form.estimate(d2.w), present=pres)
    without = vcov(d2, form, form.estimate(d2.w))
    assert not np.allclose(np.diag(share), np.diag(without), rtol=1e-6)  # present matters
    _assert_coef(fast.var, slow.var, slow.coef, rtol=1e-9, rtol_sat=1e-6)
    np.testing.assert_allclose(fast.share_cov, share, rtol=1e-9, atol=1e-15)


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


def test_empty_domain_is_an_error_or_a_documented_empty_cell(strat: Design) -> None:
    data = strat.data.assign(y=np.where(strat.data["stype"] == "H", np.nan, strat.data["api00"]))
    d = Design(data, weight="pw", strata="stype", fpc="fpc")
    with pytest.raises(EstimationError, match="1 empty domain.*got stype=H"):
        estimate(d, "mean", "y", by="stype")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw UserWarning
        out = estimate(d, "mean", "y", by="stype", empty="cell")
    h = out[out["stype"] == "H"].iloc[0]
    assert h["n"] == 0 and math.isnan(h["estimate"]) and h["ci_method"] == "empty"
    assert (out.loc[out["stype"] != "H", "ci_method"] == "t").all()
    with pytest.raises(EstimationError, match="unknown empty rule"):
        estimate(d, "mean", "y", empty="nan")


@pytest.mark.parametrize("stat", ["mean", "total", "proportion", "ratio", "quantile"])
@pytest.mark.parametrize("by", [None, "stype"])
def test_empty_subpopulation_is_an_error(strat: Design, stat: str, by: str | None) -> None:
    var = "api00/api99" if stat == "ratio" else ("awards" if stat == "proportion" else "api00")
    for where in ("api00 > 100000", np.zeros(strat.n, dtype=bool)):
        with pytest.raises(EstimationError, match="nothing to estimate"):
            estimate(strat, stat, var, by=by, where=where, q=0.5 if stat == "quantile" else None,
                     empty="cell")


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

    case = next(c for c in _cases(REF / "estimate_cases.yaml")
                if c["id"] == "strat_mean_api00_by_stype_deff")
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
    from click.testing import CliRunner

    from sid import synthetic
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
    # auto: logit, Korn-Graubard (beta) only in groups with fewer than 10 yes or no
    assert set(got["ci_method"]) <= {"logit", "beta"} and "logit" in set(got["ci_method"])
    assert sorted(got["herkomst_frame"].unique()) == [1, 2, 3, 4, 5, 6, 7]
    assert set(got["category"]) == {1, 2, 3}  # WN/GA (-8/-9) and NVT (-1) are missing
    # the same numbers as the Python API on the same design and base
    design = Design(wave, weight="base_wt", strata="stratum", psu="psu")
    api = estimate(design, "proportion", "werkbeh", by="herkomst_frame",
                   where="werksituatie in [1, 2]", ci="auto")
    np.testing.assert_allclose(got["estimate"], api["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["ci_low"], api["ci_low"], rtol=1e-12)
    assert (got["n"] > 0).all() and (got["ci_low"] <= got["estimate"]).all()
    assert (got["estimate"] <= got["ci_high"]).all() and (got["ci_high"] > got["ci_low"]).all()
    # a share of exactly 0 (no "yes" in a group) gets Korn-Graubard [0, upper], never [0, 0]
    zero = got["estimate"] == 0
    assert (got.loc[zero, "ci_method"] == "beta").all() and (got.loc[zero, "ci_high"] > 0).all()


# --------------------------------------------------------------------------- ci="auto" (issue 10)


_RARE_CASES = {
    "strat_rare_by_stype": ("strat", "rare", "stype"),
    "strat_rare": ("strat", "rare", None),
    "strat_none_by_stype": ("strat", "none", "stype"),
    "clus1_rare_by_stype": ("clus1", "rare", "stype"),
    "clus1_rare": ("clus1", "rare", None),
}


def _rare_design(name: str) -> Design:
    if name == "strat":
        data = _data("estimate_apistrat.csv")
        data = data.assign(rare=(data["api00"] > 850).astype(float),
                           none=(data["api00"] > 950).astype(float))
        return Design(data, weight="pw", strata="stype", fpc="fpc")
    data = _data("estimate_apiclus1.csv")
    return Design(data.assign(rare=(data["api00"] > 850).astype(float)), weight="pw",
                  psu="dnum", fpc="fpc")


@pytest.mark.parametrize("case", sorted(_RARE_CASES))
def test_ci_auto_korn_graubard_against_r(case: str) -> None:
    """ci="auto": R's logit, or R's svyciprop(method="beta") where a group has < 10 yes or
    no answers, or the NCHS rule (R's qbeta) where the estimate is 0 or 1 (R's beta: NaN).
    Numbers from tests/reference/ciprop_rare.R, rtol 1e-9."""
    golden = pd.read_csv(REF / "ciprop_rare_golden.csv", keep_default_na=False, dtype=str)
    want = golden[golden["case"] == case]
    assert len(want)
    design_name, var, by = _RARE_CASES[case]
    got = estimate(_rare_design(design_name), "proportion", var, by=by, ci="auto")
    assert len(got) == len(want)
    for _, w in want.iterrows():
        sel = got["category"] == w["category"]
        if by:
            sel &= got[by] == w["stype"]
        row = got[sel].iloc[0]
        assert row["ci_method"] == w["ci_method"], (case, w["stype"], w["category"])
        assert row["n"] == int(w["n"])
        for col in ("estimate", "se", "ci_low", "ci_high", "df"):
            assert _close(float(row[col]), float(w[col])), (case, w["stype"], w["category"], col)
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
        assert row["ci_high"] > row["ci_low"]  # never zero width with n > 0


def test_ci_auto_keeps_logit_with_enough_answers(strat: Design) -> None:
    auto = estimate(strat, "proportion", "awards", by="stype", ci="auto")
    logit = estimate(strat, "proportion", "awards", by="stype", ci="logit")
    assert (auto["ci_method"] == "logit").all()
    pd.testing.assert_frame_equal(auto, logit)


def test_ci_auto_is_for_proportions(strat: Design) -> None:
    with pytest.raises(EstimationError, match="'auto' is for proportions only"):
        estimate(strat, "mean", "api00", ci="auto")


def test_asin_interval_contains_its_estimate() -> None:
    """R's sin(eta -+ crit se)^2 folds over outside [0, pi/2]; sid clamps on the arcsine
    scale, so the interval always holds its estimate (R's numbers where nothing folds)."""
    from sid.estimation.intervals import _intervals

    est = np.array([0.001, 0.02, 0.5, 0.98, 0.999])
    se = np.array([0.01, 0.05, 0.01, 0.05, 0.01])
    df = np.full(5, 10.0)
    lo, hi = _intervals("asin", est, se, df, np.full(5, 50.0), 0.95)
    assert (lo <= est).all() and (est <= hi).all() and (lo <= hi).all()
    assert lo[0] == 0.0 and hi[-1] == 1.0
    # where nothing folds: R's formula exactly
    from scipy import stats

    eta = np.arcsin(np.sqrt(0.5))
    s = 0.01 / (2 * np.sqrt(0.25))
    crit = stats.t.ppf(0.975, 10)
    assert lo[2] == pytest.approx(np.sin(eta - crit * s) ** 2, rel=1e-12)
    data = _data("estimate_apiclus1.csv")
    d = Design(data.assign(rare=(data["api00"] > 850).astype(float)), weight="pw",
               psu="dnum", fpc="fpc")
    out = estimate(d, "proportion", "rare", ci="asin")
    assert (out["ci_low"] <= out["estimate"]).all() and (out["estimate"] <= out["ci_high"]).all()


_STATS = st.sampled_from(["mean", "total", "proportion", "ratio", "quantile", "median", ""])
_VARS = st.sampled_from(["api00", "awards", "api00/api99", "api00/", "stype", "nope", "", "/"])
_BYS = st.sampled_from([None, "stype", ["stype", "awards"], "nope", [], ["api00"], 3])
_WHERES = st.sampled_from([None, "api00 > 600", "api00 > 100000", "stype == 'H'", "x ==",
                           "api00 > 1e400", "cut(1, [0, 2]) == 1", np.zeros(3, dtype=bool)])
_CIS = st.sampled_from([None, "t", "wald", "auto", "logit", "xlogit", "asin", "beta", "exact", 5])
_LEVELS = st.sampled_from([0.95, 0.5, 0.999, 0.0, 1.0, -1.0, float("nan"), "0.95", True])
_QS = st.sampled_from([None, 0.5, [0.1, 0.9], 2.0, -0.1, "half", [], float("nan")])


@settings(max_examples=80, deadline=None)
@given(stat=_STATS, var=_VARS, by=_BYS, where=_WHERES, ci=_CIS, level=_LEVELS, q=_QS,
       deff=st.booleans(), empty=st.sampled_from(["error", "cell", "nan"]),
       kind=st.sampled_from(["strat", "jkn", "clus1"]))
def test_estimate_arguments_never_traceback(stat, var, by, where, ci, level, q, deff, empty,
                                            kind):
    """Any combination of estimate() arguments, on a stratified, a replicate and a cluster
    design, gives a table or one SidError line."""
    from sid.errors import SidError

    design = _strat_design(kind)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = estimate(design, stat, var, by=by, where=where, ci=ci, conf_level=level,
                           deff=deff, q=q, empty=empty)
    except SidError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)
    else:
        assert list(out.columns)[-len(COLUMNS):] == list(COLUMNS)
        assert (out["n"] > 0).any()


@cache
def _strat_design(kind: str = "strat") -> Design:
    if kind == "jkn":
        scales = pd.read_csv(DATA / "estimate_rep_jkn_rscales.csv").iloc[:, 0].to_numpy()
        return Design(_data("estimate_rep_jkn.csv"), weight="pw", repweights="^repw[0-9]+$",
                      repmethod="jkn", rscales=scales)
    if kind == "clus1":
        return Design(_data("estimate_apiclus1.csv"), weight="pw", psu="dnum", fpc="fpc")
    return Design(_data("estimate_apistrat.csv"), weight="pw", strata="stype", fpc="fpc")


def test_cli_empty_where_and_labelled_mean(tmp_path: Path) -> None:
    """`--where` selecting nobody: one error line, exit 2 (never nan% with exit 0);
    `--mean` of a labelled categorical: one warning line, exit 0."""
    synthetic = pytest.importorskip("sid.synthetic")
    from click.testing import CliRunner

    from sid.cli import main
    from sid.io import write_wave

    path = tmp_path / "sid2022.sav"
    write_wave(synthetic.make_wave_frame(600, wave=2022), path)
    design = ["--weight", "base_wt", "--strata", "stratum", "--psu", "psu"]
    runner = CliRunner()
    res = runner.invoke(main, ["estimate", str(path), *design, "--prop", "werkbeh", "--where",
                               "werksituatie == 99"])
    assert res.exit_code == 2
    assert "nothing to estimate" in res.output and "nan" not in res.output.lower()
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(main, ["estimate", str(path), *design, "--mean", "werkbeh"])
    assert res.exit_code == 0, res.output
    warning = [line for line in res.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "labelled categorical" in warning[0]
    assert "--prop werkbeh" in warning[0] and "UserWarning" not in res.output
    res = runner.invoke(main, ["estimate", str(path), *design, "--mean", "base_wt"])
    assert res.exit_code == 0 and "warning" not in res.output


@pytest.mark.parametrize("where", [
    pd.Series(["a"] * 200), np.array(["x"] * 200), np.ones((200, 2)),
    pd.Categorical(["a"] * 200), {"a": 1}, 5,
])
def test_where_that_is_no_mask_is_one_line(strat: Design, where: object) -> None:
    """Text, 2-D or categorical masks were read as True (text) or raised a TypeError."""
    with pytest.raises(EstimationError, match="where"):
        estimate(strat, "mean", "api00", where=where)


def test_where_masks_of_every_numeric_kind(strat: Design) -> None:
    keep = (strat.data["stype"] == "E").to_numpy()
    want = estimate(strat, "mean", "api00", where=keep)
    for where in (keep.astype(float), keep.astype(int), pd.Series(keep, dtype="Int64"),
                  pd.Series(keep, dtype="boolean"), list(keep)):
        got = estimate(strat, "mean", "api00", where=where)
        assert got["estimate"].iloc[0] == want["estimate"].iloc[0]


_CLI_ARGS = st.lists(st.sampled_from([
    ["--mean", "api00"], ["--mean", "stype"], ["--prop", "awards"], ["--prop", "api00"],
    ["--total", "enroll"], ["--ratio", "api00/api99"], ["--ratio", "api00/"],
    ["--quantile", "api00"], ["--q", "0.5"], ["--q", "2"], ["--by", "stype"],
    ["--by", "nope"], ["--by", "stype,awards"], ["--where", "api00 > 600"],
    ["--where", "api00 > 100000"], ["--where", "round(api00, 100000000000000000000) > 1"],
    ["--where", "cut(1, [0, 2]) == 1"], ["--where", "(" * 300 + "api00" + ")" * 300],
    ["--ci", "auto"], ["--ci", "asin"], ["--ci", "beta"], ["--ci", "logit"],
    ["--conf-level", "0.9"], ["--conf-level", "1"], ["--deff"], ["--format", "csv"],
    ["--format", "json"], ["--rho", "1"], ["--singleton", "adjust"],
]), max_size=6)


@settings(max_examples=40, deadline=None)
@given(args=_CLI_ARGS)
def test_cli_estimate_never_traceback(args: list[list[str]]) -> None:
    """`sid estimate` with any mix of options: exit 0 with a result, or exit 2 with one
    error line; never a traceback, never nan% in a table."""
    from click.testing import CliRunner

    from sid.cli import main

    flat = [a for pair in args for a in pair]
    res = CliRunner().invoke(main, ["estimate", str(DATA / "estimate_apistrat.csv"), "--weight",
                                    "pw", "--strata", "stype", "--fpc", "fpc", *flat])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output and "nan%" not in res.output
    if res.exit_code == 2:
        errors = [line for line in res.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1


def test_a_domain_variable_named_twice_is_one_line() -> None:
    """Found by the randomised CLI test: --by stype --by stype gave a traceback."""
    from click.testing import CliRunner

    from sid.cli import main

    res = CliRunner().invoke(main, ["estimate", str(REF / "data" / "estimate_apistrat.csv"),
                                    "--mean", "api00", "--by", "stype", "--by", "stype",
                                    "--weight", "pw", "--strata", "stype", "--fpc", "fpc"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.startswith("error: ") and "named twice in by (got stype)" in res.stderr


def test_cli_codebook_never_silently_the_design_weight(synthetic_dir: Path, tmp_path: Path) -> None:
    """Issue 11: `sid estimate --codebook` on a raw wave stops and lists the weights; on the
    output of `sid weight` it takes the final weight that file's lineage names, and says so."""
    from click.testing import CliRunner

    from sid.cli import main
    from sid.resources import shipped

    cb = str(shipped("sid.yaml"))
    args = ["--codebook", cb, "--prop", "werkbeh", "--by", "herkomst_frame"]
    raw = CliRunner().invoke(main, ["estimate", str(synthetic_dir / "sid2022.sav"), *args])
    assert raw.exit_code == 2 and "no analysis weight" in raw.stderr and "base_wt" in raw.stderr
    out = tmp_path / "w.sav"
    made = CliRunner().invoke(main, [
        "weight", str(synthetic_dir / "sid2022.sav"), "--spec", str(shipped("weighting", "sid2022.yaml")),
        "--gross", str(synthetic_dir / "sid2022_gross.sav"),
        "--margins", str(synthetic_dir / "population_margins.csv"), "--out", str(out)])
    assert made.exit_code == 0, made.output
    res = CliRunner().invoke(main, ["estimate", str(out), *args])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("gewicht: final_wt\n")
