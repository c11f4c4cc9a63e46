"""Survey weighting as pure functions: design weights, nonresponse, post-stratification,
raking, calibration (GREG / raking / logit with bounds), trimming and replicate weights,
plus the YAML weighting spec, its chain and its report.

Every method returns a :class:`WeightingResult`: the new weights (a ``pd.Series``
aligned with the input rows) and a :class:`WeightingRecord` (method, iterations,
convergence, the achieved-versus-target gap of every margin category, weight
summaries before and after, and the calibration entries of :mod:`sid.design` that
let the variance engine reproduce R's ``survey`` standard errors after
``postStratify`` / ``rake`` / ``calibrate``).

The numbers follow R's ``survey`` package: ``postStratify``, ``rake`` (run to
convergence), ``calibrate(calfun = "linear" | "raking" | "logit", bounds = c(L, U))``
(R's ``grake``, including its rescaling when every population/sample ratio exceeds
20) and ``trimWeights``; golden tests in ``tests/test_weighting.py``. Convergence is
judged on the largest relative gap between achieved margins and their targets, and
no function returns weights that miss their targets: it raises
:class:`~sid.errors.WeightingError` naming the margin, category and gap.

One module per concern:

======================  =====================================================
``records``             summaries, gaps, :class:`WeightingRecord` / :class:`WeightingResult`
``population``          the population margins CSV read and checked as data
``margins``             margins resolved against the data, ``within=``, long tables
``collapse``            the collapsing rule for sparse margin cells
``base``                design weights, frame weights, nonresponse classes
``poststratify``        :func:`poststratify`
``rake``                :func:`rake`
``calibrate``           :func:`calibrate`
``trim``                :func:`trim`, :func:`trim_rake`
``bounded``             :func:`bounded_rake`: trimming as bounded calibration (the spec's ``trim``)
``replicates``          replicate base weights, the chain per replicate
``spec``                the weighting spec (pydantic models) and :func:`load_spec`
``chain``               :func:`run_spec`: the spec as a pipeline of pure steps
``report``              the Excel / Markdown weighting report
``apply``               weights onto waves (``sid weight``) and into tables (``sid tables``)
======================  =====================================================

The names below load their module on first use (PEP 562): ``sid tables`` merges weights
and reads their lineage (``apply``, ``lineage``) without loading the spec's pydantic models
or the report (~50 ms of its start-up).
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sid.weighting.base import design_weights, frame_weights, nonresponse_adjust
    from sid.weighting.bounded import bounded_rake
    from sid.weighting.calibration import INTERCEPT, calibrate
    from sid.weighting.chain import ChainResult, run_spec
    from sid.weighting.collapse import CollapsedCell
    from sid.weighting.margins import margins_from_long
    from sid.weighting.population import (
        PopulationTableError,
        check_population_table,
        read_population_csv,
    )
    from sid.weighting.poststratification import poststratify
    from sid.weighting.raking import rake
    from sid.weighting.records import (
        MarginGap,
        WeightingRecord,
        WeightingResult,
        WeightSummary,
        design_calibration,
        summary_table,
        weight_summary,
    )
    from sid.weighting.replicates import (
        REP_METHODS,
        ReplicateWeights,
        apply_chain_to_replicates,
        replicate_weights,
    )
    from sid.weighting.report import report_markdown, report_tables, write_report
    from sid.weighting.spec import WeightingSpec, load_spec
    from sid.weighting.trimming import TrimBoundsConflict, trim, trim_rake

__all__ = [
    "INTERCEPT",
    "REP_METHODS",
    "ChainResult",
    "CollapsedCell",
    "MarginGap",
    "PopulationTableError",
    "ReplicateWeights",
    "TrimBoundsConflict",
    "WeightSummary",
    "WeightingRecord",
    "WeightingResult",
    "WeightingSpec",
    "apply_chain_to_replicates",
    "bounded_rake",
    "calibrate",
    "check_population_table",
    "design_calibration",
    "design_weights",
    "frame_weights",
    "load_spec",
    "margins_from_long",
    "nonresponse_adjust",
    "poststratify",
    "rake",
    "read_population_csv",
    "replicate_weights",
    "report_markdown",
    "report_tables",
    "run_spec",
    "summary_table",
    "trim",
    "trim_rake",
    "weight_summary",
    "write_report",
]

_HOME = MappingProxyType({
    "design_weights": "base",
    "frame_weights": "base",
    "nonresponse_adjust": "base",
    "bounded_rake": "bounded",
    "INTERCEPT": "calibration",
    "calibrate": "calibration",
    "ChainResult": "chain",
    "run_spec": "chain",
    "CollapsedCell": "collapse",
    "margins_from_long": "margins",
    "PopulationTableError": "population",
    "check_population_table": "population",
    "read_population_csv": "population",
    "poststratify": "poststratification",
    "rake": "raking",
    "MarginGap": "records",
    "WeightingRecord": "records",
    "WeightingResult": "records",
    "WeightSummary": "records",
    "design_calibration": "records",
    "summary_table": "records",
    "weight_summary": "records",
    "REP_METHODS": "replicates",
    "ReplicateWeights": "replicates",
    "apply_chain_to_replicates": "replicates",
    "replicate_weights": "replicates",
    "report_markdown": "report",
    "report_tables": "report",
    "write_report": "report",
    "WeightingSpec": "spec",
    "load_spec": "spec",
    "TrimBoundsConflict": "trimming",
    "trim": "trimming",
    "trim_rake": "trimming",
})
"""The module of each public name."""


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
