"""Family ``expr``: Hypothesis-generated expressions through :func:`sid.expr.evaluate` on a frame.

The grammar mixes what the language allows (names, numbers, strings,
comparisons, ``in``, boolean operators, arithmetic, its functions) with what
it must refuse in one line (``**``, attributes, subscripts, lambdas, unknown
functions and names, wrong argument counts, huge literals, ``round(x, 10**20)``,
``cut`` on a constant or with broken breaks, text in arithmetic). Every
expression runs in a forked child: it returns a Series as long as the frame,
or raises a SidError. Hypothesis is used as a seeded generator (no shrinking:
every input that breaks the oracle is kept, the run goes on).
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from fuzzing.core import Context, Family
from fuzzing.oracle import Finding, api_findings
from fuzzing.runner import run_in_child

COLUMNS = ("x", "n", "k", "s", "b", "c", "big", "e", "neg", "d")
FUNCS = ("cut", "isna", "notna", "between", "abs", "round", "min", "max", "ifelse")
HOSTILE_FUNCS = ("eval", "__import__", "len", "open", "getattr", "exec", "print")


def frame(rows: int = 40) -> pd.DataFrame:
    """A small frame with every kind of column an expression meets."""
    rng = np.random.default_rng(1)
    x = rng.normal(40, 15, rows)
    x[::7] = np.nan
    s = np.array(["BE", "MA", "", "TR", None] * (rows // 5), dtype=object)
    return pd.DataFrame({
        "x": x, "n": np.arange(rows, dtype="int64"), "k": rng.integers(1, 4, rows).astype(float),
        "s": s, "b": np.arange(rows) % 2 == 0, "c": np.full(rows, 5.0),
        "big": np.full(rows, 1e308), "e": np.full(rows, np.nan), "neg": -np.arange(rows) - 0.5,
        "d": pd.Categorical(rng.integers(1, 3, rows)),
    })


def _number() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-1000, 1000).map(str),
        st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
        st.sampled_from(["1e308", "1e309", "-1e309", "9" * 400, "9" * 5000, "0.0", "1_000",
                         "0x1F", "1j", "1e-400", "10**20"]),
    )


def _atom() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(COLUMNS), _number(),
        st.sampled_from(["'BE'", "''", "\"TR\"", "True", "False", "None", "nope", "_x",
                         "'" + "a" * 10_000 + "'", "b'x'", "..."]),
    )


def _const_list() -> st.SearchStrategy[str]:
    item = st.one_of(_number(), st.sampled_from(["'BE'", "''", "x", "None", "[1]"]))
    return st.lists(item, max_size=6).map(lambda v: "[" + ", ".join(v) + "]")


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binop = st.sampled_from(["+", "-", "*", "/", "**", "//", "%", "==", "!=", "<", "<=", ">",
                             ">=", "and", "or", "&", "|", "@", "<<", "is", "is not"])
    args = st.lists(inner, max_size=4).map(", ".join)
    return st.one_of(
        st.tuples(inner, binop, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["not ", "-", "+", "~"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
        st.tuples(inner, st.sampled_from(["in", "not in"]), _const_list()).map(" ".join),
        st.tuples(inner, st.sampled_from(["<", "<=", "=="]), inner, st.sampled_from(["<", "<="]),
                  inner).map(" ".join),
        st.tuples(st.sampled_from(FUNCS + HOSTILE_FUNCS), args).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, _const_list()).map(lambda t: f"cut({t[0]}, {t[1]})"),
        st.tuples(inner, st.sampled_from(["0", "2", "-3", "10**20", "1e20", "99999999999",
                                          "x", "'a'", "1.5", "None"]))
        .map(lambda t: f"round({t[0]}, {t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"ifelse({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"between({t[0]}, {t[1]}, {t[2]})"),
        inner.map(lambda a: f"{a}.__class__"),
        inner.map(lambda a: f"{a}[0]"),
        inner.map(lambda a: f"(lambda: {a})()"),
        inner.map(lambda a: f"[{a} for _ in x]"),
        inner.map(lambda a: f"f'{{{a}}}'"),
    )


def expressions() -> st.SearchStrategy[str]:
    """Expressions, mostly well-formed, some broken or hostile."""
    grammar = st.recursive(_atom(), _extend, max_leaves=12)
    broken = st.one_of(
        st.text(max_size=30),
        grammar.map(lambda e: e[: max(1, len(e) // 2)]),
        st.sampled_from(["(" * 200 + "x" + ")" * 200, "(" * 5000 + "x" + ")" * 5000,
                         "x" + " + x" * 20000, "not " * 3000 + "b", "-" * 3000 + "x", ""]),
    )
    return st.one_of(grammar, grammar, grammar, broken)


def evaluate_checked(expression: str, data: pd.DataFrame) -> str:
    """Evaluate and check the shape: a Series indexed like the frame."""
    from sid.expr import evaluate

    out = evaluate(expression, data)
    if not isinstance(out, pd.Series) or len(out) != len(data) or not out.index.equals(data.index):
        raise AssertionError(f"evaluate returned {type(out).__name__} of length "
                             f"{getattr(out, '__len__', lambda: '?')()} for a frame of {len(data)}")
    return str(out.dtype)


class ExprFamily(Family):
    name = "expr"
    cost = 0.02

    def setup(self, ctx: Context) -> None:
        ctx.cache.setdefault("expr_frame", frame())

    def check(self, expression: str, ctx: Context) -> list[Finding]:
        res = run_in_child(evaluate_checked, expression, ctx.cache["expr_frame"],
                           timeout=min(ctx.timeout, 20.0), memory=ctx.memory)
        recipe = {"expression": expression[:2000]}
        found = api_findings(self.name, recipe, f"sid.expr.evaluate({expression[:200]!r}, frame)",
                             res)
        return found

    def one(self, rng: random.Random, i: int, ctx: Context) -> list[Finding]:  # pragma: no cover
        raise NotImplementedError("run() drives Hypothesis")

    def run(self, rng: random.Random, ctx: Context, *, inputs: int | None,
            seconds: float | None) -> tuple[int, list[Finding]]:
        found: list[Finding] = []
        tried = [0]
        start = time.perf_counter()
        limit = inputs if inputs is not None else 1_000_000

        @hypothesis_seed(rng.randrange(2**32))
        @settings(max_examples=limit, deadline=None, database=None, phases=[Phase.generate],
                  report_multiple_bugs=False, print_blob=False,
                  suppress_health_check=list(HealthCheck))
        @given(expressions())
        def explore(expression: str) -> None:
            if seconds is not None and time.perf_counter() - start > seconds:
                raise _Stop  # Hypothesis would go on generating no-op examples
            if inputs is not None and tried[0] >= inputs:
                raise _Stop
            tried[0] += 1
            found.extend(self.check(expression, ctx))

        with contextlib.suppress(_Stop):
            explore()
        return tried[0], found


class _Stop(Exception):
    """The budget is used up (raised inside the Hypothesis test to end the run)."""


def replay(expression: str) -> Any:  # pragma: no cover - a helper for people
    """Evaluate one expression in-process on the fuzz frame (to debug a finding)."""
    return evaluate_checked(expression, frame())
