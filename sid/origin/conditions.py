"""Conditions of the origin rule language: their schema, their checks, their evaluation.

A condition says something about a country: ``{is: PRED}`` (or a list of
predicates, all must hold), ``{in: [codes]}``, ``{region: [regions]}``, or a
combination ``{any: [...]}``, ``{all: [...]}``, ``{not: ...}``. In a rule set a
condition also names the ``field`` (nationality role) whose country it tests;
grouping rules test the country itself and have no ``field``.

The shape is a pydantic model at module level (:class:`CountryCondition`,
:class:`FieldCondition`), validated with :func:`sid.yamlio.validate_model`, so
every problem at every nesting level is reported at once with file:line.
What the schema cannot know (the rule set's fields, the country table's
codes) is checked by :func:`condition_problems`. :func:`evaluate` computes a
condition on the rows of a :class:`~sid.origin.countries.CountryRows`,
vectorised.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from sid.errors import show_values
from sid.origin.countries import CountryRows
from sid.yamlio import YamlDocument

__all__ = ["CountryCondition", "FieldCondition", "condition_problems", "evaluate"]

Predicate = Literal["known", "unknown", "belgian", "foreign", "in_eu", "outside_eu", "in_eu15",
                    "outside_eu15"]
Region = Literal["europe", "north_africa", "africa", "asia", "americas", "oceania", "antarctica"]


def _as_list(value: Any) -> Any:
    """One name or a list of names: ``is: foreign`` reads as ``is: [foreign]``."""
    return value if isinstance(value, list) else [value]


def _code_text(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("country_code", "YAML read this code as {read}; quote country "
                                  "codes such as 'NO' (Norway)", {"read": str(value).lower()})
    return value


CountryCode = Annotated[str, BeforeValidator(_code_text)]
Predicates = Annotated[list[Predicate], BeforeValidator(_as_list), Field(min_length=1)]
Regions = Annotated[list[Region], BeforeValidator(_as_list), Field(min_length=1)]
Codes = Annotated[list[CountryCode], Field(min_length=1)]


class Shape(BaseModel):
    """Base of the YAML shape models of sid.origin: frozen, unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Leaf(Shape):
    """The tests on one country: predicates, codes, regions (all given must hold)."""

    is_: Predicates | None = Field(default=None, alias="is")
    in_: Codes | None = Field(default=None, alias="in")
    region: Regions | None = None

    def has_test(self) -> bool:
        """Whether the leaf tests anything."""
        return self.is_ is not None or self.in_ is not None or self.region is not None


_COMBINATORS = {"any": "any", "all": "all", "not_": "not"}
_ALIASES = {"is_": "is", "in_": "in", "not_": "not"}


class CountryCondition(Leaf):
    """A condition on a country (grouping rules): a leaf, or any / all / not of conditions."""

    any: Annotated[Sequence[CountryCondition], Field(min_length=1)] | None = None
    all: Annotated[Sequence[CountryCondition], Field(min_length=1)] | None = None
    not_: CountryCondition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_kind(self) -> CountryCondition:
        given = [_ALIASES.get(k, k) for k in self.model_fields_set]
        combinators = [k for k in given if k in _COMBINATORS.values()]
        if combinators and len(given) != 1:
            raise PydanticCustomError("condition", "'any', 'all' and 'not' stand alone, got keys "
                                      "{keys}", {"keys": str(sorted(given))})
        if not combinators and not self.has_test():
            raise PydanticCustomError("condition", "a condition needs 'is', 'in' or 'region'")
        return self


class FieldCondition(CountryCondition):
    """A condition in a rule set: each leaf names the ``field`` whose country it tests."""

    field: str | None = None
    any: Annotated[Sequence[FieldCondition], Field(min_length=1)] | None = None
    all: Annotated[Sequence[FieldCondition], Field(min_length=1)] | None = None
    not_: FieldCondition | None = Field(default=None, alias="not")


def _parts(cond: Any) -> tuple[str, Any]:
    for name in ("any", "all", "not_"):
        value = getattr(cond, name, None)
        if value is not None:
            return name, value
    return "leaf", None


def condition_problems(doc: YamlDocument, path: tuple[Any, ...], cond: Any, *,
                       fields: Collection[str] | None, codes: Collection[str] | None) -> list[str]:
    """Problems the schema cannot see, one ``file:line: path: what`` line each.

    ``fields`` are the rule set's roles (None for a grouping condition, which
    has no field); ``codes`` the country table's codes (None: not checked).
    """
    kind, inner = _parts(cond)
    if kind == "not_":
        return condition_problems(doc, (*path, "not"), inner, fields=fields, codes=codes)
    if kind in ("any", "all"):
        out: list[str] = []
        for i, item in enumerate(inner):
            out += condition_problems(doc, (*path, kind, i), item, fields=fields, codes=codes)
        return out
    out = []
    if fields is not None:
        role = getattr(cond, "field", None)
        if role not in fields:
            out.append(f"{doc.where(*path, 'field')}: {role!r} is not a field of this rule set "
                       f"(choose from {sorted(fields)})")
    if codes is not None and cond.in_ is not None:
        bad = [c for c in cond.in_ if c not in codes]
        if bad:
            out.append(f"{doc.where(*path, 'in')}: not in the country table: {show_values(bad, 20)}")
    return out


def evaluate(cond: Any, rows: CountryRows, idx: Mapping[str, np.ndarray] | None) -> np.ndarray:
    """A condition per country row (``idx`` None) or per data row (``idx``: role -> row of
    each data row in ``rows``)."""
    kind, inner = _parts(cond)
    if kind == "not_":
        return ~evaluate(inner, rows, idx)
    if kind in ("any", "all"):
        parts = [evaluate(c, rows, idx) for c in inner]
        return np.logical_or.reduce(parts) if kind == "any" else np.logical_and.reduce(parts)
    mask = rows.leaf(cond.is_ or (), cond.in_, cond.region)
    return mask if idx is None else mask[idx[cond.field]]
