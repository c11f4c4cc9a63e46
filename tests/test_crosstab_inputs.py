"""sid.tables.crosstabs input checks (issue 10): one line for every input it cannot cross."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sid.design import Design
from sid.errors import SidError
from sid.tables.crosstabs import crosstab


@pytest.fixture(scope="module")
def design() -> Design:
    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame({"a": rng.integers(1, 3, n).astype(float),
                       "b": rng.integers(1, 4, n).astype(float), "w": 1.0,
                       "s": rng.integers(0, 4, n), "p": np.arange(n) // 4, "one": 1.0,
                       "c": "x"})
    df.loc[0, ["w", "b"]] = [0.0, 9.0]  # a code seen only on a row of weight 0
    return Design(df, weight="w", strata="s", psu="p")


@pytest.mark.parametrize(("row", "col", "kw", "message"), [
    ("a", "one", {}, "at least two categories"),
    ("one", "a", {}, "at least two categories"),
    ("a", "b", {"where": "a == 1"}, "at least two categories"),
    ("a", "b", {"where": "b == 9"}, "got a: none; b: none"),
    ("a", "b", {"where": "b != 3 and b != 2"}, "at least two categories"),
    ("a", "c", {}, "not numeric"),
    ("a", "b", {"conf_level": "0.9"}, "conf_level must be between 0 and 1"),
    ("a", "b", {"conf_level": float("nan")}, "conf_level must be between 0 and 1"),
    ("a", "b", {"ci": ["t"]}, "unknown CI method"),
    ("a", "a", {}, "same variable"),
    ("a", "b", {"where": "a > 1e400"}, "number out of range"),
])
def test_bad_crosstab_is_one_line(design: Design, row: str, col: str, kw: dict,
                                  message: str) -> None:
    with pytest.raises(SidError, match=message) as info:
        crosstab(design, row, col, **kw)
    assert "\n" not in str(info.value)


def test_code_only_on_zero_weight_rows_is_no_category(design: Design) -> None:
    """b = 9 occurs only with weight 0: no all-zero column, no NaN, no RuntimeWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = crosstab(design, "a", "b")
    assert sorted(x.cells["col"].unique()) == [1.0, 2.0, 3.0]
    assert not x.cells["estimate"].isna().any()
