"""A small, safe expression language over the columns of a data frame.

One language serves ``--where`` on the command line, derived variables and
filters in codebooks, and the bases of table specs. An expression is parsed
with Python's :mod:`ast` and only a whitelist of node types is accepted, then
evaluated vectorised with numpy; nothing is ever passed to ``eval``.

Syntax
------
* names (columns of the frame), numbers, strings in quotes, ``True``/``False``;
* comparisons ``== != < <= > >=``, chained too (``15 <= age < 25``);
* ``x in [1, 2]`` and ``x not in [1, 2]`` (a list or tuple of constants);
* ``and``, ``or``, ``not`` and parentheses;
* arithmetic ``+ - * /`` and unary minus;
* functions: ``cut(x, [b0, b1, ..., bk])`` (right-open bins ``[b0, b1)``, ...,
  ``[b(k-1), bk)`` as R's ``cut(right=FALSE)``; returns codes 1..k, NaN
  outside), ``isna(x)``, ``notna(x)``, ``between(x, lo, hi)`` (inclusive),
  ``abs(x)``, ``round(x[, digits])`` (half to even, as numpy and R),
  ``min(a, b, ...)`` / ``max(a, b, ...)`` (elementwise), ``ifelse(cond, a, b)``.

Missing values (NaN, or an empty cell of a text column)
-------------------------------------------------------
* a comparison, ``in``, ``not in`` or ``between`` with a missing operand is
  **False** (so ``x != 1`` and ``x not in [1]`` do not select missing rows);
* ``not`` simply inverts: ``not (x == 1)`` *does* select missing rows;
* arithmetic, ``abs``, ``round``, ``min``, ``max`` and ``cut`` propagate NaN;
  division by zero, and arithmetic that overflows the double range, give NaN;
* in ``and``/``or``/``not`` and ``ifelse`` a number counts as true when it is
  non-zero and not missing.

Column names must be Python identifiers (harmonised names are).

Limits (each refused with one line, never a traceback)
------------------------------------------------------
* an expression is at most :data:`MAX_LENGTH` characters and nests at most
  :data:`MAX_DEPTH` levels (parentheses, operators, calls, chained ``+``...);
* every number is finite as a double (``1e400`` or a 400-digit integer is refused);
* ``round(x, digits)`` takes ``digits`` from -308 to 308; where ``x`` already has
  fewer decimals than ``digits`` at double precision it is returned unchanged
  (as R), never turned into NaN by an overflowing ``10**digits``.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from sid.errors import CodebookError, show_values

MAX_LENGTH = 10_000
"""Longest expression accepted (characters)."""
MAX_DEPTH = 200
"""Deepest nesting accepted (syntax-tree levels; ``a + b + c`` is two); real filters nest
fewer than 20."""
MAX_ROUND_DIGITS = 308
"""``round(x, digits)`` accepts ``-MAX_ROUND_DIGITS <= digits <= MAX_ROUND_DIGITS``."""

FUNCTIONS: Mapping[str, str] = {
    "cut": "cut(x, [b0, b1, ...]): right-open bins, codes 1..k",
    "isna": "isna(x): missing",
    "notna": "notna(x): not missing",
    "between": "between(x, lo, hi): lo <= x <= hi",
    "abs": "abs(x)",
    "round": "round(x[, digits])",
    "min": "min(a, b, ...): elementwise",
    "max": "max(a, b, ...): elementwise",
    "ifelse": "ifelse(cond, a, b)",
}

ALLOWED = (
    "names, numbers, 'strings', == != < <= > >=, in [..], not in [..], and, or, not, "
    "+ - * /, parentheses, " + ", ".join(f"{f}()" for f in FUNCTIONS)
)

_CMP = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
_ARITH = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}
_OP_TEXT = {
    ast.Pow: "**", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&",
    ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.Is: "is",
    ast.IsNot: "is not", ast.Invert: "~",
}


@dataclass(frozen=True)
class Expr:
    """A parsed, validated expression: its text, syntax tree and the variables it uses."""

    text: str
    tree: ast.Expression
    variables: frozenset[str]

    def evaluate(self, data: pd.DataFrame) -> pd.Series:
        """Evaluate on ``data``; see :func:`evaluate`."""
        return evaluate(self, data)


def _shown(text: str) -> str:
    """The expression as messages quote it: at most 80 characters."""
    return repr(text) if len(text) <= 80 else repr(text[:77]) + "..."


def _error(text: str, what: str, node: ast.AST | None = None, *, fix: str = "", got: str = "") -> CodebookError:
    where = f"expression {_shown(text)}"
    if node is not None and hasattr(node, "col_offset"):
        where += f" at column {node.col_offset + 1}"
    return CodebookError(what, where=where, got=got, fix=fix or f"use only {ALLOWED}")


def _constant_list(text: str, node: ast.AST) -> list[Any]:
    """Values of a ``[..]``/``(..)`` literal of numbers or strings (negative numbers allowed)."""
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise _error(text, "expected a list of constants like [1, 2]", node)
    values = []
    for elt in node.elts:
        value = _constant(elt)
        if value is None:
            raise _error(text, "list items must be numbers or 'strings'", elt)
        _check_number(text, elt, value)
        values.append(value)
    return values


def _check_number(text: str, node: ast.AST, value: Any) -> None:
    """Refuse a number that is not a finite double (1e400, a 400-digit integer)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    try:
        ok = bool(np.isfinite(float(value)))
    except OverflowError:
        ok = False
    if not ok:
        digits = len(str(abs(value))) if isinstance(value, int) else None
        got = f"an integer of {digits} digits" if digits else repr(value)
        raise _error(text, "number out of range", node, got=got,
                     fix="numbers must lie within +-1.7e308")


def _constant(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, (int, float))
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    return None


def _short_repr(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _depth(tree: ast.AST) -> int:
    """The deepest nesting of a syntax tree, without recursion."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _check(text: str, node: ast.AST, names: set[str]) -> None:
    """Walk the tree, refuse anything outside the whitelist, collect names."""
    if isinstance(node, ast.Expression):
        _check(text, node.body, names)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool)):
            raise _error(text, f"constant {_short_repr(node.value)} is not allowed", node)
        _check_number(text, node, node.value)
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise _error(text, f"{node.id} is a function; call it as {FUNCTIONS[node.id]}", node)
        names.add(node.id)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(text, value, names)
    elif isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Invert):
            raise _error(text, "'~' is not allowed", node, fix="write 'not x'")
        _check(text, node.operand, names)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _ARITH:
            op = _OP_TEXT.get(type(node.op), type(node.op).__name__)
            fix = {"&": "write 'and'", "|": "write 'or'"}.get(op, "")
            raise _error(text, f"operator {op!r} is not allowed", node, fix=fix)
        _check(text, node.left, names)
        _check(text, node.right, names)
    elif isinstance(node, ast.Compare):
        _check(text, node.left, names)
        for cmp_op, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(cmp_op, (ast.In, ast.NotIn)):
                _constant_list(text, comparator)
            elif type(cmp_op) in _CMP:
                _check(text, comparator, names)
            else:
                raise _error(
                    text, f"comparison {_OP_TEXT.get(type(cmp_op), type(cmp_op).__name__)!r} is not allowed",
                    node, fix="use == or !=, or isna(x) to test for missing",
                )
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            close = difflib.get_close_matches(called, list(FUNCTIONS), n=1)
            hint = f"did you mean {close[0]}()? " if close else ""
            raise _error(
                text, f"unknown function {called!r}", node,
                fix=hint + "functions are " + ", ".join(FUNCTIONS),
            )
        if node.keywords:
            raise _error(text, f"{node.func.id}() takes no keyword arguments", node,
                         fix=FUNCTIONS[node.func.id])
        _check_call(text, node, names)
    elif isinstance(node, (ast.List, ast.Tuple)):
        raise _error(text, "a list is only allowed after 'in' / 'not in' or in cut()", node)
    else:
        raise _error(text, f"{type(node).__name__} is not allowed", node)


def _check_call(text: str, node: ast.Call, names: set[str]) -> None:
    name = cast(ast.Name, node.func).id
    args = node.args
    arity = {"cut": (2, 2), "isna": (1, 1), "notna": (1, 1), "between": (3, 3), "abs": (1, 1),
             "round": (1, 2), "min": (1, 99), "max": (1, 99), "ifelse": (3, 3)}[name]
    if not arity[0] <= len(args) <= arity[1] or any(isinstance(a, ast.Starred) for a in args):
        raise _error(text, f"{name}() takes {FUNCTIONS[name]}", node, got=f"{len(args)} argument(s)",
                     fix=f"call it as {FUNCTIONS[name]}")
    if name == "cut":
        breaks = _constant_list(text, args[1])
        if len(breaks) < 2 or any(isinstance(b, str) for b in breaks):
            raise _error(text, "cut() needs at least two numeric breaks", args[1],
                         fix="e.g. cut(age, [15, 25, 35, 50, 65, 86])")
        if any(b >= a for b, a in zip(breaks, breaks[1:], strict=False)):
            raise _error(text, "cut() breaks must increase strictly", args[1],
                         got=show_values(breaks), fix="sort the breaks and remove duplicates")
        _check(text, args[0], names)
        return
    if name == "round" and len(args) == 2:
        digits = _constant(args[1])
        if not isinstance(digits, int) or isinstance(digits, bool):
            raise _error(text, "round() digits must be a whole number", args[1],
                         fix="write the digits as a number, e.g. round(x, 2)")
        if not -MAX_ROUND_DIGITS <= digits <= MAX_ROUND_DIGITS:
            shown = digits if abs(digits) < 10**20 else f"an integer of {len(str(abs(digits)))} digits"
            raise _error(text, f"round() digits must lie between -{MAX_ROUND_DIGITS} and "
                         f"{MAX_ROUND_DIGITS}", args[1], got=str(shown),
                         fix="e.g. round(x, 2)")
        _check(text, args[0], names)
        return
    for arg in args:
        _check(text, arg, names)


def parse(expression: str | Expr) -> Expr:
    """Parse and validate ``expression`` without data; raises :class:`CodebookError`."""
    if isinstance(expression, Expr):
        return expression
    if not isinstance(expression, str) or not expression.strip():
        raise CodebookError("empty expression", where=f"expression {expression!r}",
                            fix="write e.g. werksituatie in [1, 2]")
    text = expression
    if len(text) > MAX_LENGTH:
        raise CodebookError(f"expression too long ({len(text):,} characters, the limit is "
                            f"{MAX_LENGTH:,})", where=f"expression {_shown(text)}",
                            fix="split it into derived variables")
    too_deep = CodebookError(f"expression nested too deeply (the limit is {MAX_DEPTH} levels)",
                             where=f"expression {_shown(text)}",
                             fix="simplify it, or split it into derived variables")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1)
        msg = exc.msg
        fix = f"use only {ALLOWED}"
        if re.search(r"(?<![=!<>])=(?!=)", text):
            fix = "compare with == (a single = is assignment)"
        if "too many nested" in msg:
            raise too_deep from None
        if "Exceeds the limit" in msg:
            raise CodebookError("number out of range (an integer of over 4,300 digits)",
                                where=f"expression {_shown(text)}",
                                fix="numbers must lie within +-1.7e308") from None
        raise CodebookError(f"syntax error: {msg}", where=f"expression {_shown(text)} at column {col}",
                            fix=fix) from None
    except (RecursionError, MemoryError):
        raise too_deep from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise CodebookError(f"cannot read this expression: {exc}".split("; ")[0],
                            where=f"expression {_shown(text)}",
                            fix="numbers must lie within +-1.7e308") from None
    if _depth(tree) > MAX_DEPTH:
        raise too_deep
    names: set[str] = set()
    try:
        _check(text, tree, names)
    except RecursionError:  # only when called with an already deep stack
        raise too_deep from None
    return Expr(text=text, tree=tree, variables=frozenset(names))


def variables(expression: str | Expr) -> set[str]:
    """The variable names an expression uses."""
    return set(parse(expression).variables)


def with_close_matches(names: Iterable[str], available: Iterable[str], n: int = 3) -> str:
    """``name (did you mean a, b?)`` for each unknown name, joined by ``; ``."""
    available = list(available)
    hints = []
    for name in names:
        close = difflib.get_close_matches(name, available, n=n)
        hints.append(f"{name} (did you mean {', '.join(close)}?)" if close else name)
    return "; ".join(hints)


def check_names(expression: str | Expr, available: Iterable[str]) -> Expr:
    """Parse and check that every variable is in ``available``; lists all unknown names."""
    expr = parse(expression)
    available = list(available)
    unknown = sorted(expr.variables - set(available))
    if unknown:
        raise CodebookError(
            f"unknown variable(s): {with_close_matches(unknown, available)}",
            where=f"expression {_shown(expr.text)}",
            fix=f"use one of: {show_values(sorted(available), 20)}",
        )
    return expr


# --------------------------------------------------------------------------- evaluation


def _is_text(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype == object
    return isinstance(value, str)


def _missing(value: Any) -> Any:
    """Missing mask of an array (or bool of a scalar)."""
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return np.zeros(value.shape, dtype=bool)
        if value.dtype == object:
            return pd.isna(value)
        return np.isnan(value)
    if isinstance(value, float):
        return np.bool_(np.isnan(value))
    if isinstance(value, str):
        return np.bool_(False)
    return np.bool_(pd.isna(value))


def _fill_text(value: Any) -> Any:
    """Text with missing cells as '' so that numpy can compare it (the mask is applied after)."""
    if isinstance(value, np.ndarray):
        return np.where(pd.isna(value), "", value).astype(object)
    return "" if _missing(value) else value


def _as_number(text: str, value: Any, node: ast.AST) -> Any:
    if _is_text(value):
        raise _error(text, "arithmetic on text", node, fix="use text only in == != in comparisons")
    if isinstance(value, np.ndarray):
        return value.astype(float, copy=False)
    return float(value)


def _truth(text: str, value: Any, node: ast.AST) -> Any:
    if _is_text(value):
        raise _error(text, "text used as a condition", node, fix="compare it, e.g. x == 'BE'")
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return value
        with np.errstate(invalid="ignore"):
            return (value != 0) & ~np.isnan(value)
    return bool(value) and not (isinstance(value, float) and np.isnan(value))


def _round(x: Any, digits: int) -> Any:
    """Half-to-even rounding to ``digits`` that never overflows: where ``x * 10**digits``
    is beyond 2**52 (x has no more digits to drop at double precision) x is returned."""
    arr = np.asarray(x, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if digits >= 0:
            scale = 10.0 ** min(digits, 308)
            big = ~(np.abs(arr) * scale < 2.0**52)
            out = np.where(big, arr, np.round(np.where(big, 0.0, arr) * scale) / scale)
        else:
            scale = 10.0 ** min(-digits, 308)
            out = np.round(arr / scale) * scale
            out = np.where(np.isnan(out) & ~np.isnan(arr), 0.0, out)
    out = np.where(np.isnan(arr), np.nan, out)
    return out if out.ndim else float(out)


class _Evaluator:
    def __init__(self, text: str, data: pd.DataFrame) -> None:
        self.text = text
        self.data = data
        self.cache: dict[str, np.ndarray] = {}

    def column(self, name: str) -> np.ndarray:
        if name not in self.cache:
            col = self.data[name]
            if pd.api.types.is_bool_dtype(col) and not col.isna().any():
                arr = col.to_numpy(dtype=bool)
            elif pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
                arr = col.to_numpy(dtype=float, na_value=np.nan)
            else:
                arr = col.to_numpy(dtype=object, na_value=np.nan)
            self.cache[name] = arr
        return self.cache[name]

    def run(self, node: ast.AST) -> Any:
        method = getattr(self, f"_{type(node).__name__}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool):
            return value
        return float(value) if isinstance(value, (int, float)) else value

    def _Name(self, node: ast.Name) -> Any:
        if node.id in ("True", "False"):  # pragma: no cover - Python parses these as Constant
            return node.id == "True"
        return self.column(node.id)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.run(node.operand)
        if isinstance(node.op, ast.Not):
            return np.logical_not(_truth(self.text, value, node.operand))
        value = _as_number(self.text, value, node.operand)
        return -value if isinstance(node.op, ast.USub) else value

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        result = _truth(self.text, self.run(node.values[0]), node.values[0])
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        for sub in node.values[1:]:
            result = combine(result, _truth(self.text, self.run(sub), sub))
        return result

    def _BinOp(self, node: ast.BinOp) -> Any:
        left = _as_number(self.text, self.run(node.left), node.left)
        right = _as_number(self.text, self.run(node.right), node.right)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = _ARITH[type(node.op)](left, right)
            # division by zero and overflow give NaN (an infinite operand stays infinite)
            out = np.where(np.isinf(out) & ~np.isinf(left) & ~np.isinf(right), np.nan, out)
            if out.ndim == 0:
                out = float(out)
        return out

    def _Compare(self, node: ast.Compare) -> Any:
        left = self.run(node.left)
        result: Any = True
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                values = _constant_list(self.text, comp)
                part = self._isin(left, values, node)
                if isinstance(op, ast.NotIn):
                    part = np.logical_not(part) & np.logical_not(_missing(left))
                right = None
            else:
                right = self.run(comp)
                if _is_text(left) != _is_text(right):
                    raise _error(self.text, "compares text with a number", node,
                                 fix="quote text values ('BE') and leave numbers unquoted")
                if _is_text(left):
                    part = _CMP[type(op)](_fill_text(left), _fill_text(right))
                else:
                    with np.errstate(invalid="ignore"):
                        part = _CMP[type(op)](left, right)
                part = part & np.logical_not(_missing(left)) & np.logical_not(_missing(right))
            result = np.logical_and(result, part)
            if right is not None:
                left = right
        return result

    def _isin(self, left: Any, values: list[Any], node: ast.AST) -> Any:
        texts = [v for v in values if isinstance(v, str)]
        if texts and len(texts) != len(values):
            raise _error(self.text, "list mixes text and numbers", node)
        if bool(texts) != _is_text(left):
            raise _error(self.text, "'in' compares text with numbers", node,
                         fix="quote text values ('BE') and leave numbers unquoted")
        if isinstance(left, np.ndarray):
            if texts:
                return pd.Series(left, dtype=object).isin(values).to_numpy(dtype=bool)
            return np.isin(left.astype(float, copy=False), np.asarray(values, dtype=float))
        return left in values

    def _Call(self, node: ast.Call) -> Any:
        name = cast(ast.Name, node.func).id
        args = node.args
        if name == "cut":
            breaks = np.asarray(_constant_list(self.text, args[1]), dtype=float)
            value = _as_number(self.text, self.run(args[0]), args[0])
            x = np.atleast_1d(np.asarray(value, dtype=float))  # a constant too: cut(3, [..])
            codes = np.searchsorted(breaks, x, side="right").astype(float)
            codes[(x < breaks[0]) | (x >= breaks[-1]) | np.isnan(x)] = np.nan
            return codes if np.ndim(value) else float(codes[0])
        if name in ("isna", "notna"):
            value = self.run(args[0])
            miss = _missing(value)
            return miss if name == "isna" else np.logical_not(miss)
        if name == "between":
            x, lo, hi = (self.run(a) for a in args)
            with np.errstate(invalid="ignore"):
                if _is_text(x) or _is_text(lo) or _is_text(hi):
                    raise _error(self.text, "between() works on numbers", node)
                out = (x >= lo) & (x <= hi)
            return out & np.logical_not(_missing(x) | _missing(lo) | _missing(hi))
        if name == "abs":
            return np.abs(_as_number(self.text, self.run(args[0]), args[0]))
        if name == "round":
            digits = int(_constant(args[1])) if len(args) == 2 else 0
            return _round(_as_number(self.text, self.run(args[0]), args[0]), digits)
        if name in ("min", "max"):
            values = [_as_number(self.text, self.run(a), a) for a in args]
            func = np.minimum if name == "min" else np.maximum
            out = values[0]
            for value in values[1:]:
                out = func(out, value)
            return out
        if name == "ifelse":
            cond = _truth(self.text, self.run(args[0]), args[0])
            a, b = self.run(args[1]), self.run(args[2])
            if _is_text(a) != _is_text(b):
                raise _error(self.text, "ifelse() branches mix text and numbers", node)
            if _is_text(a):  # as object arrays: numpy would make '<U1' of two constants
                return np.where(cond, np.asarray(a, dtype=object), np.asarray(b, dtype=object))
            a, b = _as_number(self.text, a, args[1]), _as_number(self.text, b, args[2])
            return np.where(cond, a, b)
        raise _error(self.text, f"unknown function {name!r}", node)  # pragma: no cover


def evaluate(expression: str | Expr, data: pd.DataFrame) -> pd.Series:
    """Evaluate ``expression`` on ``data``, vectorised; a Series indexed like ``data``.

    Conditions give a bool Series; arithmetic and functions give float64.
    Unknown variables raise :class:`CodebookError` listing close matches.
    """
    expr = check_names(expression, data.columns)
    try:
        result = _Evaluator(expr.text, data).run(expr.tree.body)
    except RecursionError:  # only when called with an already deep stack
        raise CodebookError(f"expression nested too deeply (the limit is {MAX_DEPTH} levels)",
                            where=f"expression {_shown(expr.text)}",
                            fix="simplify it, or split it into derived variables") from None
    if isinstance(result, np.ndarray) and result.ndim == 1:
        if result.dtype not in (bool, object):
            result = result.astype(float, copy=False)
        return pd.Series(result, index=data.index, name=expr.text)
    if isinstance(result, np.ndarray):
        result = result.item()
    if isinstance(result, (bool, np.bool_)):
        return pd.Series(np.full(len(data), bool(result)), index=data.index, name=expr.text)
    if isinstance(result, str):
        return pd.Series([result] * len(data), index=data.index, name=expr.text, dtype=object)
    return pd.Series(np.full(len(data), float(result)), index=data.index, name=expr.text)
