"""Combine the integer codes of several columns into one key per row.

Crossing variables (margin cells, stratum x PSU, population cells) needs one
integer per combination. :func:`combine_codes` is the one routine for that:
non-negative integer codes per column become a mixed-radix key
``((c0 * s1) + c1) * s2 + c2 ...`` in which keys sort like the tuples of codes
(lexicographically), so ``np.unique`` on keys visits combinations in the same
order as on the tuples. :func:`split_codes` undoes it; :func:`dense_codes`
numbers the combinations present 0..k-1. This module is at the bottom layer
(numpy only).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["combine_codes", "dense_codes", "split_codes"]

_LIMIT = 2.0**62  # keys stay exact in int64 below this many combinations


def combine_codes(columns: Sequence[np.ndarray], sizes: Sequence[int] | None = None) -> np.ndarray:
    """One int64 key per row from non-negative integer codes of several columns.

    ``sizes`` are the number of possible codes per column (each code must be
    below its size); by default each column's largest code plus one. Keys
    sort like the rows' tuples of codes. When the product of the sizes would
    overflow int64, the keys are instead the ranks of the distinct tuples
    (still in tuple order, but not decodable with :func:`split_codes`).
    """
    arrays = [np.asarray(c, dtype=np.int64) for c in columns]
    if not arrays:
        raise ValueError("combine_codes needs at least one column")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("combine_codes: columns differ in length")
    if sizes is None:
        sizes = [int(a.max()) + 1 if n else 1 for a in arrays]
    if len(sizes) != len(arrays):
        raise ValueError("combine_codes: one size per column")
    if n and any(int(a.min()) < 0 or int(a.max()) >= s for a, s in zip(arrays, sizes, strict=True)):
        raise ValueError("combine_codes: codes must be in 0..size-1")
    if float(np.prod(np.asarray(sizes, dtype=float))) >= _LIMIT:
        _, rank = np.unique(np.stack(arrays, axis=1), axis=0, return_inverse=True)
        return rank.reshape(-1).astype(np.int64)
    key = arrays[0].copy()
    for codes, size in zip(arrays[1:], sizes[1:], strict=True):
        key *= int(size)
        key += codes
    return key


def split_codes(keys: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """The per-column codes of mixed-radix keys made by :func:`combine_codes` with ``sizes``."""
    out = []
    rest = np.asarray(keys, dtype=np.int64)
    for size in reversed(list(sizes)):
        out.append(rest % int(size))
        rest = rest // int(size)
    return out[::-1]


def dense_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys (sorted) and each row's index into them (0..k-1).

    Uses a bincount when the keys are small compared with the number of rows,
    else ``np.unique``; both give the same result.
    """
    keys = np.asarray(keys, dtype=np.int64)
    n = len(keys)
    top = int(keys.max()) + 1 if n else 0
    if top > 4 * n + 1024:
        cells, inverse = np.unique(keys, return_inverse=True)
        return cells, inverse.reshape(-1).astype(np.int64)
    present = np.bincount(keys, minlength=top) > 0
    cells = np.flatnonzero(present)
    if len(cells) == top:
        return cells, keys
    remap = np.full(top, -1, dtype=np.int64)
    remap[cells] = np.arange(len(cells))
    return cells, remap[keys]
