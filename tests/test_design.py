"""Design: validation (clear errors listing all offenders), nesting, fpc forms, replicate defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sid.design import Design, PostStratification, design_df, domain_df
from sid.errors import DesignError
from sid.estimation import estimate
from sid.linalg import qr_rank

DATA = Path(__file__).parent / "reference" / "data"


@pytest.fixture(scope="module")
def strat() -> pd.DataFrame:
    return pd.read_csv(DATA / "estimate_apistrat.csv")


def test_immutable(strat: pd.DataFrame) -> None:
    d = Design(strat, weight="pw", strata="stype", fpc="fpc")
    with pytest.raises(AttributeError):
        d.weight = "x"  # type: ignore[misc]
    assert not d.w.flags.writeable


def test_bad_weights_listed(strat: pd.DataFrame) -> None:
    data = strat.assign(pw=strat["pw"].where(~strat.index.isin([3, 7]), -1.0))
    data.loc[10, "pw"] = np.nan
    data.loc[11, "pw"] = np.inf
    with pytest.raises(DesignError) as err:
        Design(data, weight="pw", strata="stype")
    msg = str(err.value)
    assert "4 row(s)" in msg and "rows 4, 8, 11, 12" in msg and "Fix:" in msg


def test_zero_weights_allowed(strat: pd.DataFrame) -> None:
    data = strat.assign(pw=strat["pw"].where(strat.index >= 5, 0.0))
    d = Design(data, weight="pw", strata="stype", fpc="fpc")
    out = estimate(d, "mean", "api00")
    assert out["n"].iloc[0] == 195
    assert d.degf() == 195 - 3


def test_missing_design_variables_all_listed(strat: pd.DataFrame) -> None:
    data = strat.astype({"fpc": float})
    data.loc[[0, 5], "stype"] = np.nan
    data.loc[[9], "fpc"] = np.nan
    with pytest.raises(DesignError) as err:
        Design(data, weight="pw", strata="stype", fpc="fpc")
    msg = str(err.value)
    assert "strata 'stype' missing on rows 1, 6" in msg and "fpc 'fpc' missing on rows 10" in msg


def test_unknown_column_suggests(strat: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match="'STYPE' is not in the data.*'stype'"):
        Design(strat, weight="pw", strata="STYPE")


def test_singleton_fail_lists_strata_and_options() -> None:
    data = pd.read_csv(DATA / "estimate_apistrat_lonely.csv")
    with pytest.raises(DesignError) as err:
        Design(data, weight="pw", strata="stype", fpc="fpc")
    msg = str(err.value)
    assert "'H'" in msg
    for rule in ("adjust", "average", "remove", "certainty"):
        assert rule in msg
    Design(data, weight="pw", strata="stype", fpc="fpc", singleton="adjust")  # no error


def test_psu_codes_nested_in_strata() -> None:
    """PSU '1' in stratum A and PSU '1' in stratum B are two PSUs."""
    data = pd.DataFrame({"h": ["A"] * 4 + ["B"] * 4, "psu": [1, 1, 2, 2] * 2,
                         "w": 1.0, "y": [1.0, 2, 3, 4, 5, 6, 7, 9]})
    d = Design(data, weight="w", strata="h", psu="psu")
    assert int(d.cluster.max()) + 1 == 4
    assert d.degf() == 2


def test_fpc_fraction_equals_count(strat: pd.DataFrame) -> None:
    n_h = strat.groupby("stype")["stype"].transform("size")
    frac = strat.assign(f=n_h / strat["fpc"])
    a = estimate(Design(strat, weight="pw", strata="stype", fpc="fpc"), "mean", "api00")
    b = estimate(Design(frac, weight="pw", strata="stype", fpc="f"), "mean", "api00")
    assert a["se"].iloc[0] == pytest.approx(b["se"].iloc[0], rel=1e-12)


def test_fpc_too_small(strat: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match="more than 100%"):
        Design(strat.assign(fpc=5.0), weight="pw", strata="stype", fpc="fpc")


def test_replicate_defaults() -> None:
    data = pd.read_csv(DATA / "estimate_rep_brr.csv")
    d = Design(data, weight="pw", repweights="^repw", repmethod="brr")
    assert d.rep_scale == pytest.approx(1 / len(d.rep_columns))
    assert d.degf() == 7  # R: degf() of this BRR design (estimate_versions.txt)
    fay = Design(data, weight="pw", repweights="^repw", repmethod="fay", rho=0.3)
    assert fay.rep_scale == pytest.approx(1 / (8 * 0.7**2))
    with pytest.raises(DesignError, match="jkn' needs rscales"):
        Design(data, weight="pw", repweights="^repw", repmethod="jkn")
    with pytest.raises(DesignError, match="matches no column"):
        Design(data, weight="pw", repweights="^nope", repmethod="brr")


def test_from_codebook_mapping(strat: pd.DataFrame) -> None:
    d = Design.from_codebook(strat, {"design": {"weight": "pw", "strata": "stype", "psu": None}})
    assert d.strata == "stype" and d.psu is None
    with pytest.raises(DesignError, match="unknown design keys"):
        Design.from_mapping(strat, {"weights": "pw"})


def test_wave_user_missing_codes_are_missing() -> None:
    """A Wave's declared user-missing codes (e.g. -8 WN) are outside every domain."""
    from sid.io import make_wave

    frame = pd.DataFrame({"w": [1.0, 2, 3, 4, 5, 6], "h": [1, 1, 1, 2, 2, 2],
                          "y": [1.0, 2, -8, 3, 4, -9]})
    wave = make_wave(frame, missing={"y": [-8, -9]})
    out = estimate(Design(wave, weight="w", strata="h"), "mean", "y")
    assert out["n"].iloc[0] == 4 and out["n_missing"].iloc[0] == 2
    assert out["estimate"].iloc[0] == pytest.approx((1 + 4 + 12 + 20) / (1 + 2 + 4 + 5))
    assert frame["y"].min() == -9  # the input is not modified


def test_two_stage_fpc_rules() -> None:
    data = pd.read_csv(DATA / "estimate_apiclus2.csv")
    with pytest.raises(DesignError, match="fpc for the first stage only"):
        Design(data, weight="pw", psu="dnum", fpc="fpc1", psu2="snum")
    # without any fpc R uses the ultimate-cluster (one-stage) variance: psu2 changes nothing
    a = estimate(Design(data, weight="pw", psu="dnum", psu2="snum"), "mean", "api00")
    b = estimate(Design(data, weight="pw", psu="dnum"), "mean", "api00")
    assert a["se"].iloc[0] == b["se"].iloc[0]
    # R: SE(svymean(~api00, svydesign(ids = ~dnum + snum, weights = ~pw, data = <this CSV>)))
    assert a["se"].iloc[0] == pytest.approx(30.7115763093288, rel=1e-12)


def test_fpc_varying_within_stratum_is_an_error(strat: pd.DataFrame) -> None:
    # the population count belongs to the stratum: two values in one stratum is bad input
    # (it used to take the first row's value silently)
    data = strat.copy()
    first_e = data.index[data["stype"] == "E"][0]
    data.loc[first_e, "fpc"] = data.loc[first_e, "fpc"] + 100
    with pytest.raises(DesignError) as err:
        Design(data, weight="pw", strata="stype", fpc="fpc")
    msg = str(err.value)
    assert "not constant within 1 stratum" in msg and "'E'" in msg and "Fix:" in msg


def test_fpc2_varying_within_psu_is_an_error() -> None:
    data = pd.read_csv(DATA / "estimate_apiclus2.csv")
    Design(data, weight="pw", psu="dnum", fpc="fpc1", psu2="snum", fpc2="fpc2")
    row = data.index[data["dnum"] == 83][0]  # district 83: three sampled schools
    data.loc[row, "fpc2"] = data.loc[row, "fpc2"] + 1
    with pytest.raises(DesignError, match="fpc2 'fpc2' is not constant within 1 PSU"):
        Design(data, weight="pw", psu="dnum", fpc="fpc1", psu2="snum", fpc2="fpc2")


# --------------------------------------------------------------------------- rank and df rule
# Golden ranks, pivots and degf from tests/reference/rank_golden.R (R's qr(), LINPACK dqrdc2).

RANK_GOLDEN = Path(__file__).parent / "reference" / "rank_golden.csv"


def _rank_cases() -> list[dict[str, Any]]:
    table = pd.read_csv(RANK_GOLDEN)  # a missing reference file fails here, never skips
    out = []
    for row in table.to_dict("records"):
        values = np.array(row["values"].split(), dtype=float)
        row["x"] = values.reshape(int(row["ncol"]), int(row["nrow"])).T  # R is column-major
        row["pivot"] = np.array(str(row["pivot"]).split(), dtype=int) - 1
        out.append(row)
    return out


def test_rank_golden_file_has_every_kind_of_case() -> None:
    cases = {c["case"] for c in _rank_cases()}
    assert {"column_scaled", "near_collinear_below_tol", "near_collinear_above_tol", "wide",
            "indicators_column_scaled", "jk1_apiclus1_high_schools"} <= cases


@pytest.mark.parametrize("case", _rank_cases(), ids=lambda c: c["case"])
def test_qr_rank_matches_r(case: dict[str, Any]) -> None:
    got = qr_rank(case["x"], case["tol"])
    assert got.rank == case["rank"]
    np.testing.assert_array_equal(got.pivot, case["pivot"])
    np.testing.assert_array_equal(got.independent, case["pivot"][: case["rank"]])


def test_qr_rank_ignores_column_scale() -> None:
    """R's qr(tol = 1e-5) gives 3 here; a rule relative to the largest diagonal of R gave 1."""
    case = next(c for c in _rank_cases() if c["case"] == "column_scaled")
    assert qr_rank(case["x"], 1e-5).rank == 3
    assert qr_rank(case["x"] * np.array([1e-8, 1.0, 1e3]), 1e-5).rank == 3


@pytest.mark.parametrize("case", [c for c in _rank_cases() if not np.isnan(c["degf"])],
                         ids=lambda c: c["case"])
def test_replicate_design_df_matches_r_degf(case: dict[str, Any]) -> None:
    x = case["x"]
    cols = {f"repw{k + 1:02d}": x[:, k] for k in range(x.shape[1])}
    frame = pd.DataFrame({"pw": x[:, 0], **cols})
    d = Design(frame, weight="pw", repweights="^repw", repmethod="bootstrap")
    assert design_df(d) == case["degf"]
    assert d.degf() == case["degf"]


def test_replicate_design_df_in_a_domain() -> None:
    """degf(subset(jk1, stype == "H")) in R: the rank of the domain rows' replicate weights."""
    full = next(c for c in _rank_cases() if c["case"] == "jk1_apiclus1")
    sub = next(c for c in _rank_cases() if c["case"] == "jk1_apiclus1_high_schools")
    x = full["x"]
    frame = pd.DataFrame({"pw": 1.0, **{f"repw{k:02d}": x[:, k] for k in range(x.shape[1])}})
    d = Design(frame, weight="pw", repweights="^repw", repmethod="jk1")
    # rank_golden.R used apiclus1 in the row order of data/weighting_apiclus1.csv
    member = (pd.read_csv(DATA / "weighting_apiclus1.csv")["stype"] == "H").to_numpy()
    assert member.sum() == sub["nrow"]
    assert design_df(d, member) == sub["degf"]


def test_taylor_design_df_is_psus_minus_strata(strat: pd.DataFrame) -> None:
    d = Design(strat, weight="pw", strata="stype", psu="snum")
    assert design_df(d) == strat["snum"].nunique() - strat["stype"].nunique()
    member = (strat["stype"] == "E").to_numpy()
    assert design_df(d, member) == int(member.sum()) - 1


def test_replicate_design_refuses_calibration() -> None:
    data = pd.read_csv(DATA / "estimate_rep_brr.csv")
    cal = PostStratification(cells=np.zeros(len(data), dtype=np.int64),
                             weights=data["pw"].to_numpy())
    with pytest.raises(DesignError, match="replicate design cannot take calibration") as err:
        Design(data, weight="pw", repweights="^repw", repmethod="brr", calibration=(cal,))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind", ["taylor", "replicate"])
def test_domain_df_equals_design_df_per_domain(strat: pd.DataFrame, kind: str) -> None:
    if kind == "taylor":
        d = Design(strat.assign(pw=np.where(np.arange(len(strat)) % 7 == 0, 0.0, strat["pw"])),
                   weight="pw", strata="stype", psu="snum")
    else:
        case = next(c for c in _rank_cases() if c["case"] == "jk1_apiclus1")
        x = case["x"]
        d = Design(pd.DataFrame({f"repw{k:02d}": x[:, k] for k in range(x.shape[1])}),
                   repweights="^repw", repmethod="jk1")
    rng = np.random.default_rng(4)
    dom = rng.integers(-1, 5, d.n)
    dom[dom == 4] = -1  # domain 4 is empty
    got = domain_df(d, dom, 5)
    want = [design_df(d, dom == j) for j in range(5)]
    np.testing.assert_array_equal(got, want)
    assert (np.isnan(got[4]) if kind == "replicate" else got[4] == 0)


# --------------------------------------------------------------------------- bad arguments (issue 10)


@pytest.fixture(scope="module")
def jkn() -> pd.DataFrame:
    return pd.read_csv(DATA / "estimate_rep_jkn.csv")


def _rep(**kw: Any) -> dict[str, Any]:
    return {"weight": "pw", "repweights": "^repw[0-9]+$", **kw}


@pytest.mark.parametrize(("spec", "message"), [
    (_rep(repweights="^repw1$", repmethod="bootstrap"), "at least 2 replicate weight columns"),
    (_rep(repweights="^repw1$", repmethod="jk1"), "at least 2 replicate weight columns"),
    (_rep(repmethod="fay", rho=1), "rho must lie in \\[0, 1\\)"),
    (_rep(repmethod="fay", rho=-0.1), "rho must lie in \\[0, 1\\)"),
    (_rep(repmethod="fay", rho="half"), "rho must be a number"),
    (_rep(repmethod="fay", rho=float("nan")), "rho must be finite"),
    (_rep(repmethod="bootstrap", scale="x"), "scale must be a number"),
    (_rep(repmethod="bootstrap", scale=0), "scale must be positive"),
    (_rep(repmethod="jkn", rscales=["a"] * 15), "rscales must be numbers"),
    (_rep(repmethod="jkn", rscales=[1.0] * 14 + [-1.0]), "finite and >= 0"),
    (_rep(repmethod="jkn", rscales=[[1.0] * 15]), "flat list"),
    (_rep(repmethod="jkn", rscales={"a": 1}), "a number or a list"),
    (_rep(repmethod="jkn", rscales=[1.0] * 16), "length 16, should be 15"),
    (_rep(repmethod="brr", mse="yes"), "mse must be true or false"),
    (_rep(repweights=3, repmethod="brr"), "repweights must be a regular expression"),
    (_rep(repmethod=5), "repmethod must be a method name"),
    ({"weight": ["pw"]}, "weight must be a column name"),
    ({"weight": "pw", "strata": 1.5}, "strata must be a column name"),
    ({"weight": "pw", "psu": {"a": 1}}, "psu must be a column name"),
    ({"weight": "pw", "singleton": ["x"]}, "unknown singleton rule"),
])
def test_bad_design_arguments_one_line(jkn: pd.DataFrame, spec: dict, message: str) -> None:
    with pytest.raises(DesignError, match=message):
        Design.from_mapping(jkn, spec)


def test_design_mapping_must_be_a_mapping(jkn: pd.DataFrame) -> None:
    with pytest.raises(DesignError, match="a design is a mapping"):
        Design.from_mapping(jkn, ["pw"])  # type: ignore[arg-type]


def _cli_rscales(tmp_path: Path, name: str, text: str) -> Any:
    from click.testing import CliRunner

    from sid.cli import main

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(main, [
        "estimate", str(DATA / "estimate_rep_jkn.csv"), "--weight", "pw", "--repweights",
        "^repw[0-9]+$", "--repmethod", "jkn", "--rscales", str(path), "--mean", "api00",
        "--format", "csv"])


def test_rscales_file_with_or_without_header(tmp_path: Path, jkn: pd.DataFrame) -> None:
    """A plain list of numbers is numbers (the first one too); a text first line is a header."""
    scales = pd.read_csv(DATA / "estimate_rep_jkn_rscales.csv").iloc[:, 0].tolist()
    want = estimate(Design(jkn, weight="pw", repweights="^repw[0-9]+$", repmethod="jkn",
                           rscales=scales), "mean", "api00")
    body = "\n".join(repr(v) for v in scales) + "\n"
    for name, text in (("plain.txt", body), ("header.csv", "rscales\n" + body),
                       ("oneline.txt", ", ".join(repr(v) for v in scales) + "\n")):
        res = _cli_rscales(tmp_path, name, text)
        assert res.exit_code == 0, res.output
        got = pd.read_csv(__import__("io").StringIO(res.output))
        assert got["se"].iloc[0] == pytest.approx(want["se"].iloc[0], rel=1e-12)


@pytest.mark.parametrize(("text", "message"), [
    ("\n".join(["0.8"] * 14) + "\n", "length 14, should be 15"),  # one short: never shifted
    ("\n".join(["0.8"] * 16) + "\n", "length 16, should be 15"),  # one long: never shifted
    ("rscales\n" + "\n".join(["0.8"] * 14) + "\n", "length 14, should be 15"),
    ("0,8\n0,8\n", "more than one value on a line"),
    ("0.8\nabc\n", "not a finite number"),
    ("0.8\ninf\n", "not a finite number"),
    ("", "is empty"),
    ("rscales\n", "header but no numbers"),
])
def test_rscales_file_errors(tmp_path: Path, text: str, message: str) -> None:
    res = _cli_rscales(tmp_path, "r.txt", text)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_design_file_through_yamlio(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sid.cli import main

    path = tmp_path / "design.yaml"
    path.write_text("weigth: pw\nstrata: stype\nstrata: fpc\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["estimate", str(DATA / "estimate_apistrat.csv"), "--design",
                                    str(path), "--mean", "api00"])
    assert res.exit_code == 2
    assert "design.yaml:1: weigth: unknown key 'weigth' (did you mean weight?)" in res.output
    assert "key given twice" in res.output
    bomb = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    path.write_text(bomb, encoding="utf-8")
    res = CliRunner().invoke(main, ["estimate", str(DATA / "estimate_apistrat.csv"), "--design",
                                    str(path), "--mean", "api00"])
    assert res.exit_code == 2 and "Traceback" not in res.output
