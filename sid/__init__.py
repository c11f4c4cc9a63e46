"""sid: a toolkit for the Flemish survey Samenleven in Diversiteit (SID).

Reading waves, codebooks and harmonisation, origin (herkomst) rules, survey
designs, weighting, design-based estimation and regression, sample planning,
crosstabs and Excel table books.

The names in :data:`__all__` are the public API. They are imported on first
use (so ``sid --help`` and ``import sid`` stay fast) and then kept, so
``sid.estimate`` is the same function however often it is looked up. No public
name is also a submodule: the modules are ``sid.io``, ``sid.codebook``,
``sid.harmonise``, ``sid.validation``, ``sid.origin``, ``sid.design``,
``sid.estimation``, ``sid.model``, ``sid.weighting``, ``sid.plan``,
``sid.tables``, ``sid.export``, ``sid.synthetic`` and ``sid.cli``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # waves
    "Wave": "sid.io",
    "WaveMeta": "sid.io",
    "MissingSpec": "sid.io",
    "read_wave": "sid.io",
    "scan_wave": "sid.io",
    "write_wave": "sid.io",
    "make_wave": "sid.io",
    "to_stata_missing": "sid.io",
    # codebooks, harmonisation, validation
    "Codebook": "sid.codebook",
    "read_codebook": "sid.codebook",
    "HarmonisedData": "sid.harmonise",
    "load": "sid.harmonise",
    "evaluate": "sid.expr",
    "validate": "sid.validation",
    # origin
    "classify": "sid.origin",
    "load_rules": "sid.origin",
    # designs and estimates
    "Design": "sid.design",
    "estimate": "sid.estimation",
    "compare": "sid.estimation",
    # regression
    "ModelFit": "sid.model",
    "fit_model": "sid.model",
    "term_tests": "sid.model",
    "margins": "sid.model",
    # weighting
    "WeightingResult": "sid.weighting",
    "design_weights": "sid.weighting",
    "frame_weights": "sid.weighting",
    "nonresponse_adjust": "sid.weighting",
    "poststratify": "sid.weighting",
    "rake": "sid.weighting",
    "calibrate": "sid.weighting",
    "trim": "sid.weighting",
    "trim_rake": "sid.weighting",
    "replicate_weights": "sid.weighting",
    "load_weighting_spec": "sid.weighting",
    "run_spec": "sid.weighting",
    # sample planning
    "n_for_moe": "sid.plan",
    "n_for_difference": "sid.plan",
    # crosstabs and table books
    "Crosstab": "sid.tables",
    "crosstab": "sid.tables",
    "read_spec": "sid.tables",
    "build_tables": "sid.tables",
    "write_book": "sid.export",
    "write_table_book": "sid.export",
}

# Exported under another name than the one its module uses.
_RENAMED = {"fit_model": "fit", "load_weighting_spec": "load_spec"}

__all__ = [
    "__version__",
    "Wave",
    "WaveMeta",
    "MissingSpec",
    "read_wave",
    "scan_wave",
    "write_wave",
    "make_wave",
    "to_stata_missing",
    "Codebook",
    "read_codebook",
    "HarmonisedData",
    "load",
    "evaluate",
    "validate",
    "classify",
    "load_rules",
    "Design",
    "estimate",
    "compare",
    "ModelFit",
    "fit_model",
    "term_tests",
    "margins",
    "WeightingResult",
    "design_weights",
    "frame_weights",
    "nonresponse_adjust",
    "poststratify",
    "rake",
    "calibrate",
    "trim",
    "trim_rake",
    "replicate_weights",
    "load_weighting_spec",
    "run_spec",
    "n_for_moe",
    "n_for_difference",
    "Crosstab",
    "crosstab",
    "read_spec",
    "build_tables",
    "write_book",
    "write_table_book",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from sid.codebook import Codebook, read_codebook
    from sid.design import Design
    from sid.estimation import compare, estimate
    from sid.export import write_book, write_table_book
    from sid.expr import evaluate
    from sid.harmonise import HarmonisedData, load
    from sid.io import (
        MissingSpec,
        Wave,
        WaveMeta,
        make_wave,
        read_wave,
        scan_wave,
        to_stata_missing,
        write_wave,
    )
    from sid.model import ModelFit, margins, term_tests
    from sid.model import fit as fit_model
    from sid.origin import classify, load_rules
    from sid.plan import n_for_difference, n_for_moe
    from sid.tables import Crosstab, build_tables, crosstab, read_spec
    from sid.validation import validate
    from sid.weighting import (
        WeightingResult,
        calibrate,
        design_weights,
        frame_weights,
        nonresponse_adjust,
        poststratify,
        rake,
        replicate_weights,
        run_spec,
        trim,
        trim_rake,
    )
    from sid.weighting import load_spec as load_weighting_spec


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sid' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # looked up once: later lookups never reach __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
