"""Category keys, base-weight checks and problem lists shared by every weighting method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from sid.errors import WeightingError, format_number, show_values
from sid.formatting import plain_number

__all__ = ["WeightArg", "WeightVector", "check_base_weights", "norm_key", "raise_problems",
           "row_labels", "show_key"]

# a vector of weights, one per row
WeightVector: TypeAlias = np.ndarray | pd.Series | Sequence[float]
# a weight column of the data, or the weights themselves
WeightArg: TypeAlias = str | WeightVector


def norm_key(value: Any) -> Any:
    """Normalise a category value so that 1, 1.0, np.int64(1) and '1' compare equal."""
    if isinstance(value, str):
        s = value.strip()
        try:
            f = float(s)
        except ValueError:
            return s
        return plain_number(f)
    if isinstance(value, bool | np.bool_):
        return int(value)
    return plain_number(value)


def show_key(key: tuple[Any, ...]) -> str:
    parts = [format_number(k) if not isinstance(k, str) else k for k in key]
    return parts[0] if len(parts) == 1 else " x ".join(str(p) for p in parts)


def row_labels(index: pd.Index, mask: np.ndarray, limit: int = 8) -> str:
    return show_values(list(index[np.flatnonzero(mask)]), limit)


def check_base_weights(data: pd.DataFrame, weight: WeightArg, where: str) -> np.ndarray:
    """The input weights as float64, refusing zero, negative, NaN or infinite values."""
    if isinstance(weight, str):
        if weight not in data.columns:
            raise WeightingError(
                f"weight variable {weight!r} is not in the data",
                where=where,
                got=show_values(list(data.columns)),
                fix="name an existing weight column",
            )
        w = pd.to_numeric(data[weight], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        name = weight
    else:
        w = np.asarray(weight, dtype=float).reshape(-1)
        name = "weights"
        if w.size != len(data):
            raise WeightingError(
                f"{w.size} weights for {len(data)} rows",
                where=where,
                fix="pass one weight per row of the data",
            )
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        nonfinite = int((~np.isfinite(w)).sum())
        raise WeightingError(
            f"base weight {name!r} has {int(bad.sum())} zero, negative or missing value(s)"
            f" ({nonfinite} missing/infinite)",
            where=where,
            got=f"rows {row_labels(data.index, bad)}",
            fix="base weights must be positive; drop out-of-scope rows before weighting "
            "or fix the design weights",
        )
    return w


def raise_problems(what: str, problems: list[str], where: str, fix: str) -> None:
    if problems:
        got = problems[0] if len(problems) == 1 else " | ".join(
            f"{i + 1}) {p}" for i, p in enumerate(problems)
        )
        raise WeightingError(f"{what}: {len(problems)} problem(s)", where=where, got=got, fix=fix)

