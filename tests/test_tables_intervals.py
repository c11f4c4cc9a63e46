"""The book's interval rule (sid.tables.intervals): logit, or Korn-Graubard for rare outcomes.

Golden numbers: tests/reference/kg_switch_golden.R (R's svyciprop logit and beta, and the
NCHS rule for an estimate of exactly 0 or 1), compared at rtol 1e-9.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sid.design import Design
from sid.estimation import estimate
from sid.estimation.intervals import beta_extreme, korn_graubard_switch
from sid.tables.intervals import FEW, published_interval

REF = Path(__file__).parent / "reference"


def _golden() -> pd.DataFrame:
    path = REF / "kg_switch_golden.csv"
    if not path.is_file():
        pytest.fail(f"golden file missing: {path} (run Rscript tests/reference/kg_switch_golden.R)")
    return pd.read_csv(path)


def _design() -> Design:
    data = pd.read_csv(REF / "data" / "kg_switch_data.csv")
    return Design(data, weight="w", strata="stratum", psu="psu")


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_switch_matches_r(level: float) -> None:
    gold = _golden()
    gold = gold[gold["level"] == level].sort_values(["wave", "group"]).reset_index(drop=True)
    design = _design()
    data = design.data
    kw = dict(by=["wave", "group"], conf_level=level)
    lg = estimate(design, "proportion", "y", ci="logit", **kw)
    bt = estimate(design, "proportion", "y", ci="beta", **kw)
    lg = lg[lg["category"] == "1"].sort_values(["wave", "group"]).reset_index(drop=True)
    bt = bt[bt["category"] == "1"].sort_values(["wave", "group"]).reset_index(drop=True)
    valid = data[data["y"].notna()]
    counts = valid.groupby(["wave", "group"])["y"].agg(["sum", "count"]).reset_index()
    counts = counts.sort_values(["wave", "group"]).reset_index(drop=True)
    n_yes = counts["sum"].to_numpy()
    n_no = (counts["count"] - counts["sum"]).to_numpy()
    np.testing.assert_array_equal(n_yes, gold["n_yes"])
    np.testing.assert_array_equal(n_no, gold["n_no"])
    np.testing.assert_array_equal(lg["n"], gold["n"])
    est, lo, hi, method = published_interval(
        lg["n"].to_numpy(), lg["df"].to_numpy(), n_yes, n_no,
        (lg["estimate"].to_numpy(), lg["ci_low"].to_numpy(), lg["ci_high"].to_numpy()),
        (bt["estimate"].to_numpy(), bt["ci_low"].to_numpy(), bt["ci_high"].to_numpy()),
        level=level)
    np.testing.assert_allclose(est, gold["estimate"], rtol=1e-7, atol=1e-11)
    assert list(method) == list(gold["method"])
    np.testing.assert_allclose(lo, gold["low"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(hi, gold["high"], rtol=1e-9, atol=0)
    # R's beta interval where it exists; the NCHS extreme interval where p is 0 or 1
    inner = gold["beta_low"].notna().to_numpy()
    np.testing.assert_allclose(bt["ci_low"].to_numpy()[inner], gold["beta_low"][inner], rtol=1e-9)
    np.testing.assert_allclose(bt["ci_high"].to_numpy()[inner], gold["beta_high"][inner], rtol=1e-9)
    ext_lo, ext_hi = beta_extreme(gold["estimate"], gold["n"], gold["df"], level)
    ext = gold["extreme_low"].notna().to_numpy()
    np.testing.assert_allclose(ext_lo[ext], gold["extreme_low"][ext], rtol=1e-9, atol=0)
    np.testing.assert_allclose(ext_hi[ext], gold["extreme_high"][ext], rtol=1e-9, atol=0)
    assert np.isnan(ext_lo[~ext]).all()
    # where Korn-Graubard is used, the published estimate is R's (svymean) exactly
    kg = method == "beta"
    np.testing.assert_allclose(est[kg], gold["estimate"][kg], rtol=1e-9, atol=0)
    # never zero width while n > 0
    assert (hi - lo > 0).all()


def test_rule_thresholds() -> None:
    lo, hi = np.array([0.1, 0.1, 0.1, 0.0, 0.1]), np.array([0.2, 0.2, 0.2, 0.0, np.nan])
    yes = np.array([FEW - 1, FEW, 50, 50, 50])
    no = np.array([100, 100, FEW - 1, 100, 100])
    assert list(korn_graubard_switch(yes, no, lo, hi)) == [True, False, True, True, True]
    # a group with no answers publishes nothing: it keeps the logit (empty) interval
    assert not korn_graubard_switch(np.array([0]), np.array([0]), np.array([np.nan]),
                                 np.array([np.nan]))[0]
