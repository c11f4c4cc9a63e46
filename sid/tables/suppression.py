"""Suppression rules: hide estimates on small unweighted bases, and their complements.

:class:`Suppression` is the rule of a table book (suppress below ``below``,
flag below ``flag_below``); :func:`complementary_suppression` hides extra cells
of a count table so that no suppressed cell follows from its row or column totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Suppression:
    """Suppress estimates on an unweighted base below ``below``; flag those below ``flag_below``."""

    below: int = 30
    flag_below: int = 50

    def apply(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (suppressed, flagged) for unweighted bases ``n``."""
        n = np.asarray(n, dtype=float)
        suppressed = ~(n >= self.below)
        flagged = ~suppressed & (n < self.flag_below)
        return suppressed, flagged



def complementary_suppression(counts: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Cells to hide in a count table so no suppressed cell follows from the margins.

    ``counts`` is a 2-D table of unweighted counts with row and column totals
    published; ``primary`` marks the cells suppressed by the rule. Repeatedly,
    every row or column with exactly one hidden cell gets its smallest other
    (non-zero, visible) cell hidden too, until every row and column has zero
    or at least two hidden cells. Returns the full mask (primary included).
    """
    counts = np.asarray(counts, dtype=float)
    mask = np.asarray(primary, dtype=bool).copy()
    for _ in range(counts.size):
        changed = False
        for axis in (1, 0):
            hidden = mask.sum(axis=axis)
            lines = np.flatnonzero(hidden == 1)
            for i in lines:  # loops over table lines (a handful), not over rows of data
                line_mask = mask[i] if axis == 1 else mask[:, i]
                line_vals = counts[i] if axis == 1 else counts[:, i]
                cand = np.where(line_mask, np.inf, line_vals)
                if not np.isfinite(cand).any():
                    continue
                j = int(np.argmin(cand))
                if axis == 1:
                    mask[i, j] = True
                else:
                    mask[j, i] = True
                changed = True
        if not changed:
            break
    return mask
