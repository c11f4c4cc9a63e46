"""Tests for the safe expression language (sid.expr)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sid.errors import CodebookError
from sid.expr import Expr, evaluate, parse, variables


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "werksituatie": [1.0, 2.0, 3.0, np.nan, 6.0],
            "leeftijd": [15.0, 24.9, 25.0, 85.0, 86.0],
            "nat": pd.Series(["BE", "MA", None, "TR", "BE"]),
            "w": [1.0, 0.0, 2.0, np.nan, 4.0],
        }
    )


def values(expr: str, df: pd.DataFrame) -> list:
    return evaluate(expr, df).tolist()


def test_comparisons_and_missing_are_false(df):
    assert values("werksituatie == 1", df) == [True, False, False, False, False]
    # != and not in exclude missing rows, as documented
    assert values("werksituatie != 1", df) == [False, True, True, False, True]
    assert values("werksituatie not in [1, 2]", df) == [False, False, True, False, True]
    assert values("werksituatie in [1, 2]", df) == [True, True, False, False, False]
    # 'not' inverts, so it selects missing rows
    assert values("not (werksituatie == 1)", df) == [False, True, True, True, True]
    assert values("werksituatie >= 2", df) == [False, True, True, False, True]


def test_result_types(df):
    assert evaluate("werksituatie in [1, 2]", df).dtype == bool
    assert evaluate("leeftijd + 1", df).dtype == np.float64
    assert evaluate("between(w, 1, 2)", df).dtype == bool
    out = evaluate("w > 0", df)
    assert out.index.equals(df.index)


def test_chained_comparison(df):
    assert values("15 <= leeftijd < 25", df) == [True, True, False, False, False]
    assert values("1 < werksituatie <= 3", df) == [False, True, True, False, False]


def test_text(df):
    assert values("nat == 'BE'", df) == [True, False, False, False, True]
    assert values("nat != 'BE'", df) == [False, True, False, True, False]
    assert values('nat in ["MA", "TR"]', df) == [False, True, False, True, False]
    assert values("nat not in ['MA']", df) == [True, False, False, True, True]
    assert values("isna(nat)", df) == [False, False, True, False, False]


def test_boolean_logic(df):
    assert values("werksituatie == 1 or nat == 'TR'", df) == [True, False, False, True, False]
    assert values("werksituatie in [1, 2, 6] and nat == 'BE'", df) == [True, False, False, False, True]
    # numbers in a boolean context: non-zero and not missing
    assert values("w and True", df) == [True, False, True, False, True]
    assert values("not w", df) == [False, True, False, True, False]


def test_arithmetic_propagates_nan(df):
    out = evaluate("w * 2 + 1", df).to_numpy()
    np.testing.assert_array_equal(out, [3.0, 1.0, 5.0, np.nan, 9.0])
    out = evaluate("leeftijd / w", df).to_numpy()
    # division by zero is NaN, not inf
    np.testing.assert_array_equal(out, [15.0, np.nan, 12.5, np.nan, 21.5])
    assert values("-w", df)[:3] == [-1.0, -0.0, -2.0]


def test_functions(df):
    np.testing.assert_array_equal(evaluate("abs(0 - w)", df), [1, 0, 2, np.nan, 4])
    np.testing.assert_array_equal(evaluate("round(leeftijd / 10)", df), [2, 2, 2, 8, 9])
    np.testing.assert_array_equal(evaluate("round(24.96, 1) + 0 * w", df), [25.0, 25.0, 25.0, np.nan, 25.0])
    np.testing.assert_array_equal(evaluate("min(w, 1)", df), [1, 0, 1, np.nan, 1])
    np.testing.assert_array_equal(evaluate("max(w, 1, werksituatie)", df), [1, 2, 3, np.nan, 6])
    assert values("notna(w)", df) == [True, True, True, False, True]
    assert values("between(leeftijd, 25, 85)", df) == [False, False, True, True, False]
    np.testing.assert_array_equal(evaluate("ifelse(w > 0, 1, 2)", df), [1, 2, 1, 2, 1])


def test_cut_right_open(df):
    out = evaluate("cut(leeftijd, [15, 25, 35, 50, 65, 86])", df).to_numpy()
    np.testing.assert_array_equal(out, [1, 1, 2, 5, np.nan])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-50, 150), st.just(float("nan"))), min_size=1, max_size=40),
    st.lists(st.integers(-40, 140), min_size=2, max_size=6, unique=True),
)
def test_cut_matches_pandas_cut_right_false(xs, breaks):
    breaks = sorted(breaks)
    frame = pd.DataFrame({"x": xs})
    got = evaluate(f"cut(x, {breaks})", frame).to_numpy()
    expected = pd.cut(frame["x"], breaks, right=False, labels=False).to_numpy(dtype=float) + 1
    np.testing.assert_array_equal(got, expected)


def test_ifelse_with_text_branches(df):
    """Two text constants used to give a numpy '<U' array that evaluate() cast to float (crash)."""
    got = evaluate("ifelse(werksituatie in [1, 2], 'werkt', 'werkt niet')", df)
    assert got.tolist() == ["werkt", "werkt", "werkt niet", "werkt niet", "werkt niet"]
    assert values("isna(ifelse(w > 0, nat, 'x'))", df) == [False, False, True, False, False]
    assert values("ifelse(1 == 1, 'a', 'b')", df) == ["a"] * 5


def test_scalar_broadcast(df):
    assert values("1 == 1", df) == [True] * 5
    assert values("3", df) == [3.0] * 5


def test_variables_and_parse():
    assert variables("werksituatie in [1, 2] and cut(lft, [15, 25]) == 1") == {"werksituatie", "lft"}
    expr = parse("a > 1")
    assert isinstance(expr, Expr)
    assert parse(expr) is expr
    assert variables("1 + 2") == set()


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("a = 1", "=="),
        ("a ** 2", "'**'"),
        ("a & b", "'and'"),
        ("__import__('os')", "unknown function"),
        ("a.b", "Attribute"),
        ("lambda: 1", "Lambda"),
        ("x[0]", "Subscript"),
        ("cut(a, [3, 1])", "increase strictly"),
        ("cut(a, 3)", "list of constants"),
        ("cut(a)", "argument"),
        ("a in b", "list of constants"),
        ("a is None", "'is'"),
        ("cnt(a)", "did you mean cut"),
        ("round(a, b)", "whole number"),
        ("", "empty"),
        ("[1, 2]", "list"),
        ("cut", "function"),
        ("f'{a}'", "not allowed"),
        ("a if b else c", "not allowed"),
    ],
)
def test_refused_expressions(expression, fragment):
    with pytest.raises(CodebookError) as info:
        parse(expression)
    message = info.value.line()
    assert fragment in message
    assert "expression" in message


def test_error_names_position():
    with pytest.raises(CodebookError) as info:
        parse("a == 1 and b ** 2 > 1")
    assert "column 12" in info.value.line()


def test_unknown_variables_listed_with_suggestions(df):
    with pytest.raises(CodebookError) as info:
        evaluate("werksitautie == 1 and leeftyd > 3 and zzz == 1", df)
    msg = info.value.line()
    assert "werksitautie (did you mean werksituatie?)" in msg
    assert "leeftyd (did you mean leeftijd?)" in msg
    assert "zzz" in msg


def test_type_errors(df):
    with pytest.raises(CodebookError, match="text with a number"):
        evaluate("nat == 1", df)
    with pytest.raises(CodebookError, match="arithmetic on text"):
        evaluate("nat + 1", df)
    with pytest.raises(CodebookError, match="text"):
        evaluate("werksituatie in ['BE']", df)


def test_does_not_modify_input(df):
    before = df.copy()
    evaluate("cut(leeftijd, [15, 50, 86]) == 1 and w / 0 > 1", df)
    pd.testing.assert_frame_equal(df, before)


def test_vectorised_speed():
    n = 1_000_000
    frame = pd.DataFrame({"a": np.arange(n, dtype=float) % 7, "b": np.arange(n, dtype=float)})
    import time

    t0 = time.perf_counter()
    out = evaluate("a in [1, 2] and cut(b, [0, 1000, 500000, 2000000]) >= 2", frame)
    assert time.perf_counter() - t0 < 2.0
    assert int(out.sum()) == int(((frame.a.isin([1, 2])) & (frame.b >= 1000)).sum())


# --------------------------------------------------------------------------- hostile input (issue 10)


@pytest.mark.parametrize(("text", "message"), [
    ("werksituatie == " + "9" * 400, "number out of range"),
    ("werksituatie == " + "9" * 5000, "number out of range"),
    ("werksituatie < 1e400", "number out of range"),
    ("werksituatie in [1, " + "9" * 400 + "]", "number out of range"),
    ("cut(leeftijd, [0, 1e400])", "number out of range"),
    ("round(leeftijd, 100000000000000000000)", "round\\(\\) digits must lie between"),
    ("round(leeftijd, -100000000000000000000)", "round\\(\\) digits must lie between"),
    ("round(leeftijd, 309)", "round\\(\\) digits must lie between"),
    ("(" * 1000 + "leeftijd" + ")" * 1000, "nested too deeply"),
    ("not " * 1000 + "leeftijd", "nested too deeply"),
    ("-" * 5000 + "leeftijd", "nested too deeply"),
    ("leeftijd" + " + leeftijd" * 400, "nested too deeply"),
    ("leeftijd" + "+leeftijd" * 2000, "too long"),
])
def test_hostile_expression_is_one_line(df, text, message):
    with pytest.raises(CodebookError, match=message) as info:
        evaluate(text, df)
    line = str(info.value)
    assert "\n" not in line and len(line) < 400  # the expression is shortened in the message


def test_cut_of_a_constant(df):
    assert values("cut(3, [0, 5, 10])", df) == [1.0] * 5
    assert np.isnan(values("cut(30, [0, 5, 10])", df)).all()
    assert values("cut(True, [0, 2])", df) == [1.0] * 5


def test_round_never_overflows_to_nan(df):
    # x already has no digits to drop at this precision: returned unchanged (R does the same)
    assert values("round(leeftijd * 1e300, 20)", df)[0] == 15e300
    assert values("round(leeftijd, 300)", df)[:3] == [15.0, 24.9, 25.0]
    assert values("round(leeftijd, -308)", df)[:3] == [0.0, 0.0, 0.0]
    assert values("round(leeftijd, -1)", df)[:3] == [20.0, 20.0, 20.0]  # half to even
    assert values("round(24.96, 1)", df)[0] == 25.0


def test_overflow_gives_nan_not_inf(df):
    out = values("leeftijd * 1e308 * 10", df)
    assert np.isnan(out).all()


def test_deep_but_legal_expression_evaluates_under_a_deep_stack(df):
    text = "leeftijd" + " + leeftijd" * 150

    def nested(k: int) -> list:
        return nested(k - 1) if k else values(text, df)

    try:
        got = nested(600)
    except CodebookError as exc:  # a deep caller may leave too little stack: one line
        assert "nested too deeply" in str(exc)
    else:
        assert got[0] == pytest.approx(151 * 15.0)


_ATOMS = st.sampled_from([
    "werksituatie", "leeftijd", "nat", "w", "1", "0", "-3", "2.5", "'BE'", "True", "1e308",
    "1e400", "9" * 30, "nope", "[1, 2]", "()", "None", "x.y", "f(1)", "''", "'\\x00'",
])
_OPS = st.sampled_from([" + ", " - ", " * ", " / ", " == ", " != ", " < ", " >= ", " and ",
                        " or ", " in ", " not in ", " ** ", " // ", " & ", " | ", " if ", ", "])
_FUNCS = st.sampled_from(["cut", "round", "abs", "min", "max", "ifelse", "isna", "notna",
                          "between", "eval", "open", "not ", "-", ""])


def _expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        _ATOMS,
        lambda inner: st.one_of(
            st.tuples(inner, _OPS, inner).map("".join),
            st.tuples(_FUNCS, st.lists(inner, min_size=0, max_size=3)).map(
                lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(inner, st.lists(st.integers(-10**25, 10**25), max_size=4)).map(
                lambda t: f"cut({t[0]}, {t[1]})"),
            st.tuples(inner, st.integers(-10**22, 10**22)).map(lambda t: f"round({t[0]}, {t[1]})"),
            inner.map(lambda s: f"({s})"),
        ),
        max_leaves=12,
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(_expressions(), st.text(max_size=60)))
def test_expressions_never_traceback(text):
    """Whatever the text, evaluation gives a Series or one SidError line, never a traceback."""
    from sid.errors import SidError

    frame = pd.DataFrame({"werksituatie": [1.0, np.nan, 3.0], "leeftijd": [15.0, 40.0, 90.0],
                          "nat": ["BE", None, "MA"], "w": [1.0, 0.0, 2.0]})
    try:
        out = evaluate(text, frame)
    except SidError as exc:
        assert str(exc).strip()
    else:
        assert len(out) == 3
