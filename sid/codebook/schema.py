"""The codebook schema: pydantic models of the YAML, and the fixed vocabularies.

Missing kinds (NVT, WN, GA, WZ, SYS) with their labels and table codes,
variable types and design roles, and the models :class:`CodebookSpec` is made
of. The shape only: cross-references are checked by
:mod:`sid.codebook.checks`, reading is in :mod:`sid.codebook.read`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["ALL_KINDS", "CODED_TYPES", "DESIGN_ROLES", "KIND_CODES", "KIND_LABELS", "MISSING_KINDS",
           "VARIABLE_TYPES", "CodebookSpec", "Derived", "DesignSpec", "MRSet", "OriginSpec",
           "RecodeRule", "Text", "Variable", "VariableWave", "WaveSpec", "kind_of_label"]

MISSING_KINDS: tuple[str, ...] = ("NVT", "WN", "GA", "WZ")
"""Missing kinds a codebook can assign codes to (NVT niet van toepassing, WN weet niet,
GA geen antwoord, WZ wil niet zeggen)."""
ALL_KINDS: tuple[str, ...] = (*MISSING_KINDS, "SYS")
"""Plus SYS: system-missing (an empty cell, or a concept not measured in that wave)."""
KIND_LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "NVT": {"nl": "niet van toepassing", "en": "not applicable"},
    "WN": {"nl": "weet niet", "en": "don't know"},
    "GA": {"nl": "geen antwoord", "en": "no answer"},
    "WZ": {"nl": "wil niet zeggen", "en": "prefer not to say"},
    "SYS": {"nl": "ontbrekend", "en": "missing"},
})
KIND_CODES: Mapping[str, float] = MappingProxyType(
    {"NVT": -1.0, "WN": -8.0, "GA": -9.0, "WZ": -7.0, "SYS": -99.0}
)
"""Codes used when a table keeps a missing kind as a category (see HarmonisedData.column)."""
_KIND_BY_LABEL = MappingProxyType({v["nl"]: k for k, v in KIND_LABELS.items()})
VARIABLE_TYPES = ("categorical", "ordinal", "continuous", "count", "id", "weight", "design", "text")
CODED_TYPES = ("categorical", "ordinal")
DESIGN_ROLES = ("weight", "strata", "psu", "fpc", "incl_prob")

Kind = Literal["NVT", "WN", "GA", "WZ"]
VarType = Literal["categorical", "ordinal", "continuous", "count", "id", "weight", "design", "text"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _str_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return value


class Text(_Model):
    """A label in Dutch (required) and English (optional)."""

    nl: str
    en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"nl": value}
        return value

    def get(self, lang: str = "nl") -> str:
        """The label in ``lang``, falling back to Dutch."""
        return (self.en if lang == "en" else None) or self.nl


class RecodeRule(_Model):
    """One recode rule: ``from`` a code (or list of codes, to collapse) or a ``range`` [lo, hi] ``to`` a code."""

    from_: float | list[float] | None = Field(default=None, alias="from")
    range: tuple[float, float] | None = None
    to: float

    @model_validator(mode="after")
    def _one_source(self) -> RecodeRule:
        if (self.from_ is None) == (self.range is None):
            raise ValueError("give exactly one of 'from' (code or list of codes) or 'range' ([lo, hi])")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range lower bound {self.range[0]} is above upper bound {self.range[1]}")
        return self


class VariableWave(_Model):
    """How one wave measures a harmonised variable."""

    source: str
    recode: dict[float, float] | list[RecodeRule] | None = None
    missing: dict[Kind, list[float]] | None = None
    note: str | None = None


class Variable(_Model):
    """A harmonised variable (concept) and its source in each wave."""

    label: Text
    type: VarType
    question: Text | None = None
    values: dict[float, Text] = Field(default_factory=dict)
    valid_range: tuple[float, float] | None = None
    asked_if: str | None = None
    reference: float | None = None
    """The reference category (contrasts, regression): one of ``values``."""
    waves: dict[str, VariableWave]

    @field_validator("waves", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return _str_keys(value)


class Derived(_Model):
    """A variable computed from others with an expression (see sid.expr)."""

    expr: str
    label: Text
    type: VarType = "categorical"
    values: dict[float, Text] = Field(default_factory=dict)
    reference: float | None = None
    missing: Literal["propagate", "none"] = "propagate"


class MRSet(_Model):
    """A multiple-response set: 0/1 items counted as one question."""

    label: Text
    items: list[str]
    counted: float = 1.0


class DesignSpec(_Model):
    """Design variables (harmonised names) of a wave."""

    weight: str
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    incl_prob: str | None = None


class WaveSpec(_Model):
    """A wave: year, file name pattern, encoding, id and design variables, default missing codes."""

    year: int
    file: str
    encoding: str | None = None
    id: str
    design: DesignSpec
    missing: dict[Kind, list[float]] = Field(default_factory=dict)
    ref_date: _dt.date | None = None


class OriginSpec(_Model):
    """How ``sid validate`` checks the frame origin group against the derived origin."""

    rule: str = "vl2013"
    frame: str
    fields: dict[str, str]
    ref_date: dict[str, _dt.date] = Field(default_factory=dict)

    @field_validator("ref_date", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return _str_keys(value)


class CodebookSpec(_Model):
    """The whole codebook as validated by the schema."""

    name: str
    description: str | None = None
    version: int = 1
    waves: dict[str, WaveSpec]
    variables: dict[str, Variable]
    derived: dict[str, Derived] = Field(default_factory=dict)
    mr_sets: dict[str, MRSet] = Field(default_factory=dict)
    origin: OriginSpec | None = None

    @field_validator("waves", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        return _str_keys(value)


def kind_of_label(text: Any) -> str | None:
    """The missing kind a file's value label names ("Weet niet " -> WN), or None."""
    return _KIND_BY_LABEL.get(str(text).strip().lower()) if text is not None else None
