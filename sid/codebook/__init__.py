"""Codebooks: the YAML that says how each wave maps onto harmonised variables.

A codebook (format in ``docs/codebook.md``) names the waves (year, file
pattern, encoding, id and design variables, default missing codes) and per
harmonised variable: labels (nl/en), type, value labels, the source name and
recodes in each wave, missing codes by kind (NVT, WN, GA, WZ), and the filter
that says who was asked. Derived variables and multiple-response sets are
defined over harmonised names with the expression language of :mod:`sid.expr`.

Modules: :mod:`~sid.codebook.schema` (the pydantic models and vocabularies),
:mod:`~sid.codebook.book` (the :class:`Codebook`), :mod:`~sid.codebook.recode`
(recode rules), :mod:`~sid.codebook.checks` (cross-references),
:mod:`~sid.codebook.read` (reading through :mod:`sid.yamlio`; every problem
at once, each with file:line and YAML path).
"""

from __future__ import annotations

from sid.codebook.book import Codebook
from sid.codebook.checks import semantic_problems
from sid.codebook.read import load_codebook, parse_codebook, read_codebook
from sid.codebook.recode import apply_recode, format_rule
from sid.codebook.schema import (
    ALL_KINDS,
    CODED_TYPES,
    DESIGN_ROLES,
    KIND_CODES,
    KIND_LABELS,
    MISSING_KINDS,
    VARIABLE_TYPES,
    CodebookSpec,
    Derived,
    DesignSpec,
    Kind,
    MRSet,
    OriginSpec,
    RecodeRule,
    Text,
    Variable,
    VariableWave,
    VarType,
    WaveSpec,
    kind_of_label,
)

__all__ = [
    "ALL_KINDS",
    "CODED_TYPES",
    "DESIGN_ROLES",
    "KIND_CODES",
    "KIND_LABELS",
    "MISSING_KINDS",
    "VARIABLE_TYPES",
    "Codebook",
    "CodebookSpec",
    "Derived",
    "DesignSpec",
    "Kind",
    "MRSet",
    "OriginSpec",
    "RecodeRule",
    "Text",
    "VarType",
    "Variable",
    "VariableWave",
    "WaveSpec",
    "apply_recode",
    "format_rule",
    "kind_of_label",
    "load_codebook",
    "parse_codebook",
    "read_codebook",
    "semantic_problems",
]
