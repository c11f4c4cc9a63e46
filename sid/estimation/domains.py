"""Domains and subpopulations: which rows each estimate covers, by zero-weighting.

A domain is a combination of ``by`` values present among the rows with weight
> 0 in ``where``; every other row stays in the design with weight zero. Also
R's ``degf`` and ``nrow`` of each domain design, and R-style value labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from sid.design import Design, domain_df
from sid.errors import EstimationError, show_values
from sid.estimation.codes import factor_codes, int_coder


def label(value: Any) -> str:
    """A value as R prints it: 1.0 -> "1", 2.5 -> "2.5", True -> "TRUE", strings unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "NA"
        if float(value).is_integer():
            return str(int(value))
        return repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)



@dataclass(frozen=True)
class _Domains:
    """Domain code per row (-1: in no domain) and the by values of each domain.

    ``source`` is the codes, or a function that makes them: a path that sums without
    them (:mod:`sid.estimation.onepass`) leaves them to whoever asks (:attr:`code`).
    """

    source: np.ndarray | Callable[[], np.ndarray]
    levels: pd.DataFrame
    by: tuple[str, ...]
    sizes: np.ndarray | None = None  # rows per domain when every row is in one (else None)

    @cached_property
    def code(self) -> np.ndarray:
        """The domain code of each row."""
        return self.source() if callable(self.source) else self.source

    @property
    def count(self) -> int:
        return len(self.levels)


def where_mask(design: Design, where: Any) -> np.ndarray:
    """The subpopulation as a boolean per row: a sid.expr expression or a mask
    (None: every row). Missing (NaN/NA) is outside, never inside."""
    n = design.n
    if where is None:
        return np.ones(n, dtype=bool)
    if isinstance(where, str):
        from sid.expr import evaluate

        values: Any = evaluate(where, design.data)
    else:
        values = where
    bad = EstimationError("where must be one boolean (or 0/1) per row, or an expression",
                          where="where", got=type(where).__name__,
                          fix="give e.g. where=\"werksituatie in [1, 2]\" or a boolean mask")
    try:
        if isinstance(values, pd.Series) and pd.api.types.is_numeric_dtype(values.dtype) \
                and not pd.api.types.is_bool_dtype(values.dtype):
            arr = values.to_numpy(dtype=float, na_value=np.nan)
        elif isinstance(values, (pd.Series, pd.Categorical, pd.Index)):
            arr = np.asarray(values, dtype=object) if isinstance(values, pd.Categorical) \
                else values.to_numpy()
        else:
            arr = np.asarray(values)
    except (TypeError, ValueError):
        raise bad from None
    if arr.ndim != 1:
        if arr.ndim == 0:
            arr = arr.reshape(1)
        else:
            raise bad
    if len(arr) != n:
        raise EstimationError("where has the wrong length", where="where",
                              got=f"{len(arr)} values for {n} rows",
                              fix="give one boolean per row, or an expression string")
    if arr.dtype.kind == "b":
        return np.array(arr, dtype=bool)  # a fresh, writable copy
    if arr.dtype.kind in "iuf":
        return np.nan_to_num(arr.astype(float), nan=0.0) != 0
    if arr.dtype.kind == "O":
        try:
            return pd.Series(arr).astype("boolean").fillna(False).to_numpy(dtype=bool)
        except (TypeError, ValueError):
            raise bad from None
    raise bad


def _check_columns(design: Design, names: Sequence[str], role: str) -> None:
    missing = [v for v in names if v not in design.data.columns]
    if missing:
        raise EstimationError(
            f"{role} variable(s) not in the data", where=role, got=show_values(missing),
            fix="name existing columns (case matters)")


def _domains(design: Design, by: Sequence[str], where: np.ndarray | None) -> _Domains:
    """Code the domains: rows of one ``by`` combination share a code (-1: in no domain).

    The combinations present among rows with weight > 0 in ``where`` (None: every
    row) are found with one ``np.bincount`` over the combined key (no sort) when
    the key space is compact, else with ``np.unique``.
    """
    by = tuple(by)
    n = design.n
    if not by:
        if where is None:
            return _Domains(np.zeros(n, dtype=np.int64), pd.DataFrame(index=[0]), by,
                            np.array([n]))
        return _Domains(np.where(where, 0, -1), pd.DataFrame(index=[0]), by)
    _check_columns(design, by, "by")
    all_positive = bool(design.w.min() > 0)
    if len(by) == 1 and where is None and all_positive:
        coder = int_coder(design.data[by[0]])
        if coder is not None and not coder.has_nan:
            # numeric codes, every row eligible: each level is present, in sorted order
            return _Domains(coder.all_codes(), pd.DataFrame({by[0]: coder.levels}), by,
                            coder.counts)
    key = None
    ok = np.ones(n, dtype=bool) if where is None else where.copy()
    space = 1
    for name in by:
        codes, lev = factor_codes(design.data[name])
        ok &= codes >= 0
        space *= len(lev) + 1
        key = codes if key is None else key * (len(lev) + 1) + codes
    assert key is not None  # by is not empty here: the loop ran
    eligible = ok & (design.w > 0)
    if space <= 4 * n + 65536:
        key = np.where(ok, key, 0)
        elig_rows = np.flatnonzero(eligible)
        elig_key = key[elig_rows]
        present = np.bincount(elig_key, minlength=space) > 0
        lut = np.cumsum(present) - 1
        code = np.where(ok & present[key], lut[key], -1)
        rep = np.zeros(space, dtype=np.int64)
        rep[elig_key] = elig_rows  # any row of each combination: they share the by values
        rows = rep[np.flatnonzero(present)]
    else:
        levels_key, first = np.unique(key[eligible], return_index=True)
        rows = np.flatnonzero(eligible)[first]
        pos = np.searchsorted(levels_key, key)
        pos = np.clip(pos, 0, max(len(levels_key) - 1, 0))
        match = ok & (len(levels_key) > 0)
        if len(levels_key):
            match &= levels_key[pos] == key
        code = np.where(match, pos, -1)
    levels = pd.DataFrame({name: design.data[name].array.take(rows) for name in by})
    return _Domains(code.astype(np.int64), levels, by)


def _numeric(design: Design, name: str, role: str = "analysis") -> np.ndarray:
    _check_columns(design, [name], role)
    col = design.data[name]
    if not pd.api.types.is_numeric_dtype(col):
        conv = pd.to_numeric(col, errors="coerce")
        bad = col[conv.isna() & col.notna()].unique().tolist()
        raise EstimationError(
            f"{role} variable {name!r} is not numeric", where=name, got=show_values(bad),
            fix="use stat='proportion' for a categorical variable, or recode it to numbers")
    return col.to_numpy(dtype=float, na_value=np.nan)


def _domain_df(design: Design, dom: np.ndarray, d: int) -> np.ndarray:
    """R's ``degf(subset(design, domain))`` for each of ``d`` domains (rows with dom >= 0):
    the one df rule, :func:`sid.design.domain_df`."""
    return domain_df(design, dom, d)


def _domain_nrow(design: Design, dom: np.ndarray, d: int) -> np.ndarray:
    """R's ``nrow(subset(design, domain))``: calibrated designs keep every row."""
    if design.calibration:
        return np.full(d, float(design.n))
    return np.bincount(dom[dom >= 0], minlength=d).astype(float)



def domain_names(domains: _Domains, idx: np.ndarray) -> list[str]:
    """``by=value & ...`` for the domains ``idx`` (``the whole (sub)population`` without by)."""
    if not domains.by:
        return ["the whole (sub)population"]
    return [" & ".join(f"{b}={label(v)}" for b, v in zip(domains.by, row, strict=True))
            for row in domains.levels.iloc[idx].itertuples(index=False)]
