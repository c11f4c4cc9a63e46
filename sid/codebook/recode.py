"""Recode rules: closed intervals of source codes mapped to common codes.

A rule is ``((lo, hi), to)``; a single code has ``lo == hi``. Every rule reads
the original codes, so swaps (1->3, 3->1) work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sid.formatting import format_number

__all__ = ["apply_recode", "format_rule"]


def format_rule(rule: tuple[tuple[float, float], float]) -> str:
    """A recode rule as ``3->1`` or ``1-5->1`` (for reports and exported codebooks)."""
    (lo, hi), to = rule
    src = format_number(lo) if lo == hi else f"{format_number(lo)}-{format_number(hi)}"
    return f"{src}->{format_number(to)}"


def apply_recode(values: np.ndarray, rules: Sequence[tuple[tuple[float, float], float]]) -> np.ndarray:
    """Recode a float array; every rule reads the original codes (so swaps work). Vectorised."""
    out = values.copy()
    for (lo, hi), to in rules:
        hit = values == lo if lo == hi else (values >= lo) & (values <= hi)
        out[hit] = to
    return out
