"""Origin rule sets: their YAML shape, their checks, and the validated :class:`RuleSet`.

A rule set (``sid/data/origin/<name>.yaml``, format in ``docs/origin.md``)
says who is of foreign origin (``classes``, first match wins), which field's
country is the origin country (``take_country_from``, possibly through a
parameter such as Statbel's self/father/mother ``priority``), and the
generation. Its shape is :class:`RuleSetSpec`, pydantic models at module level
validated with :func:`sid.yamlio.validate_model`; references the schema cannot
see (fields, country codes, groupings, parameters, the catch-all class) are
checked in the same run, so :func:`load_rules` reports every problem of the
file, and of its groupings file, at once with file:line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from sid.errors import CodebookError, InputError, show_values
from sid.origin.conditions import FieldCondition, Leaf, Shape, condition_problems
from sid.origin.countries import (
    COUNTRIES_DIR,
    CountryTable,
    file_mtime,
    load_countries,
    resolve_file,
)
from sid.origin.groupings import Grouping, load_groupings
from sid.resources import DATA_DIR
from sid.yamlio import YamlDocument, read_yaml, validate_model

__all__ = ["ROLES", "RULES_DIR", "ClassSpec", "GenerationRule", "OriginClass", "ParamSpec", "RuleSet",
           "RuleSetSpec", "TakeEntry", "TakeItem", "available_rules", "load_rules"]

RULES_DIR = DATA_DIR / "origin"
#: Field roles a rule set can refer to.
ROLES = ("current", "first", "father", "mother", "birth")
Role = Literal["current", "first", "father", "mother", "birth"]
_FIX = "see docs/origin.md"


class ClassSpec(Shape):
    """An origin class: its ``category``, whether it is foreign origin, and ``when`` it applies."""

    category: str
    foreign_origin: StrictBool
    when: FieldCondition | None = None


#: The former name of :class:`ClassSpec`.
OriginClass = ClassSpec


class TakeEntry(Leaf):
    """A take entry: the country of ``field`` when the condition on it holds."""

    field: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> TakeEntry:
        if getattr(self, "param", None) is not None:
            others = sorted({"is_": "is", "in_": "in"}.get(k, k) for k in self.model_fields_set
                            if k != "param")
            if others:
                raise PydanticCustomError("take_entry", "'param' stands alone, got also {others}",
                                          {"others": str(others)})
            return self
        if self.field is None or not self.has_test():
            raise PydanticCustomError("take_entry",
                                      "needs 'field' and a condition on it ('is', 'in', 'region')")
        return self


class TakeItem(TakeEntry):
    """An item of ``take_country_from``: a take entry, or ``{param: NAME}`` (its chosen order)."""

    param: str | None = None


class ParamSpec(Shape):
    """A parameter: named lists of take entries and the default order of their names."""

    default: Annotated[list[str], Field(min_length=1)]
    choices: dict[str, Annotated[list[TakeEntry], Field(min_length=1)]]


class GenerationRule(Shape):
    """Generation ``value`` (1, 2, ...) for foreign-origin persons for whom ``when`` holds."""

    value: Annotated[StrictInt, Field(ge=1)]
    when: FieldCondition


class RuleSetSpec(Shape):
    """A rule set file as written (see docs/origin.md, "Rule language")."""

    name: str
    version: str | int | float | None = None
    title: str | None = None
    source: str | None = None
    countries: str
    aliases: str | None = None
    groupings: str
    grouping: str
    country_grouping: str
    fields: list[Role]
    optional_fields: list[Role] = Field(default_factory=list)
    classes: Annotated[list[ClassSpec], Field(min_length=1)]
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    take_country_from: Annotated[list[TakeItem], Field(min_length=1)]
    default_country: str
    generation: list[GenerationRule] = Field(default_factory=list)


@dataclass(frozen=True, eq=False)
class RuleSet:
    """A parsed, validated origin rule set with its country table and groupings."""

    name: str
    version: str
    title: str
    source: str
    path: str
    countries: CountryTable
    groupings: Mapping[str, Grouping]
    grouping: str
    country_grouping: str
    fields: tuple[str, ...]
    optional_fields: tuple[str, ...]
    classes: tuple[ClassSpec, ...]
    params: Mapping[str, ParamSpec]
    take: tuple[TakeItem, ...]
    default_country: str
    generation: tuple[GenerationRule, ...]

    def resolve_params(self, params: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
        """Defaults overridden by ``params``; a priority must be a permutation of the choices."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise InputError(f"rule set {self.name} has no parameter(s) {show_values(unknown)}",
                             where="params", fix=f"choose from: {', '.join(self.params) or 'none'}")
        out = {}
        for name, spec in self.params.items():
            value = params.get(name, spec.default)
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            value = tuple(value)
            if sorted(value) != sorted(spec.choices):
                raise InputError(f"parameter {name!r} of rule set {self.name} must be a permutation "
                                 f"of {', '.join(spec.choices)}", where=f"params.{name}",
                                 got=show_values(value), fix=f"e.g. {', '.join(spec.default)}")
            out[name] = value
        return out

    def take_entries(self, params: Mapping[str, tuple[str, ...]]) -> list[tuple[str, TakeEntry]]:
        """``(field, entry)`` in the order they are tried, parameters expanded."""
        entries: list[tuple[str, TakeEntry]] = []
        for item in self.take:
            if item.param is None:
                entries.append((str(item.field), item))
                continue
            choices = self.params[item.param].choices
            for choice in params[item.param]:
                entries.extend((str(e.field), e) for e in choices[choice])
        return entries


def available_rules() -> list[str]:
    """Names of the shipped rule sets."""
    return sorted(p.stem for p in RULES_DIR.glob("*.yaml") if p.stem != "groupings")


def load_rules(rule: str | os.PathLike[str] = "vl2013") -> RuleSet:
    """Load and validate a rule set by name (``vl2013``) or path; all problems at once."""
    path = _rule_path(rule)
    return _load_rules(str(path), file_mtime(path))


@functools.lru_cache(maxsize=32)
def _load_rules(path_text: str, mtime: int | None) -> RuleSet:
    """Read and validate a rule set file (cached per path and modification time)."""
    path = Path(path_text)
    doc = read_yaml(path, what="origin rule set")
    raw = doc.data
    if not isinstance(raw, Mapping):
        raise CodebookError("a rule set must be a YAML mapping", where=doc.source, fix=_FIX)
    base = path.parent
    countries = None
    aliases = raw.get("aliases")
    if isinstance(raw.get("countries"), str) and (aliases is None or isinstance(aliases, str)):
        try:
            countries = load_countries(resolve_file(raw["countries"], COUNTRIES_DIR, base),
                                       None if aliases is None
                                       else resolve_file(aliases, COUNTRIES_DIR, base))
        except CodebookError as exc:
            raise CodebookError(exc.what, where=doc.where("countries"), got=exc.got,
                                problems=exc.problems, fix=exc.fix) from None
    groupings: dict[str, Grouping] = {}
    problems: list[str] = []
    if countries is not None and isinstance(raw.get("groupings"), str):
        groupings, problems = load_groupings(resolve_file(raw["groupings"], RULES_DIR, base), countries)
    problems += _reference_problems(doc, raw, countries, groupings)
    spec = validate_model(doc, RuleSetSpec, what="origin rule set", fix=_FIX, extra_problems=problems)
    assert countries is not None  # a valid spec names a country table that loaded
    return RuleSet(
        name=spec.name, version="" if spec.version is None else str(spec.version),
        title=spec.title or "", source=spec.source or "", path=str(path), countries=countries,
        groupings=MappingProxyType(groupings), grouping=spec.grouping,
        country_grouping=spec.country_grouping, fields=tuple(spec.fields),
        optional_fields=tuple(spec.optional_fields), classes=tuple(spec.classes),
        params=MappingProxyType(dict(spec.params)), take=tuple(spec.take_country_from),
        default_country=spec.default_country, generation=tuple(spec.generation),
    )


def _valid(model: type[BaseModel], value: Any) -> Any:
    """``value`` as ``model`` if it passes the schema, else None (its problems are reported
    by validate_model)."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _listed(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _reference_problems(doc: YamlDocument, raw: Mapping[str, Any], countries: CountryTable | None,
                        groupings: Mapping[str, Grouping]) -> list[str]:
    """What the schema cannot check, on every part that passes it: fields and codes in
    conditions, grouping and parameter names, the catch-all class, default_country."""
    problems: list[str] = []
    codes = None if countries is None else frozenset(countries.codes)
    roles = [*_listed(raw, "fields"), *_listed(raw, "optional_fields")]
    fields = frozenset(r for r in roles if isinstance(r, str) and r in ROLES)

    def conditions(path: tuple[Any, ...], cond: Any) -> None:
        problems.extend(condition_problems(doc, path, cond, fields=fields, codes=codes))

    for key in ("grouping", "country_grouping"):
        name = raw.get(key)
        if groupings and isinstance(name, str) and name not in groupings:
            problems.append(f"{doc.where(key)}: {name!r} is not a grouping "
                            f"(choose from {sorted(groupings)})")
    classes = _listed(raw, "classes")
    for i, item in enumerate(classes):
        has_when = isinstance(item, Mapping) and "when" in item
        if i == len(classes) - 1 and has_when:
            problems.append(f"{doc.where('classes', i)}: the last class is the catch-all and has no 'when'")
        if i < len(classes) - 1 and not has_when:
            problems.append(f"{doc.where('classes', i)}: only the last class may lack 'when'")
        spec = _valid(ClassSpec, item)
        if spec is not None and spec.when is not None:
            conditions(("classes", i, "when"), spec.when)
    cats = [c.get("category") for c in classes if isinstance(c, Mapping)]
    if len(set(map(str, cats))) != len(cats):
        problems.append(f"{doc.where('classes')}: categories must be distinct, got {show_values(cats)}")
    params = raw.get("params")
    declared: Mapping[str, Any] = params if isinstance(params, Mapping) else {}
    for pname, value in declared.items():
        param = _valid(ParamSpec, value)
        if param is None:
            continue
        for cname, entries in param.choices.items():
            for j, entry in enumerate(entries):
                conditions(("params", pname, "choices", cname, j), entry)
        if sorted(param.default) != sorted(param.choices):
            problems.append(f"{doc.where('params', pname, 'default')}: must be a permutation of "
                            f"the choices {sorted(param.choices)}, got {param.default}")
    for i, item in enumerate(_listed(raw, "take_country_from")):
        take = _valid(TakeItem, item)
        if take is None:
            continue
        if take.param is not None:
            if take.param not in declared:
                problems.append(f"{doc.where('take_country_from', i, 'param')}: {take.param!r} is "
                                "not declared under params")
        else:
            conditions(("take_country_from", i), take)
    default_country = raw.get("default_country")
    if codes is not None and isinstance(default_country, str) and default_country not in codes:
        problems.append(f"{doc.where('default_country')}: {default_country!r} is not in the "
                        "country table")
    for i, item in enumerate(_listed(raw, "generation")):
        rule = _valid(GenerationRule, item)
        if rule is not None:
            conditions(("generation", i, "when"), rule.when)
    return problems


def _rule_path(rule: str | os.PathLike[str]) -> Path:
    text = os.fspath(rule)
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        path = Path(text)
    else:
        path = RULES_DIR / f"{text}.yaml"
        if not path.is_file() or text == "groupings":
            raise CodebookError(f"unknown origin rule set {text!r}", where="rule",
                                fix=f"choose from {', '.join(available_rules())} or give a YAML path")
    if not path.is_file():
        raise CodebookError("rule set file not found", where=str(path), fix="check the path")
    return path
