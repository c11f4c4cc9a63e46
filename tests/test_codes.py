"""Tests for the bottom-layer helpers sid.codes (combined keys) and sid.formatting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sid.codes import combine_codes, dense_codes, split_codes
from sid.errors import format_number as errors_format_number
from sid.formatting import format_number, plain_number


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, 6)), min_size=1, max_size=40))
def test_combined_keys_sort_like_tuples_and_split_back(rows: list[tuple[int, int, int]]) -> None:
    cols = [np.array(c, dtype=np.int64) for c in zip(*rows, strict=True)]
    sizes = [5, 3, 7]
    key = combine_codes(cols, sizes)
    assert [tuple(map(int, r)) for r in zip(*split_codes(key, sizes), strict=True)] == rows
    order = np.argsort(key, kind="stable")
    assert [rows[i] for i in order] == sorted(rows)
    cells, inverse = dense_codes(key)
    assert list(cells) == sorted(set(key.tolist()))
    assert np.array_equal(cells[inverse], key)


def test_combine_codes_defaults_and_overflow() -> None:
    a, b = np.array([2, 0, 2, 1]), np.array([1, 3, 0, 3])
    assert combine_codes([a, b]).tolist() == [2 * 4 + 1, 3, 8, 4 + 3]
    big = [np.array([1, 0, 1]), np.array([0, 5, 0]), np.array([3, 3, 2])]
    ranks = combine_codes(big, [2**31, 2**31, 2**31])  # product over int64: ranks of tuples
    assert ranks.tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="0..size-1"):
        combine_codes([np.array([0, 3])], [3])


def test_dense_codes_both_paths_agree() -> None:
    small = np.array([5, 2, 5, 9])
    large = small * 10_000
    c1, i1 = dense_codes(small)
    c2, i2 = dense_codes(large)
    assert c1.tolist() == [2, 5, 9] and c2.tolist() == [20_000, 50_000, 90_000]
    assert i1.tolist() == i2.tolist() == [1, 0, 1, 2]


def test_format_number_is_the_one_rule() -> None:
    assert errors_format_number is format_number
    cases = {7.0: "7", -3.0: "-3", 2.5: "2.5", np.float64(4.0): "4", np.float32(2.0): "2",
             np.int64(3): "3", True: "True", "1.0": "1.0", None: "None"}
    for value, text in cases.items():
        assert format_number(value) == text, value
    assert format_number(float("nan")) == "nan" and format_number(float("inf")) == "inf"
    assert plain_number(7.0) == 7 and isinstance(plain_number(7.0), int)
    assert plain_number(np.float64(-2.0)) == -2 and isinstance(plain_number(np.float64(-2.0)), int)
    assert plain_number(2.5) == 2.5 and plain_number("x") == "x" and plain_number(True) is True


def test_plain_number_gives_python_numbers() -> None:
    for value, expected, kind in ((np.float64(2.5), 2.5, float), (np.int32(4), 4, int), (3, 3, int),
                                  (np.float32(6.0), 6, int)):
        got = plain_number(value)
        assert got == expected and type(got) is kind, value
