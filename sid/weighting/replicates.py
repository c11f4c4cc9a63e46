"""Replicate weights: JK1, JKn and Rao-Wu bootstrap base weights from a sample design (R's
``as.svrepdesign``), and a weighting chain re-run on every replicate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sid.codes import combine_codes
from sid.design import Design
from sid.errors import WeightingError, show_values
from sid.weighting.checks import check_base_weights, row_labels
from sid.weighting.records import WeightingRecord, WeightingResult

__all__ = [
    "REP_METHODS",
    "ReplicateWeights",
    "apply_chain_to_replicates",
    "as_replicate_weights",
    "replicate_weights",
    "run_replicates",
]


REP_METHODS = ("jk1", "jkn", "bootstrap")


@dataclass(frozen=True)
class ReplicateWeights:
    """Replicate weights (n x R, aligned with ``index``) and how to turn them into variances.

    ``weights`` are full replicate weights (R's ``combined.weights = TRUE``): a
    dropped PSU has weight 0. ``scale`` and ``rscales`` are R's; variances are
    ``scale * sum_r rscales_r (theta_r - centre)^2`` with the centre the mean of
    the replicates (``mse=False``) or the full-sample estimate (``mse=True``).
    """

    weights: np.ndarray
    method: str
    scale: float
    rscales: np.ndarray
    index: pd.Index
    mse: bool = False
    notes: tuple[str, ...] = ()

    @property
    def replicates(self) -> int:
        return int(self.weights.shape[1])

    def names(self, prefix: str = "repw_") -> list[str]:
        """Column names ``repw_001``, ``repw_002``, ... (at least three digits)."""
        width = max(3, len(str(self.replicates)))
        return [f"{prefix}{r + 1:0{width}d}" for r in range(self.replicates)]

    def frame(self, prefix: str = "repw_") -> pd.DataFrame:
        """The replicate weights as columns of a DataFrame on ``index``."""
        return pd.DataFrame(self.weights, index=self.index, columns=self.names(prefix))

    def design_kwargs(self, prefix: str = "repw_") -> dict[str, Any]:
        """Keyword arguments for :class:`sid.design.Design` on a frame holding :meth:`frame`."""
        return {"repweights": f"^{prefix}[0-9]+$", "repmethod": self.method,
                "scale": self.scale, "rscales": self.rscales.copy(), "mse": self.mse}


def as_replicate_weights(weights: np.ndarray, method: str, scale: float, rscales: np.ndarray,
                         index: pd.Index, mse: bool = False,
                         notes: tuple[str, ...] = ()) -> ReplicateWeights:
    """Frozen :class:`ReplicateWeights` (read-only float copies) from given replicate weights."""
    weights = np.ascontiguousarray(weights, dtype=float)
    rscales = np.asarray(rscales, dtype=float).copy()
    weights.setflags(write=False)
    rscales.setflags(write=False)
    return ReplicateWeights(weights, method, float(scale), rscales, index, mse, notes)


def replicate_weights(
    design_or_data: Design | pd.DataFrame,
    method: str = "bootstrap",
    *,
    weight: str | np.ndarray | None = None,
    strata: str | None = None,
    psu: str | None = None,
    replicates: int = 200,
    seed: int | None = None,
    mse: bool = False,
) -> ReplicateWeights:
    """Replicate base weights from a sample design, as R's ``as.svrepdesign``.

    ``design_or_data`` is a :class:`sid.design.Design` (its weight, strata and
    psu are used) or a DataFrame with ``weight`` (a column or an array; None
    means 1), ``strata`` and ``psu`` columns (None: one stratum, every row its
    own PSU). PSUs are taken within strata, in order of first appearance, as R.

    * ``"jk1"``: unstratified; replicate g drops PSU g and multiplies the others
      by G/(G-1); ``scale = (G-1)/G`` (R's ``jk1weights``).
    * ``"jkn"``: one replicate per PSU, dropping it and multiplying the other
      PSUs of its stratum by n_h/(n_h-1); ``rscales = (n_h-1)/n_h`` (``jknweights``).
    * ``"bootstrap"``: Rao-Wu rescaling bootstrap as R's ``bootweights``: in every
      stratum draw n_h PSUs with replacement; a PSU's weight is multiplied by the
      number of times it was drawn; ``scale = m / ((m-1)(R-1))`` with m the
      harmonic mean of n_h. Reproducible with ``seed`` (numpy's generator, not R's).

    No finite population correction is applied (as R without ``fpc``).
    """
    where = f"replicate_weights(method={method!r})"
    if method not in REP_METHODS:
        raise WeightingError(f"unknown replicate method {method!r}", where=where,
                             fix=f"use one of {', '.join(REP_METHODS)}")
    if isinstance(design_or_data, Design):
        des = design_or_data
        if des.is_replicate:
            raise WeightingError("the design already has replicate weights", where=where,
                                 fix="pass the design with strata/psu (a Taylor design)")
        if des.psu2 is not None:
            raise WeightingError("replicate weights use the first stage only", where=where,
                                 fix="build the design without psu2", got=f"psu2={des.psu2!r}")
        data, weight, strata, psu = des.data, des.weight, des.strata, des.psu
    else:
        data = design_or_data
    n = len(data)
    w = np.ones(n) if weight is None else check_base_weights(data, weight, where)
    for role, col in (("strata", strata), ("psu", psu)):
        if col is not None and col not in data.columns:
            raise WeightingError(f"{role} variable {col!r} is not in the data", where=where,
                                 got=show_values(list(data.columns)), fix="name an existing column")
        if col is not None and data[col].isna().any():
            bad = data[col].isna().to_numpy()
            raise WeightingError(f"{role} variable {col!r} has {int(bad.sum())} missing value(s)",
                                 where=where, got=f"rows {row_labels(data.index, bad)}",
                                 fix=f"give every row a {role} value")
    s_code = (np.zeros(n, dtype=np.int64) if strata is None
              else pd.factorize(data[strata], sort=False)[0].astype(np.int64))
    s_levels = ([None] if strata is None else list(pd.unique(data[strata])))
    if psu is None:
        p_key = np.arange(n, dtype=np.int64)
    else:
        p_key = pd.factorize(data[psu], sort=False)[0].astype(np.int64)
    # PSU = (stratum, psu) in order of first appearance
    psu_code, first = pd.factorize(combine_codes([s_code, p_key]), sort=False)
    psu_code = psu_code.astype(np.int64)
    n_psu_total = len(first)
    psu_first = np.full(n_psu_total, n, dtype=np.int64)
    np.minimum.at(psu_first, psu_code, np.arange(n))
    psu_stratum = s_code[psu_first]
    n_h = np.bincount(psu_stratum, minlength=len(s_levels))
    if method == "jk1" and len(s_levels) > 1:
        raise WeightingError("JK1 is for unstratified designs", where=where,
                             got=f"{len(s_levels)} strata in {strata!r}",
                             fix="use method 'jkn' (or 'bootstrap') for a stratified design")
    lonely = np.flatnonzero(n_h < 2)
    if lonely.size:
        shown = show_values([s_levels[k] for k in lonely])
        raise WeightingError(
            f"{lonely.size} stratum/strata with a single PSU: replicate weights are undefined",
            where=where, got=f"strata {shown}",
            fix="collapse single-PSU strata with a neighbouring stratum")
    if method in ("jk1", "jkn"):
        # replicate j drops PSU j (PSUs ordered by stratum, then first appearance: R's order)
        order = np.lexsort((np.arange(n_psu_total), psu_stratum))
        rep_of_psu = np.empty(n_psu_total, dtype=np.int64)
        rep_of_psu[order] = np.arange(n_psu_total)
        factor_h = n_h / (n_h - 1.0)
        rep_stratum = psu_stratum[order]
        row_rep = rep_of_psu[psu_code]
        same = s_code[:, None] == rep_stratum[None, :]
        mult = np.where(same, factor_h[s_code][:, None], 1.0)
        mult[np.arange(n), row_rep] = 0.0
        out = w[:, None] * mult
        if method == "jk1":
            g = n_psu_total
            return as_replicate_weights(out, "jk1", (g - 1.0) / g, np.ones(g), data.index, mse)
        rscales = ((n_h - 1.0) / n_h)[rep_stratum]
        return as_replicate_weights(out, "jkn", 1.0, rscales, data.index, mse)
    if replicates < 2:
        raise WeightingError(f"{replicates} bootstrap replicate(s)", where=where,
                             fix="ask for at least 2 replicates (R's default is 50; 200+ is usual)")
    rng = np.random.default_rng(seed)
    # PSU slots grouped by stratum: each stratum draws n_h of its own PSUs per replicate
    order = np.lexsort((np.arange(n_psu_total), psu_stratum))
    start = np.concatenate(([0], np.cumsum(n_h)[:-1]))
    slot_stratum = psu_stratum[order]
    u = rng.random((n_psu_total, replicates))
    pick = start[slot_stratum][:, None] + np.floor(u * n_h[slot_stratum][:, None]).astype(np.int64)
    counts = np.bincount((pick + n_psu_total * np.arange(replicates)[None, :]).ravel(),
                         minlength=n_psu_total * replicates).reshape(replicates, n_psu_total).T
    mult_psu = np.empty_like(counts, dtype=float)
    mult_psu[order] = counts
    m = float(1.0 / np.mean(1.0 / n_h))
    scale = m / ((m - 1.0) * (replicates - 1.0))
    out = w[:, None] * mult_psu[psu_code]
    return as_replicate_weights(out, "bootstrap", scale, np.ones(replicates), data.index, mse)


Chain = Callable[[pd.DataFrame, np.ndarray], "WeightingResult | pd.Series"]
Progress = Callable[[int, int], None]


def apply_chain_to_replicates(
    data: pd.DataFrame,
    replicates: ReplicateWeights,
    chain: Chain,
    *,
    out_index: pd.Index | None = None,
    progress: Progress | None = None,
) -> ReplicateWeights:
    """Run a weighting chain on every replicate's base weights (R: ``rake()`` etc. on a
    replicate design), giving final replicate weights.

    ``chain(frame, weights)`` is the chain for one set of base weights: it gets
    the rows of ``data`` whose replicate weight is positive (a dropped PSU keeps
    weight 0 and takes no part, exactly as its zero weight does in R) and their
    weights, and returns the final weights as a Series (or a
    :class:`WeightingResult`) indexed by rows of ``out_index`` (default
    ``data.index``); rows it does not return get 0. ``progress(done, total)``
    is called after each replicate. A replicate whose chain fails raises
    :class:`~sid.errors.WeightingError` naming the replicate.
    """
    return run_replicates(data, replicates, chain, out_index=out_index, progress=progress)[0]


def run_replicates(
    data: pd.DataFrame,
    replicates: ReplicateWeights,
    chain: Chain,
    *,
    out_index: pd.Index | None = None,
    progress: Progress | None = None,
) -> tuple[ReplicateWeights, tuple[WeightingRecord | None, ...]]:
    """:func:`apply_chain_to_replicates`, also giving each replicate's final record (None
    where the chain returned a bare Series), so a caller can see what every replicate did."""
    where = "apply_chain_to_replicates"
    if replicates.weights.shape[0] != len(data) or not replicates.index.equals(data.index):
        raise WeightingError(
            f"replicate weights are for {replicates.weights.shape[0]} rows, the data has {len(data)}",
            where=where,
            fix="make the replicate weights on the same rows (the gross sample when the chain "
                "starts with a nonresponse adjustment)")
    target = data.index if out_index is None else out_index
    if not target.is_unique:
        raise WeightingError("the output rows have a duplicated index", where=where,
                             fix="reset the index of the data")
    k = replicates.replicates
    out = np.zeros((len(target), k))
    records: list[WeightingRecord | None] = []
    for r in range(k):
        wr = replicates.weights[:, r]
        pos = wr > 0
        try:
            res = chain(data.loc[pos] if not pos.all() else data, wr[pos])
        except WeightingError as exc:
            raise WeightingError(
                f"the weighting chain fails on replicate {r + 1} of {k} ({replicates.method})",
                where=where, got=exc.line().splitlines()[0],
                fix="collapse small categories or classes so that every replicate keeps "
                    "respondents in each (a JK replicate drops a whole PSU)") from None
        series = res.weights if isinstance(res, WeightingResult) else res
        records.append(res.record if isinstance(res, WeightingResult) else None)
        rows = target.get_indexer(series.index)
        if (rows < 0).any():
            raise WeightingError("the chain returned rows that are not output rows", where=where,
                                 fix="return weights indexed by the output rows")
        out[rows, r] = series.to_numpy(dtype=float)
        if progress is not None:
            progress(r + 1, k)
    final = as_replicate_weights(out, replicates.method, replicates.scale, replicates.rscales,
                                 target, replicates.mse, replicates.notes)
    return final, tuple(records)
