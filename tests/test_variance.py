"""The variance engine: calibrated designs against R, and the engine against textbook formulas.

Golden numbers for calibrated designs come from
``tests/reference/calibration_variance.R`` (postStratify, rake and linear
calibrate on apiclus1/apistrat; it exports what R stores in
``design$postStrata``), compared at relative tolerance 1e-9.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import golden_params

from sid.design import Design, GregCalibration, PostStratification, Raking
from sid.estimation import estimate, label
from sid.variance import LinearForm, replicate_vcov, taylor_vcov, vcov

REF = Path(__file__).parent / "reference"


def _cal_design(name: str) -> Design:
    data = pd.read_csv(REF / "data" / f"calibration_{name}.csv")
    steps = []
    for j in range(1, 4):
        p = f"s{j}_"
        if f"{p}ps_cell" in data:
            steps.append(PostStratification(data[f"{p}ps_cell"].to_numpy(),
                                            data[f"{p}ps_w"].to_numpy(),
                                            data[f"{p}ps_oldw"].to_numpy()))
        elif f"{p}rake1_cell" in data:
            m = 1
            margins = []
            while f"{p}rake{m}_cell" in data:
                margins.append((data[f"{p}rake{m}_cell"].to_numpy(),
                                data[f"{p}rake{m}_w"].to_numpy()))
                m += 1
            steps.append(Raking(tuple(margins)))
        elif f"{p}greg_w" in data:
            aux = data[[c for c in data.columns if c.startswith(f"{p}greg_aux")]].to_numpy()
            steps.append(GregCalibration(aux, data[f"{p}greg_w"].to_numpy()))
    if name == "greg":
        return Design(data, weight="w_final", strata="stype", fpc="fpc", calibration=tuple(steps))
    return Design(data, weight="w_final", psu="dnum", fpc="fpc", calibration=tuple(steps))


# A missing golden file gives one failing case (conftest.golden_params), never a skip.
CAL_ROWS = golden_params(
    "calibration_variance.csv",
    lambda path: pd.read_csv(path, keep_default_na=False).to_dict("records"),
    lambda r: f"{r['design']}-{r['stat']}-{r['var']}-{r['by_key']}",
)


@pytest.mark.parametrize("row", CAL_ROWS)
def test_calibrated_se_matches_r(row: dict) -> None:
    design = _cal_design(row["design"])
    by = "sch_wide" if row["by_key"] else None
    out = estimate(design, row["stat"], row["var"], by=by)
    if by:
        out = out[out[by].map(label) == row["by_key"]]
    assert len(out) == 1
    got = out.iloc[0]
    assert got["estimate"] == pytest.approx(float(row["estimate"]), rel=1e-9)
    assert got["se"] == pytest.approx(float(row["se"]), rel=1e-9)


def test_calibration_lowers_se_of_calibrated_total() -> None:
    """Post-stratified on stype: the total of a stype indicator has (almost) zero variance."""
    design = _cal_design("poststrat")
    data = design.data.assign(is_e=(design.data["stype"] == "E").astype(float))
    d2 = Design(data, weight="w_final", psu="dnum", fpc="fpc", calibration=design.calibration)
    out = estimate(d2, "total", "is_e")
    assert out["estimate"].iloc[0] == pytest.approx(4421, rel=1e-12)
    assert out["se"].iloc[0] < 1e-6


# --------------------------------------------------------------------------- engine vs textbook


def _synthetic(seed: int = 1, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    strata = rng.integers(0, 6, n)
    psu = rng.integers(0, 5, n)  # PSU codes repeat across strata (nested)
    return pd.DataFrame({
        "h": strata, "psu": psu, "w": rng.uniform(1, 50, n), "y": rng.normal(10, 3, n),
        "g": rng.integers(0, 3, n), "cat": rng.integers(1, 5, n),
        "N": np.array([40, 50, 60, 70, 80, 90])[strata],
    })


def _textbook(data: pd.DataFrame, z: np.ndarray, fpc: bool) -> float:
    """sum_h (1 - f_h) n_h/(n_h - 1) sum_i (z_hi - zbar_h)^2 over PSU totals z_hi."""
    total = 0.0
    for _, grp in data.assign(z=z).groupby("h"):
        t = grp.groupby("psu")["z"].sum().to_numpy()
        n_h = len(t)
        f = 1 - n_h / grp["N"].iloc[0] if fpc else 1.0
        total += f * n_h / (n_h - 1) * np.sum((t - t.mean()) ** 2)
    return total


@pytest.mark.parametrize("fpc", [False, True])
def test_taylor_matches_textbook_domain_mean(fpc: bool) -> None:
    data = _synthetic()
    design = Design(data, weight="w", strata="h", psu="psu", fpc="N" if fpc else None)
    out = estimate(design, "mean", "y", by="g")
    for g, row in out.set_index("g").iterrows():
        ind = (data["g"] == g).to_numpy()
        w = data["w"].to_numpy()
        m = np.sum(w * ind * data["y"]) / np.sum(w * ind)
        z = w * ind * (data["y"].to_numpy() - m) / np.sum(w * ind)
        assert row["estimate"] == pytest.approx(m, rel=1e-12)
        assert row["se"] == pytest.approx(math.sqrt(_textbook(data, z, fpc)), rel=1e-10)


def test_sparse_and_dense_scores_agree() -> None:
    data = _synthetic(2)
    design = Design(data, weight="w", strata="h", psu="psu")
    rng = np.random.default_rng(3)
    dense = rng.normal(size=(len(data), 4)) * (rng.uniform(size=(len(data), 4)) < 0.4)
    a = taylor_vcov(design, dense)
    b = taylor_vcov(design, sp.coo_matrix(dense))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    # diagonal equals the textbook formula column by column
    for j in range(4):
        assert a[j, j] == pytest.approx(_textbook(data, dense[:, j], False), rel=1e-10)


def test_full_covariance_of_categories_is_psd_and_rows_sum_to_zero() -> None:
    """Proportions of all categories sum to 1, so their covariance rows sum to 0."""
    data = _synthetic(4)
    design = Design(data, weight="w", strata="h", psu="psu")
    from sid.estimation import estimate_vcov

    _, cov = estimate_vcov(design, "proportion", "cat")
    np.testing.assert_allclose(cov.sum(axis=1), 0, atol=1e-15)
    assert np.linalg.eigvalsh(cov).min() > -1e-15


def test_replicate_vcov_formula() -> None:
    rng = np.random.default_rng(5)
    n, r = 200, 12
    w = rng.uniform(1, 5, n)
    rep = w[:, None] * rng.choice([0.0, 2.0], size=(n, r))
    data = pd.DataFrame({"w": w, "y": rng.normal(size=n)})
    for j in range(r):
        data[f"rw{j}"] = rep[:, j]
    design = Design(data, weight="w", repweights="^rw", repmethod="bootstrap")
    form = LinearForm(np.arange(n), np.zeros(n, dtype=np.int64), data["y"].to_numpy(),
                      np.ones(n), 1)
    theta = form.estimate(design.w)
    reps = (rep * data["y"].to_numpy()[:, None]).sum(0) / rep.sum(0)
    want = np.sum((reps - reps.mean()) ** 2) / (r - 1)
    assert replicate_vcov(design, form, theta)[0, 0] == pytest.approx(want, rel=1e-12)
    assert vcov(design, form)[0, 0] == pytest.approx(want, rel=1e-12)


def test_row_order_does_not_matter() -> None:
    data = _synthetic(6)
    perm = np.random.default_rng(7).permutation(len(data))
    a = estimate(Design(data, weight="w", strata="h", psu="psu"), "proportion", "cat", by="g")
    b = estimate(Design(data.iloc[perm].reset_index(drop=True), weight="w", strata="h",
                        psu="psu"), "proportion", "cat", by="g")
    for col in ("estimate", "se", "ci_low", "ci_high", "df", "n"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-11)


def test_where_string_equals_mask() -> None:
    data = _synthetic(8)
    design = Design(data, weight="w", strata="h", psu="psu")
    a = estimate(design, "mean", "y", by="g", where="cat in [1, 2] and y > 9")
    mask = data["cat"].isin([1, 2]).to_numpy() & (data["y"] > 9).to_numpy()
    b = estimate(design, "mean", "y", by="g", where=mask)
    pd.testing.assert_frame_equal(a, b)
