"""R-style formulas to a model matrix (formulaic), with survey-aware row handling.

:func:`model_frame` turns ``"y ~ age + herkomst * geslacht"`` into the response
vector and the model matrix of the *analysis rows*: the rows in the ``where``
domain with every model variable present. The other rows stay in the design
(zero weight there), so the variance keeps the PSU structure; rows with a
missing model variable are counted, never silently dropped.

Categorical coding is automatic for variables that are non-numeric, that the
codebook types ``categorical``/``ordinal``, that the caller lists (e.g. the
SPSS measure ``nominal``/``ordinal``), that appear inside ``C(...)`` or that
get a ``reference``. Such a variable becomes a pandas Categorical of R-style
labels (1.0 -> "1") in sorted order with the reference level first, so the
treatment coding drops the reference and the coefficients are named as R
names them: ``herkomst2``, ``stypeH:ell``, ``(Intercept)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.design import Design
from sid.errors import EstimationError, show_values
from sid.estimation.domains import label as r_label


class ModelError(EstimationError):
    """A model cannot be fitted as asked (formula, outcome, coding, data)."""


@dataclass(frozen=True)
class Term:
    """One formula term (R's term label) and the model-matrix columns it owns."""

    label: str
    columns: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class ModelFrame:
    """Response and model matrix of the analysis rows, with the coding used.

    ``rows`` are design row positions (in the domain, complete); ``X`` is
    ``len(rows) x p``; ``names`` the R-style coefficient names; ``levels``
    the level labels of each categorical variable, reference first.
    """

    formula: str
    response: str
    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    terms: tuple[Term, ...]
    rows: np.ndarray
    n_missing: int
    missing_by_variable: Mapping[str, int]
    levels: Mapping[str, tuple[str, ...]]
    sorted_levels: Mapping[str, tuple[str, ...]]
    variables: tuple[str, ...]
    spec: Any  # formulaic ModelSpec of the right-hand side (to rebuild X for margins)
    frame: pd.DataFrame  # the coded variables of the analysis rows

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model matrix of ``frame`` (coded as :attr:`frame`) with the fitted coding."""
        mm = self.spec.get_model_matrix(frame, na_action="ignore", context=dict(_CONTEXT),
                                        output="numpy")
        return np.asarray(mm, dtype=float)


# --------------------------------------------------------------------------- helpers

def _r_factor(data: Any, *args: Any, **kwargs: Any) -> Any:
    """R's ``factor(x)``: formulaic's ``C(x)`` (names come out as R's: ``factor(x)2``)."""
    from formulaic.transforms import C

    return C(data, *args, **kwargs)


# R functions formulaic lacks (read-only; a fresh dict is handed to formulaic each time)
_CONTEXT = MappingProxyType({"sqrt": np.sqrt, "abs": np.abs, "factor": _r_factor})
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_C_CALL = re.compile(r"\b(?:C|factor)\(\s*([A-Za-z_][A-Za-z0-9_.]*)")
_COMPARISON = re.compile(r"I\(.*(?:[<>]=?|==|!=).*\)")
_LEVEL = re.compile(r"^(?P<name>.*)\[(?:T\.)?(?P<level>.*)\]$")


def _r_name(column: str) -> str:
    """formulaic's column name -> R's: ``C(g)[T.b]:x`` -> ``C(g)b:x``, ``Intercept``
    -> ``(Intercept)``, ``I(x ** 2)`` -> ``I(x^2)``."""
    if column == "Intercept":
        return "(Intercept)"
    parts = []
    column = column.replace(" ** ", "^")  # R deparses a power as x^2
    for piece in column.split(":"):
        m = _LEVEL.match(piece)
        if m:
            level = m.group("level")
            if re.fullmatch(r"-?\d+\.0", level):
                level = level[:-2]
            parts.append(m.group("name") + level)
        else:
            parts.append(piece)
    return ":".join(parts)


def _r_powers(formula: str) -> str:
    """R's ``I(x^2)`` is a power; in Python ``^`` is xor: write ``**`` inside ``I(...)``."""
    out = []
    depth_at_i: list[int] = []
    depth = 0
    i = 0
    while i < len(formula):
        ch = formula[i]
        if formula.startswith("I(", i) and (i == 0 or not (formula[i - 1].isalnum()
                                                            or formula[i - 1] in "_.")):
            depth_at_i.append(depth)
            out.append("I(")
            depth += 1
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth_at_i and depth == depth_at_i[-1]:
                depth_at_i.pop()
        if ch == "^" and depth_at_i:
            out.append("**")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _syntax_error(formula: str, exc: Exception) -> ModelError:
    """A formulaic syntax error as one line with the column of the offending token."""
    text = _ANSI.sub("", str(exc))
    first = text.split("\n", 1)[0].strip()
    column = None
    for line in text.split("\n"):
        if "⧛" in line:
            column = line.index("⧛") + 1
            break
    where = f"formula {formula!r}" + (f", column {column}" if column else "")
    return ModelError(f"formula syntax error: {first}", where=where,
                      fix="write an R-style formula such as 'y ~ x + C(group) + x:z'")


def _is_missing(col: pd.Series) -> np.ndarray:
    miss = col.isna().to_numpy()
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        miss = miss | col.astype(str).str.strip().eq("").to_numpy()
    return miss


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return (0, float(value))
    return (1, str(value))


def _categorical(col: pd.Series, var: str, reference: Any
                 ) -> tuple[pd.Categorical, tuple[str, ...], tuple[str, ...]]:
    """Code a column as a Categorical of R labels, sorted, reference level first
    (returns the coded column, its categories and the levels in sorted order)."""
    codes, uniques = pd.factorize(col, sort=False)
    order = sorted(range(len(uniques)), key=lambda i: _sort_key(uniques[i]))
    labels = [r_label(uniques[i]) for i in order]
    in_order = tuple(labels)
    if reference is not None:
        ref = r_label(reference)
        if ref not in labels:
            raise ModelError(f"reference level {ref!r} of {var!r} is not in the analysis rows",
                             where=f"reference {var}", got=show_values(labels),
                             fix="pick one of the levels present in the domain")
        labels = [ref, *[v for v in labels if v != ref]]
    position = {lab: k for k, lab in enumerate(labels)}
    remap = np.array([position[r_label(u)] for u in uniques] + [-1], dtype=np.int64)
    coded = pd.Categorical.from_codes(remap[codes], categories=labels)
    return coded, tuple(labels), in_order


# --------------------------------------------------------------------------- model frame


def model_frame(design: Design, formula: str, member: np.ndarray, *,
                categorical: Iterable[str] = (), reference: Mapping[str, Any] | None = None,
                codebook: Any = None) -> ModelFrame:
    """Response, model matrix and coding of ``formula`` on the rows ``member`` & complete."""
    from formulaic import Formula
    from formulaic.errors import FactorEvaluationError, FormulaSyntaxError

    from sid.expr import with_close_matches

    if not isinstance(formula, str) or "~" not in formula or not formula.split("~")[0].strip():
        raise ModelError("a model formula needs a response and '~'", where="formula",
                         got=repr(formula), fix="e.g. 'y ~ x + C(group)'")
    try:
        parsed = Formula(_r_powers(formula))
        lhs_vars = sorted(parsed.lhs.required_variables)
        required = sorted(parsed.required_variables)
    except FormulaSyntaxError as exc:
        raise _syntax_error(formula, exc) from None
    data = design.data
    required = [v for v in required if v in data.columns or v not in _CONTEXT]
    unknown = [v for v in required if v not in data.columns]
    calls = [v for v in unknown if re.search(rf"(?<![\w.]){re.escape(v)}\s*\(", formula)]
    if calls:
        raise ModelError(f"unknown function(s) in the formula: {', '.join(calls)}",
                         where=f"formula {formula!r}",
                         fix="use C(), I(), log(), exp(), sqrt(), abs(), center(), scale(), "
                             "poly() or numpy as np.*")
    if unknown:
        raise ModelError(f"unknown variable(s) in the formula: "
                         f"{with_close_matches(unknown, [str(c) for c in data.columns])}",
                         where=f"formula {formula!r}",
                         fix="name columns of the data (case matters)")
    reference = dict(reference or {})
    bad_ref = sorted(set(reference) - set(required))
    if bad_ref:
        raise ModelError("reference level given for a variable not in the formula",
                         where="reference", got=show_values(bad_ref),
                         fix="give references only for categorical variables of the formula")
    cat_vars = set(categorical) | set(reference) | set(_C_CALL.findall(formula))
    if codebook is not None:
        for v in required:
            if v not in codebook.names:
                continue  # not in the codebook: decide by the data
            definition = codebook.definition(v)
            if getattr(definition, "type", None) in ("categorical", "ordinal"):
                cat_vars.add(v)
                declared = getattr(definition, "reference", None)  # a codebook reference level
                if declared is not None and v not in reference:
                    reference[v] = declared
    for v in required:
        if not pd.api.types.is_numeric_dtype(data[v]) or pd.api.types.is_bool_dtype(data[v]):
            cat_vars.add(v)
    cat_vars -= set(lhs_vars)

    member = np.asarray(member, dtype=bool)
    miss_by = {}
    complete = np.ones(design.n, dtype=bool)
    for v in required:
        miss = _is_missing(data[v])
        miss_by[v] = int(np.sum(miss & member & (design.w > 0)))
        complete &= ~miss
    rows = np.flatnonzero(member & complete)
    n_missing = int(np.sum(member & ~complete & (design.w > 0)))
    if len(rows) == 0:
        raise ModelError("no rows to fit: every row in the domain misses a model variable",
                         where=f"formula {formula!r}",
                         got=f"{n_missing} row(s) with a missing value",
                         fix="check the where expression and the variables' missing codes")
    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    levels: dict[str, tuple[str, ...]] = {}
    sorted_levels: dict[str, tuple[str, ...]] = {}
    for v in required:
        col = data[v].iloc[rows].reset_index(drop=True)
        if v in cat_vars:
            coded, labs, in_order = _categorical(col, v, reference.get(v))
            if len(labs) < 2 and v not in lhs_vars:
                raise ModelError(f"categorical term {v!r} has a single level in the domain",
                                 where=f"formula {formula!r}", got=f"only {show_values(labs)}",
                                 fix=f"drop {v!r} from the formula or widen the where domain")
            frame[v] = coded
            levels[v] = labs
            sorted_levels[v] = in_order
        elif pd.api.types.is_numeric_dtype(col):
            frame[v] = col.to_numpy(dtype=float, na_value=np.nan)
        else:
            frame[v] = col
    try:
        with np.errstate(all="ignore"):  # non-finite results are reported below
            mm = parsed.get_model_matrix(frame, na_action="ignore", context=dict(_CONTEXT),
                                         output="numpy")
    except FormulaSyntaxError as exc:
        raise _syntax_error(formula, exc) from None
    except FactorEvaluationError as exc:
        msg = _ANSI.sub("", str(exc)).split("\n", 1)[0]
        raise ModelError(f"cannot evaluate a formula term: {msg}", where=f"formula {formula!r}",
                         fix="use variables of the data and functions such as C(), I(), log()"
                         ) from None
    lhs = mm.lhs
    lhs_names = list(lhs.model_spec.column_names)
    if lhs.shape[1] != 1:
        raise ModelError("the formula needs exactly one response column",
                         where=f"formula {formula!r}", got=show_values(lhs_names),
                         fix="a numeric response such as 'y ~ x' (use I(...) for expressions)")
    y = np.asarray(lhs, dtype=float).ravel()
    rhs = mm.rhs
    X = np.asarray(rhs, dtype=float)
    columns = list(rhs.model_spec.column_names)
    names = tuple(_r_name(c) for c in columns)
    # R names a logical column by its TRUE level: I(meals > 50) -> I(meals > 50)TRUE
    names = tuple(f"{nm}TRUE" if _COMPARISON.fullmatch(nm) and np.isin(X[:, j], (0.0, 1.0)).all()
                  else nm for j, nm in enumerate(names))
    terms = []
    for term, idx in rhs.model_spec.term_indices.items():
        label = "(Intercept)" if str(term) == "1" else str(term).replace(" ** ", "^")
        if not idx and label != "(Intercept)":
            raise ModelError(f"term {label!r} has no columns: a categorical term with a single "
                             "level in the domain", where=f"formula {formula!r}",
                             fix=f"drop {label!r} or widen the where domain")
        terms.append(Term(label, tuple(int(i) for i in idx)))
    if X.shape[1] == 0:
        raise ModelError("the model has no coefficients", where=f"formula {formula!r}",
                         fix="add terms, or keep the intercept")
    bad_rows = ~np.isfinite(y) | ~np.isfinite(X).all(axis=1)
    if bad_rows.any():
        bad_cols = [names[j] for j in np.flatnonzero(~np.isfinite(X[bad_rows]).all(axis=0))]
        raise ModelError(f"{int(bad_rows.sum())} row(s) give non-finite model values",
                         where=f"formula {formula!r}",
                         got=show_values(bad_cols or lhs_names),
                         fix="check transformations such as log() of 0 or negative values")
    return ModelFrame(
        formula=formula, response=str(lhs_names[0]), y=y, X=X, names=names,
        terms=tuple(terms), rows=rows, n_missing=n_missing, missing_by_variable=miss_by,
        levels=levels, sorted_levels=sorted_levels, variables=tuple(required),
        spec=rhs.model_spec, frame=frame)
