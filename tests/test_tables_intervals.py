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


def test_counts_and_matching_as_pandas_groupby_and_reindex() -> None:
    """yes_no_counts and aligned (numpy, for speed) give what the book's former pandas
    code gave: a groupby on the keys as text, a reindex by the estimates' keys."""
    from sid.tables.intervals import aligned, text_keys, yes_no_counts

    rng = np.random.default_rng(3)
    n = 400
    data = pd.DataFrame({"wave": pd.Categorical(rng.choice(["2017", "2022"], n)),
                         "g": rng.choice([1.0, 2.0, 3.0, 10.0], n),
                         "s": rng.choice([0.0, 1.0], n),
                         "y": rng.choice([0.0, 1.0], n, p=[0.9, 0.1])})
    keys = ["wave", "g", "s"]
    # the estimates' groups: some without rows (g 4), in another order than the data
    est = pd.DataFrame([(w, g, s) for w in ("2022", "2017") for g in (10.0, 4.0, 1.0, 2.0, 3.0)
                        for s in (1.0, 0.0)], columns=keys)
    counts = data.groupby([data[k].astype(str) for k in keys], observed=True)["y"] \
        .agg(["sum", "count"])
    idx = pd.MultiIndex.from_arrays([est[k].astype(str) for k in keys])
    counts = counts.reindex(idx)
    wanted = text_keys(est, keys)
    yes, no = yes_no_counts(data[keys], data["y"].to_numpy(), keys, wanted)
    np.testing.assert_array_equal(yes, counts["sum"].fillna(0).to_numpy(dtype=float))
    np.testing.assert_array_equal(no, (counts["count"] - counts["sum"]).fillna(0)
                                  .to_numpy(dtype=float))
    assert (yes[[k[1] == "4.0" for k in wanted]] == 0).all() and yes.sum() == data["y"].sum()
    # aligned: the rows of another frame by the same keys, NaN where it has none
    beta = est.iloc[::-1].iloc[3:].assign(estimate=np.arange(17.0))
    expected = beta.set_index(pd.MultiIndex.from_arrays([beta[k].astype(str) for k in keys])) \
        .reindex(idx)["estimate"].to_numpy()
    (got,) = aligned(beta, text_keys(beta, keys), wanted, ("estimate",))
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got).sum() == 3
    # no rows at all: zero counts
    yes, no = yes_no_counts(data[keys].iloc[:0], np.array([]), keys, wanted)
    assert not yes.any() and not no.any()


def test_text_codes_as_factorising_the_text_of_every_row() -> None:
    """yes_no_counts' keys: a float64 column factorised by its bits and formatted once per
    distinct value gives the codes and uniques of formatting every row."""
    from sid.tables.intervals import _text_codes

    rng = np.random.default_rng(11)
    other_nan = np.array([np.nan]).view(np.int64) ^ 1
    columns = [
        pd.Series(rng.choice([1.0, 2.0, 10.0, np.nan, -0.0, 0.0, 1e300, 0.1 + 0.2, 0.3, np.inf,
                              -np.inf], 500)),
        pd.Series(np.concatenate([[1.0, np.nan], other_nan.view(np.float64), [-np.nan]])),
        pd.Series([], dtype=float), pd.Series(rng.normal(size=300)),
        pd.Series(rng.integers(0, 5, 50)), pd.Series(pd.Categorical(["b", "a", "b"])),
        pd.Series(["x", None, "y"], dtype=object),
    ]
    for column in columns:
        code, uniques = pd.factorize(column.astype(str).to_numpy())
        got_code, got_uniques = _text_codes(column)
        np.testing.assert_array_equal(got_code, code)
        assert list(got_uniques) == list(uniques)
