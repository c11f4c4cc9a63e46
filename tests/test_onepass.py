"""The one-pass path for proportions (sid.estimation.onepass) against the general paths.

``estimate(design, "proportion", var, by=...)`` without ``where`` takes the one-pass
path when it applies; the same call with ``where`` = every row takes the general
cell path (coding first), and ``rows=True`` the row-level engine. All three must
give the same table. The R goldens in test_estimate.py run through whichever path
applies; these tests cover the value ranges, dtypes and designs the goldens do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sid.design import Design
from sid.estimation import estimate, estimate_vcov
from sid.estimation.core import _core, _table
from sid.estimation.domains import _domains
from sid.estimation.onepass import onepass_core

CIS = ("t", "wald", "logit", "xlogit", "beta", "asin", "auto")


def _sample(seed: int, n: int = 900, *, by_values: tuple[int, ...] = (1, 3, 4, 9),
            item_values: tuple[int, ...] = (1, 2, 5), dtype: str = "float64",
            psu: bool = True, fpc: bool = False) -> Design:
    """A stratified cluster sample whose domain and item values leave gaps in their range."""
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 6, n)
    frame = pd.DataFrame({
        "h": h,
        "psu": rng.integers(0, 2 + h),  # 2..7 PSUs a stratum: strata differ
        "w": rng.uniform(0.5, 30, n),
        "g": np.asarray(by_values)[rng.integers(0, len(by_values), n)].astype(dtype),
        "y": np.asarray(item_values)[rng.integers(0, len(item_values), n)].astype(dtype),
        "pop": 40.0,
    })
    # one domain where one category holds every row, and a category near 1 elsewhere
    first = frame["g"] == by_values[0]
    frame.loc[first, "y"] = item_values[-1]
    spec: dict = {"weight": "w", "strata": "h"}
    if psu:
        spec["psu"] = "psu"
    if fpc:
        spec["fpc"] = "pop"
    return Design(frame, **spec)


def _general(design: Design, var: str, by: list[str], ci: str | None) -> pd.DataFrame:
    """The same estimate through the general cell path: a where that keeps every row."""
    return estimate(design, "proportion", var, by=by or None,
                    where=np.ones(design.n, dtype=bool), ci=ci)


def _row_level(design: Design, var: str, by: list[str], ci: str) -> pd.DataFrame:
    core = _core(design, "proportion", var, by, None, False, ci=ci, full_cov=False, rows=True)
    return _table(core, ci, 0.95)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ci", CIS)
def test_one_pass_equals_general_path(seed: int, ci: str) -> None:
    design = _sample(seed)
    assert onepass_core(design, "y", ["g"], full_cov=False, ci="t") is not None  # it applies
    fast = estimate(design, "proportion", "y", by="g", ci=ci)
    slow = _general(design, "y", ["g"], ci)
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-12, atol=0)
    assert list(fast["g"]) == sorted(fast["g"])  # domains in sorted order, absent values out
    assert set(fast["category"]) == {"1", "2", "5"}


@pytest.mark.parametrize("ci", ["t", "logit"])
def test_one_pass_equals_row_level_engine(ci: str) -> None:
    design = _sample(4)
    fast = estimate(design, "proportion", "y", by="g", ci=ci)
    rows = _row_level(design, "y", ["g"], ci)
    pd.testing.assert_frame_equal(fast, rows, check_exact=False, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "float32", "float64"])
def test_one_pass_dtypes(dtype: str) -> None:
    design = _sample(5, dtype=dtype)
    fast = estimate(design, "proportion", "y", by="g", ci="logit")
    slow = _general(design, "y", ["g"], "logit")
    pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-12, atol=0)
    assert fast["g"].dtype == slow["g"].dtype


@pytest.mark.parametrize("values", [(-3, -1, 0, 2), (1000, 1002, 1003), (600, 601, 603), (0,)])
def test_one_pass_value_ranges(values: tuple[int, ...]) -> None:
    design = _sample(6, by_values=values, item_values=tuple(v + 7 for v in values) or (1,))
    assert onepass_core(design, "y", ["g"], full_cov=False, ci="t") is not None
    for ci in ("t", "logit"):
        fast = estimate(design, "proportion", "y", by="g", ci=ci)
        slow = _general(design, "y", ["g"], ci)
        pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-12, atol=0)


@pytest.mark.parametrize("psu, fpc", [(False, False), (True, True)])
def test_one_pass_without_by_and_other_designs(psu: bool, fpc: bool) -> None:
    design = _sample(7, psu=psu, fpc=fpc)
    for by in ([], ["g"]):
        for ci in ("t", "logit"):
            fast = estimate(design, "proportion", "y", by=by or None, ci=ci)
            slow = _general(design, "y", by, ci)
            pd.testing.assert_frame_equal(fast, slow, check_exact=False, rtol=1e-12, atol=0)


def test_one_pass_full_covariance() -> None:
    design = _sample(8)
    table, cov = estimate_vcov(design, "proportion", "y", by="g")
    core = _core(design, "proportion", "y", ["g"], np.ones(design.n, dtype=bool), False,
                 ci="logit", full_cov=True)
    np.testing.assert_allclose(cov, core.covariance, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(table["se"], np.sqrt(np.diag(core.covariance)), rtol=1e-12)


def test_one_pass_domain_codes_and_yes_counts() -> None:
    """The lazily made row codes equal the general coding; yes counts are row counts."""
    design = _sample(9)
    core = onepass_core(design, "y", ["g"], full_cov=False, ci="t")
    assert core is not None and core.yes is not None
    general = _domains(design, ["g"], None)
    np.testing.assert_array_equal(core.domains.code, general.code)
    pd.testing.assert_frame_equal(core.domains.levels, general.levels)
    frame = design.data
    counts = frame.groupby(["g", "y"]).size().unstack(fill_value=0).to_numpy().ravel()
    np.testing.assert_array_equal(core.yes, counts)


@pytest.mark.parametrize("change", ["nan_item", "nan_by", "fraction", "zero_weight", "text",
                                    "wide_range", "two_by", "replicate", "nullable",
                                    "nullable_na", "categorical", "bool"])
def test_one_pass_declines_what_it_does_not_cover(change: str) -> None:
    """Anything outside the one-pass case goes to the general path, with the same
    numbers there as before (the general path is tested on its own)."""
    design = _sample(10)
    frame = design.data.copy()
    by = ["g"]
    if change == "nan_item":
        frame.loc[5, "y"] = np.nan
    elif change == "nan_by":
        frame.loc[5, "g"] = np.nan
    elif change == "fraction":
        frame.loc[5, "y"] = 1.5
    elif change == "zero_weight":
        frame.loc[5, "w"] = 0.0
    elif change == "text":
        frame["y"] = frame["y"].map({1.0: "a", 2.0: "b", 5.0: "c"})
    elif change == "wide_range":
        frame.loc[5, "y"] = 500.0
    elif change == "two_by":
        by = ["g", "h"]
    elif change == "nullable":
        frame["g"] = frame["g"].astype("Int64")
    elif change == "nullable_na":
        frame["y"] = frame["y"].astype("Int64")
        frame.loc[5, "y"] = pd.NA
    elif change == "categorical":
        frame["g"] = frame["g"].astype("category")
    elif change == "bool":
        frame["y"] = frame["y"] > 1
    changed = (_replicate(frame) if change == "replicate"
               else Design(frame, weight="w", strata="h", psu="psu"))
    assert onepass_core(changed, "y", by, full_cov=False, ci="t") is None
    estimate(changed, "proportion", "y", by=by, ci="t")  # the general path answers


def _replicate(frame: pd.DataFrame) -> Design:
    rng = np.random.default_rng(0)
    reps = {f"r{i}": frame["w"] * rng.uniform(0.5, 1.5, len(frame)) for i in range(4)}
    data = frame.assign(**reps)
    return Design(data, weight="w", repweights="^r[0-9]$", repmethod="bootstrap")
