"""Random draws by inverse CDF without a search per draw (for :mod:`sid.synthetic.population`).

Categories from per-person logits (:func:`nominal`), ordered codes from a latent score
and cut points (:func:`ordered`), and indexes with given probabilities
(:func:`choice_index`, numpy's ``Generator.choice`` through a bucket table,
:func:`search_right`). Each gives the same numbers as the plain numpy formulation it
replaces, so the synthetic data of a seed do not change.
"""

from __future__ import annotations

import numpy as np


def nominal(rng: np.random.Generator, logits: list[np.ndarray]) -> np.ndarray:
    """Draw category codes 1..k from per-person logits (one array per category).

    Inverse CDF in float32: the code is 1 + the number of cumulative weights at or
    below ``u x total`` (the cumulative weights do not decrease, so this is the first
    category whose cumulative weight exceeds the draw). The float32 logit arrays are
    scratch: contiguous ones are overwritten by the weights (fewer fresh arrays).
    """
    n = len(logits[0])
    top = np.array(logits[0], dtype=np.float32, copy=True)
    for lg in logits[1:]:
        np.maximum(top, lg, out=top)
    weights = []
    for lg in logits:
        reuse = lg.dtype == np.float32 and lg.flags.c_contiguous and lg.flags.writeable
        w = np.subtract(lg, top, out=lg if reuse else np.empty(n, dtype=np.float32),
                        dtype=np.float32)
        weights.append(np.exp(w, out=w))
    total = weights[0].copy()
    for w in weights[1:]:
        total += w
    u = rng.random(n, dtype=np.float32)
    u *= total
    out = np.ones(n, dtype=np.int8)
    cum = top  # reused as the running sum
    cum[:] = weights[0]
    for w in weights[1:-1]:
        out += u >= cum
        cum += w
    out += u >= cum
    return out


def ordered(latent: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Codes 1..len(cuts)+1 from a latent score and increasing cut points.

    1 + the number of cut points below the score, compared in float64 (as
    ``np.searchsorted(cuts, latent) + 1`` does), one pass per cut point.
    """
    out = np.ones(len(latent), dtype=np.int8)
    for cut in cuts:
        out += latent > np.float64(cut)
    return out


def search_right(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``cdf.searchsorted(u, side="right")`` for ``u`` in [0, 1) and a short increasing ``cdf``.

    A table of 2^16 equal buckets of [0, 1) holds the answer for every bucket that no
    ``cdf`` value cuts; only draws in the few cut buckets take the binary search.
    ``u x 2^16`` is exact, so each draw finds its bucket exactly.
    """
    if len(u) < 20_000:  # building the table costs more than it saves
        return cdf.searchsorted(u, side="right")
    buckets = 1 << 16
    edges = np.arange(buckets + 1) / buckets
    lo = cdf.searchsorted(edges[:-1], side="right")  # the answer at the bucket's left end
    hi = cdf.searchsorted(edges[1:], side="left")  # its bound inside the bucket
    at = (u * buckets).astype(np.int32)
    idx = lo[at]
    unsure = np.flatnonzero((lo != hi)[at])
    idx[unsure] = cdf.searchsorted(u[unsure], side="right")
    return idx


def choice_index(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Indexes 0..len(p)-1 drawn with probabilities ``p``: the same draws and numbers as
    ``rng.choice(len(p), size, p=p)`` (numpy's inverse CDF on ``rng.random(size)``)."""
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    return search_right(cdf, rng.random(size))
