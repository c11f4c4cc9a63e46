"""The weighting chain of a spec: start weights -> nonresponse -> rake/calibrate -> trim.

:func:`run_spec` is a plain pipeline. Everything fixed for a run (the wave with
user-missing codes as NaN, the gross sample, the margin variables, the margins,
the link from wave rows to gross-sample rows) is resolved once into a frozen
:class:`ChainPlan`; each step is a pure function of the plan and the weights
that returns a :class:`~sid.weighting.records.WeightingResult` (weights and
record). The full sample runs :func:`full_chain`; with ``replicates:`` every
replicate runs :func:`replicate_chain` on its own base weights, trimming at the
full sample's bounds times its multiplier.

Sparse margin cells are merged once, in the plan, by the spec's collapsing rule
(:mod:`sid.weighting.collapse`; every replicate uses the same merged margins), and
trimming is bounded calibration (:func:`~sid.weighting.bounded.bounded_rake`): the
weights closest to the calibrated ones that meet the margins within the bounds, the
bounds widened by a stated factor when the margins do not allow them. Before the
weights are returned, :func:`run_spec` recomputes every margin from the final weights
and raises unless each is met within :data:`MARGIN_TOL`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sid.errors import WeightingError, format_number, show_values
from sid.weighting.base import design_weights, frame_weights, nonresponse_adjust
from sid.weighting.bounded import bounded_rake
from sid.weighting.calibration import calibrate
from sid.weighting.checks import check_base_weights
from sid.weighting.collapse import CollapsedCell, collapse_margins
from sid.weighting.margins import apply_within, margin_gaps, margins_from_long, resolve_margins
from sid.weighting.population import check_population_table, read_population_csv
from sid.weighting.raking import rake
from sid.weighting.records import WeightingRecord, WeightingResult, check_gaps, make_result
from sid.weighting.replicates import ReplicateWeights, replicate_weights, run_replicates
from sid.weighting.spec import BandSpec, DesignSpec, WeightingSpec, spec_from_mapping

__all__ = [
    "MARGIN_TOL",
    "ChainPlan",
    "ChainResult",
    "FullRun",
    "derive_margin_variables",
    "full_chain",
    "plan_chain",
    "replicate_chain",
    "replicate_chains",
    "run_spec",
    "start_weights",
]

Step = tuple[str, WeightingRecord]

# the final weights meet every margin category within this (relative) tolerance, or raise;
# every step converges to 1e-10, the margin allows for summation order
MARGIN_TOL = 1e-9


@dataclass(frozen=True)
class ChainResult:
    """The weighting chain of a spec: the final weights on the wave and every step's record."""

    weights: pd.Series
    steps: tuple[Step, ...]
    group: pd.Series | None
    spec: WeightingSpec
    replicates: ReplicateWeights | None = None
    collapsed: tuple[CollapsedCell, ...] = ()


@dataclass(frozen=True, eq=False)
class ChainPlan:
    """What every run of the chain shares, resolved once from the spec and the data.

    ``source`` holds the rows the start weights are made on (the gross sample when
    there is one, else the wave); ``link`` gives, for each wave row, its row position
    in ``source`` (-1: not there), or is None when ``source`` is the wave itself.
    ``work`` holds the margin variables (named as in the margins table) on the wave rows.
    """

    spec: WeightingSpec
    where: str
    data: pd.DataFrame
    source: pd.DataFrame
    work: pd.DataFrame
    margins: Mapping[Any, Any]
    link: np.ndarray | None
    collapsed: tuple[CollapsedCell, ...] = ()

    def to_wave(self, rows: pd.Index, values: np.ndarray) -> np.ndarray:
        """Values on ``rows`` of ``source`` as values on the wave's rows (NaN: absent)."""
        if self.link is None:
            out = np.full(len(self.data), np.nan)
            out[self.data.index.get_indexer(rows)] = values
            return out
        full = np.full(len(self.source), np.nan)
        full[self.source.index.get_indexer(rows)] = values
        return np.where(self.link >= 0, full[np.maximum(self.link, 0)], np.nan)

    def groups(self, frame: pd.DataFrame) -> pd.Series:
        """The within-group of each row of ``frame`` (one group without ``within``)."""
        names = self.spec.margins.within or ()
        if not names:
            return pd.Series(0, index=frame.index)
        if len(names) == 1:
            return frame[names[0]]
        return frame[list(names)].apply(
            lambda r: " x ".join(format_number(v) for v in r), axis=1)


# --------------------------------------------------------------------------- plan


def derive_margin_variables(frame: pd.DataFrame, variables: Mapping[str, BandSpec],
                            where: str) -> pd.DataFrame:
    """Columns named as in the margins table, taken or banded from the wave's columns."""
    out = pd.DataFrame(index=frame.index)
    for target, band in variables.items():
        if band.source not in frame.columns:
            raise WeightingError(
                f"variable {band.source!r} (for margin variable {target!r}) is not in the data",
                where=where, fix="correct margins.variables in the spec")
        values = pd.to_numeric(frame[band.source], errors="coerce").to_numpy(dtype=float)
        if band.breaks is not None:
            cut = np.searchsorted(np.asarray(band.breaks, dtype=float), values, side="right")
            banded = (cut + 1).astype(float)
            banded[~np.isfinite(values)] = np.nan
            values = banded
        out[target] = values
    return out


def plan_chain(spec: WeightingSpec, data: pd.DataFrame, *, gross: pd.DataFrame | None,
               margins_table: pd.DataFrame | None,
               missing: Mapping[str, np.ndarray] | None) -> ChainPlan:
    """Resolve the spec against the wave (and gross sample): margins, variables, row link."""
    where = f"weighting spec {spec.source}".strip()
    data = data.copy()
    for col, mask in (missing or {}).items():
        if col in data.columns and mask.any():
            data.loc[mask, col] = np.nan
    if spec.nonresponse is not None and gross is None:
        raise WeightingError("the spec asks for a nonresponse adjustment but no gross sample was given",
                             where=where, fix="pass --gross with the gross sample file")
    mspec = spec.margins
    work = derive_margin_variables(data, mspec.variables, where)
    table = margins_table
    if table is None:
        if mspec.source is None:
            raise WeightingError("no margins table given", where=where,
                                 fix="set margins.source in the spec or pass --margins")
        table = read_population_csv(mspec.source)
    margins: Mapping[Any, Any] = margins_from_long(table, mspec.crosses, count=mspec.count,
                                                   within=mspec.within_arg, filters=mspec.filter)
    collapsed: tuple[CollapsedCell, ...] = ()
    if mspec.collapse is not None:
        merged = collapse_margins(work, margins, mspec.within_arg, mspec.collapse.variables,
                                  mspec.collapse.min_n)
        work, margins, collapsed = merged.work, merged.margins, merged.cells
    link = None
    if gross is not None:
        idcol = spec.id
        if idcol is None or idcol not in data.columns or idcol not in gross.columns:
            raise WeightingError(f"id variable {idcol!r} must be in the wave and the gross sample",
                                 where=where, fix="set id: in the spec")
        if not gross[idcol].is_unique:
            raise WeightingError(f"id {idcol!r} is not unique in the gross sample", where=where,
                                 fix="give a unique respondent id")
        link = pd.Index(gross[idcol].to_numpy()).get_indexer(data[idcol].to_numpy())
    source = data if gross is None else gross
    return ChainPlan(spec, where, data, source, work, MappingProxyType(dict(margins)), link,
                     collapsed)


# --------------------------------------------------------------------------- steps


def start_weights(design: DesignSpec, frame: pd.DataFrame, where: str) -> WeightingResult:
    """The design (start) weights on ``frame``: a weight column, 1/pi, or N_h/n_h."""
    if design.base_weight is not None:
        w = check_base_weights(frame, design.base_weight, where + " design.base_weight")
        return make_result(w, frame.index, "design", w, name="design_wt",
                           params={"base_weight": design.base_weight})
    if design.incl_prob is not None:
        return design_weights(frame, design.incl_prob)
    fc = design.frame_counts
    assert fc is not None  # DesignSpec holds exactly one of the three
    table = (read_population_csv(fc.file, what="frame counts") if fc.file is not None
             else pd.DataFrame(fc.table))
    table = check_population_table(table, count=fc.count, columns=fc.strata,
                                   where=f"{where} design.frame_counts", what="frame counts")
    return frame_weights(frame, list(fc.strata), table[[*fc.strata, fc.count]])


def nonresponse_step(plan: ChainPlan, frame: pd.DataFrame, w: np.ndarray) -> WeightingResult:
    """Weighting-class nonresponse adjustment of ``w`` on the gross-sample rows ``frame``."""
    nr = plan.spec.nonresponse
    assert nr is not None
    return nonresponse_adjust(frame, w, nr.respondent, list(nr.classes))


def calibration_step(plan: ChainPlan, sub: pd.DataFrame, w: np.ndarray) -> WeightingResult:
    """Raking or calibration of ``w`` on the wave rows ``sub`` to the spec's margins."""
    spec = plan.spec
    within = spec.margins.within_arg
    if spec.method == "rake":
        return rake(sub, w, plan.margins, within=within)
    return calibrate(sub, w, plan.margins, method=spec.method, bounds=spec.bounds, within=within)


def trim_reference(plan: ChainPlan, sub: pd.DataFrame, w: np.ndarray) -> np.ndarray:
    """What the trimming bounds multiply: 1, or the median/mean weight of the row's group."""
    tr = plan.spec.trim
    assert tr is not None
    if tr.relative_to == "absolute":
        return np.ones_like(w)
    return pd.Series(w, index=sub.index).groupby(plan.groups(sub)).transform(tr.relative_to).to_numpy()


def trim_step(plan: ChainPlan, sub: pd.DataFrame, w: np.ndarray, ref: np.ndarray) -> WeightingResult:
    """Trim the calibrated weights ``w`` to the bounds times ``ref`` with the margins kept:
    bounded calibration (:func:`~sid.weighting.bounded.bounded_rake`), which widens the
    bounds by a stated factor when the margins do not allow them."""
    spec = plan.spec
    tr = spec.trim
    assert tr is not None
    lower = None if tr.lower is None else tr.lower * ref
    upper = None if tr.upper is None else tr.upper * ref
    return bounded_rake(sub, w, plan.margins, lower=lower, upper=upper,
                        within=spec.margins.within_arg, name=spec.output.weight)


# --------------------------------------------------------------------------- pipelines


@dataclass(frozen=True)
class FullRun:
    """The full-sample chain: final weights (wave rows), its steps, the start weights on
    the source rows and the trimming reference (None without trimming) for the replicates."""

    weights: pd.Series
    steps: tuple[Step, ...]
    start: np.ndarray
    trim_ref: np.ndarray | None


def full_chain(plan: ChainPlan) -> FullRun:
    """The chain on the full sample, every step recorded."""
    spec = plan.spec
    start = start_weights(spec.design, plan.source, plan.where)
    steps: tuple[Step, ...] = (("ontwerpgewicht", start.record),)
    base = start.weights.to_numpy()
    w_src = base
    if spec.nonresponse is not None:
        nr = nonresponse_step(plan, plan.source, w_src)
        steps += (("nonrespons", nr.record),)
        w_src = nr.weights.to_numpy()
    w = plan.to_wave(plan.source.index, w_src)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        ids = plan.data[spec.id].to_numpy()[bad].tolist() if spec.id else []
        raise WeightingError(
            f"{int(bad.sum())} respondent(s) of the wave are not respondents in the gross sample",
            where=plan.where, got=f"ids {show_values(ids)}",
            fix="use the gross sample that belongs to this wave")
    res = calibration_step(plan, plan.work, w)
    if plan.collapsed:  # the merges are part of what the calibration step did
        record = replace(res.record, params=MappingProxyType(
            dict(res.record.params) | {"collapsed": [c.as_dict() for c in plan.collapsed]}),
            notes=res.record.notes + tuple(c.text() for c in plan.collapsed))
        res = WeightingResult(res.weights, record)
    steps += ((spec.method, res.record),)
    ref = None
    if spec.trim is not None:
        ref = trim_reference(plan, plan.work, res.weights.to_numpy())
        res = trim_step(plan, plan.work, res.weights.to_numpy(), ref)
        steps += (("trimmen", res.record),)
    return FullRun(res.weights, steps, base, ref)


def replicate_chain(plan: ChainPlan, ref: np.ndarray | None, base: np.ndarray,
                    frame: pd.DataFrame, w_src: np.ndarray) -> WeightingResult:
    """The chain for one replicate's base weights ``w_src`` on the source rows ``frame``.

    Rows that drop out (a dropped PSU, a nonrespondent) take no part. Trimming uses
    the full sample's bounds times the unit's replicate multiplier (a PSU drawn twice
    in a bootstrap replicate may carry twice the weight); when those cannot hold
    together with the margins they are widened (``params["widened"]``), as on the full
    sample.
    """
    spec = plan.spec
    mult = plan.to_wave(frame.index, w_src / base[plan.source.index.get_indexer(frame.index)])
    if spec.nonresponse is not None:
        w_src = nonresponse_step(plan, frame, w_src).weights.to_numpy()
    w = plan.to_wave(frame.index, w_src)
    keep = np.isfinite(w) & (w > 0)
    sub = plan.work if keep.all() else plan.work.loc[keep]
    res = calibration_step(plan, sub, w[keep])
    if spec.trim is None:
        return res
    assert ref is not None
    return trim_step(plan, sub, res.weights.to_numpy(), ref[keep] * mult[keep])


def run_spec(
    spec: WeightingSpec | Mapping[str, Any],
    data: pd.DataFrame,
    *,
    gross: pd.DataFrame | None = None,
    margins_table: pd.DataFrame | None = None,
    missing: Mapping[str, np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ChainResult:
    """Apply a weighting spec to the respondents in ``data``: design weights, nonresponse
    adjustment on the gross sample, raking/calibration (within groups), trimming.

    ``spec`` is a :class:`WeightingSpec` (:func:`~sid.weighting.spec.load_spec`) or a
    plain mapping with the same keys (checked the same way). ``missing`` marks
    user-missing codes per column (set to NaN before weighting, so a margin variable
    with missing codes is reported as missing). With a ``replicates`` key, replicate
    base weights are made from the design (on the gross sample when there is one)
    and the whole chain is run on every replicate; ``progress(done, total)`` reports
    on them.
    """
    spec = spec_from_mapping(spec)
    plan = plan_chain(spec, data, gross=gross, margins_table=margins_table, missing=missing)
    run = full_chain(plan)
    weights = pd.Series(run.weights.reindex(plan.data.index).to_numpy(), index=plan.data.index,
                        name=spec.output.weight)
    verify_margins(plan, weights.to_numpy())
    group = plan.groups(plan.work) if spec.margins.within else None
    reps = None if spec.replicates is None else replicate_chains(plan, run, progress)
    return ChainResult(weights, run.steps, group, spec, reps, plan.collapsed)


def verify_margins(plan: ChainPlan, weights: np.ndarray, tol: float = MARGIN_TOL) -> None:
    """Recompute every margin category from the final weights and raise unless each meets
    its target within ``tol`` (relative): the chain never returns weights off their targets."""
    within = plan.spec.margins.within_arg
    ms = resolve_margins(plan.work, apply_within(plan.margins, within, plan.where), plan.where,
                         1e-6)
    check_gaps(weights, margin_gaps(ms, weights), tol, f"{plan.where} (final weights)".strip())


def replicate_chains(plan: ChainPlan, run: FullRun,
                     progress: Callable[[int, int], None] | None = None) -> ReplicateWeights:
    """Replicate base weights from the design, and the chain run on each of them."""
    rspec = plan.spec.replicates
    assert rspec is not None
    begin = replicate_weights(plan.source, rspec.method, weight=run.start, strata=rspec.strata,
                              psu=rspec.psu, replicates=rspec.replicates, seed=rspec.seed,
                              mse=rspec.mse)
    chain = partial(replicate_chain, plan, run.trim_ref, run.start)
    reps, records = run_replicates(plan.source, begin, chain, out_index=plan.data.index,
                                   progress=progress)
    widened = sum(1 for rec in records if rec is not None and rec.params.get("widened", 0) > 0)
    untrimmed = sum(1 for rec in records if rec is not None and rec.params.get("untrimmed"))
    notes = reps.notes
    if widened:
        notes += (f"{widened} of {reps.replicates} replicates cannot hold the trimming bounds "
                  "together with the margins; their bounds were widened",)
    if untrimmed:
        notes += (f"{untrimmed} of {reps.replicates} replicates cannot hold the trimming bounds "
                  "even widened; they keep their calibrated (untrimmed) weights",)
    return reps if notes == reps.notes else replace(reps, notes=notes)
